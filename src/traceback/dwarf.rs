//! traceback's unwinder on linux amd64 and arm64: one step from a frame to its caller with the
//! DWARF call-frame information in `.eh_frame`, read with `gimli` (Go has no twin: its own
//! frames carry pcsp tables, traceback.go's `unwinder.next` reads them). `.eh_frame_hdr`'s
//! binary-search table (found through the program headers, symtab.rs) gives the FDE of a pc, its
//! row gives the CFA and where the caller's registers and return address were saved.
//!
//! Limits: a CFA given by a DWARF expression, or a register rule other than same-value, offset,
//! val-offset or register, ends the walk (Rust code emits none of these).

use gimli::{
    BaseAddresses, CfaRule, EhFrame, EhFrameHdr, EndianSlice, LittleEndian, Pointer, ReaderOffset, Register,
    RegisterRule, UnwindContext, UnwindContextStorage, UnwindSection, UnwindTableRow,
};

use super::arch::{N, RA, SP};
use super::{Image, Regs};

/// gimli's rule storage, fixed size, no heap: 48 register rules per row (Rust code's CFI names
/// ≤ 17 registers on x86-64, ≤ 21 on arm64 with d8-d15), 4 remembered rows.
pub struct FixedStorage;

impl<T: ReaderOffset> UnwindContextStorage<T> for FixedStorage {
    type Rules = [(Register, RegisterRule<T>); 48];
    type Stack = [UnwindTableRow<T, Self>; 4];
}

type Ctx = UnwindContext<usize, FixedStorage>;

/// The unwinder's rule rows (about 10 KB: kept off the stack). Only the thread writing the
/// fatal report uses it (print.rs's start_dying admits one).
static CTX: crate::gmp::Global<core::mem::MaybeUninit<Ctx>> = crate::gmp::Global::new(core::mem::MaybeUninit::uninit());

/// One walk's state: gimli's rule rows.
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
        Walker(unsafe { (*CTX.get()).write(Ctx::new_in()) })
    }
}

impl<'a> Walker<'a> {
    /// A walker whose rule rows live in `s` (reset here): no shared state, so any thread, and
    /// a signal handler, may walk with it.
    #[cfg(gort_pprof)]
    pub fn with(s: &'a mut Storage) -> Walker<'a> {
        Walker(s.write(Ctx::new_in()))
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
        // SAFETY: .eh_frame_hdr and the segment holding .eh_frame are mapped read-only for the
        // life of the program (PT_GNU_EH_FRAME and its PT_LOAD).
        let (hdr, seg) = unsafe {
            (
                core::slice::from_raw_parts(img.eh_frame_hdr as *const u8, img.eh_frame_hdr_len),
                (img.eh_frame_hdr, img.segment_end),
            )
        };
        let mut bases = BaseAddresses::default().set_eh_frame_hdr(img.eh_frame_hdr as u64);
        let parsed = EhFrameHdr::new(hdr, LittleEndian).parse(&bases, 8).ok()?;
        let Pointer::Direct(eh_frame) = parsed.eh_frame_ptr() else { return None };
        let eh_frame = eh_frame as usize;
        // .eh_frame follows .eh_frame_hdr in the same read-only segment (lld and bfd ld both
        // put it there); anything else is not trusted.
        if eh_frame < seg.0 || eh_frame >= seg.1 {
            return None;
        }
        // SAFETY: [eh_frame, segment end) lies in the mapped segment, checked above.
        let eh = unsafe { core::slice::from_raw_parts(eh_frame as *const u8, seg.1 - eh_frame) };
        bases = bases.set_eh_frame(eh_frame as u64);
        let eh = EhFrame::from(EndianSlice::new(eh, LittleEndian));
        let table = parsed.table()?;
        let row = table.unwind_info_for_address(&eh, &bases, ctx, regs.at(pc) as u64, EhFrame::cie_from_offset).ok()?;
        let cfa = match *row.cfa() {
            CfaRule::RegisterAndOffset { register, offset } => regs.get(register.0)?.wrapping_add(offset as usize),
            CfaRule::Expression(_) => return None,
        };
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
            let v = match row.register(Register(i as u16)) {
                // A leaf's lr still holds its return address (the RA column held the signal's pc).
                None | Some(RegisterRule::SameValue) if i == RA && regs.leaf_lr != 0 => Some(regs.leaf_lr),
                None | Some(RegisterRule::SameValue) => regs.get(i as u16),
                Some(RegisterRule::Offset(off)) => {
                    let a = cfa.wrapping_add(off as usize);
                    (a >= bounds.0 && a.checked_add(8)? <= bounds.1 && a % 8 == 0).then(|| read(a))
                }
                Some(RegisterRule::ValOffset(off)) => Some(cfa.wrapping_add(off as usize)),
                Some(RegisterRule::Register(r)) => regs.get(r.0),
                Some(_) => None,
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
