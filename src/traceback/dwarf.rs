//! traceback's unwinder on linux amd64 and arm64: one step from a frame to its caller with the
//! DWARF call-frame information in `.eh_frame` (Go has no twin: its own frames carry pcsp
//! tables, traceback.go's `unwinder.next` reads them). `.eh_frame_hdr`'s binary-search table
//! (found through the program headers, symtab.rs) gives the FDE of a pc, its row (cfi.rs) gives
//! the CFA and where the caller's registers and return address were saved.
//!
//! Limits: a CFA given by a DWARF expression ends the walk; a register given by one, or
//! undefined, becomes unknown (Rust code emits none of these).

use super::arch::{N, RA, SP};
use super::cfi::{self, Ctx, Rule};
use super::{Image, Regs};

/// The unwinder's rule rows (a few KB: kept off the small stacks). Only the thread writing the
/// fatal report uses it (print.rs's start_dying admits one). Uninitialised, so it lies in .bss:
/// an initialised one (`Ctx::new()` is not all zeros) was 1.7 KB of every program's file.
static CTX: crate::gmp::Global<core::mem::MaybeUninit<Ctx>> = crate::gmp::Global::new(core::mem::MaybeUninit::uninit());

/// One walk's state: the rule rows.
pub struct Walker<'a>(&'a mut Ctx);

/// The memory a walk's rule rows live in, for a walker of the caller's own
/// ([`Walker::with`]: the CPU profiler's signal handler keeps it on the signal stack).
#[cfg(gort_pprof)]
pub type Storage = core::mem::MaybeUninit<Ctx>;

impl Walker<'static> {
    /// The walker (its rows reset).
    ///
    /// # Safety
    /// Only the thread writing the fatal report may call it, and use one Walker at a time.
    pub unsafe fn get() -> Walker<'static> {
        // SAFETY: only this thread uses CTX (the contract); it is initialised here.
        Walker(unsafe { (*CTX.get()).write(Ctx::new()) })
    }
}

impl<'a> Walker<'a> {
    /// A walker whose rule rows live in `s` (reset here): no shared state, so any thread, and
    /// a signal handler, may walk with it.
    #[cfg(gort_pprof)]
    pub fn with(s: &'a mut Storage) -> Walker<'a> {
        Walker(s.write(Ctx::new()))
    }

    /// One step of a walk: the frame at `regs`' pc (a return address), and the registers of
    /// its caller. `bounds` is the stack `[lo, hi)` memory may be read from. None ends the walk.
    pub fn step(
        &mut self,
        img: &Image,
        regs: &Regs,
        bounds: (usize, usize),
        read: &impl Fn(usize) -> usize,
    ) -> Option<Regs> {
        let ctx = &mut *self.0;
        let pc = regs.get(RA as u16)?;
        let sp = regs.get(SP as u16)?;
        if img.eh_frame_hdr == 0 {
            return None;
        }
        // SAFETY: .eh_frame_hdr is mapped read-only for the life of the program
        // (PT_GNU_EH_FRAME, inside its PT_LOAD).
        let hdr = unsafe { core::slice::from_raw_parts(img.eh_frame_hdr as *const u8, img.eh_frame_hdr_len) };
        let at = regs.at(pc);
        let (eh_frame, fde) = cfi::find_fde(hdr, img.eh_frame_hdr, at)?;
        // .eh_frame follows .eh_frame_hdr in the same read-only segment (lld and bfd ld both
        // put it there); anything else is not trusted.
        if eh_frame < img.eh_frame_hdr || eh_frame >= img.segment_end {
            return None;
        }
        // SAFETY: [eh_frame, segment end) lies in the mapped segment, checked above.
        let eh = unsafe { core::slice::from_raw_parts(eh_frame as *const u8, img.segment_end - eh_frame) };
        cfi::find_row(eh, eh_frame, fde, at, ctx)?;
        let row = &ctx.row;
        if row.cfa_reg == cfi::CFA_EXPR {
            return None;
        }
        let cfa = regs.get(row.cfa_reg)?.wrapping_add(row.cfa_off as usize);
        // The caller's frame is above ours and inside the stack (a leaf interrupted by a signal
        // may have no frame at all: its CFA is its sp).
        if (cfa < sp || (cfa == sp && regs.leaf_lr == 0)) || cfa > bounds.1 {
            return None;
        }
        let mut next = regs.next();
        for i in 0..N {
            if i == SP {
                continue;
            }
            let v = match row.rules[i] {
                // A leaf's lr still holds its return address (the RA column held the signal's pc).
                Rule::Same if i == RA && regs.leaf_lr != 0 => Some(regs.leaf_lr),
                Rule::Same => regs.get(i as u16),
                Rule::Offset(off) => {
                    let a = cfa.wrapping_add(off as usize);
                    (a >= bounds.0 && a.checked_add(8)? <= bounds.1 && a % 8 == 0).then(|| read(a))
                }
                Rule::ValOffset(off) => Some(cfa.wrapping_add(off as usize)),
                Rule::Register(r) => regs.get(r),
                Rule::Unknown => None,
            };
            match v {
                Some(v) => {
                    next.r[i] = v;
                    next.known |= 1 << i;
                }
                None => next.known &= !(1 << i),
            }
        }
        next.r[SP] = cfa;
        next.known |= 1 << SP;
        Some(next)
    }
}
