//! The failing goroutine's call chain (Go's traceback.go: `traceback1`, `printframe`), and every
//! other goroutine's for a fatal error, SIGQUIT, GOTRACEBACK=all or `runtime::stack(true)`
//! (`goroutine_frames`, Go's tracebackothers), on linux amd64 and arm64. Other targets print
//! only the panic location, and goroutine headers alone.
//!
//! **Other goroutines.** A parked goroutine (waiting, or runnable after a yield) switched out
//! through `mcall`, which pushed its callee-saved registers and left its caller's return address
//! above them at `g.sched.sp`: `parked_regs` reads that frame and the walk proceeds as for the
//! panicking one, bounded by that goroutine's stack. The goroutine a signal interrupted starts
//! from the ucontext's registers (`signal_regs`). One running on another thread is not walked
//! (`goroutine running on other thread; stack unavailable`, as Go). Each dumped goroutine ends
//! with `created by F in goroutine K` + `\tfile:line +0xOFF` (newproc's parent_goid, gopc and
//! the `gort::go` call's location).
//!
//! **Unwinding.** `capture` (a naked function) records the callee-saved registers, the stack
//! pointer and its return address in the function that calls it; from there each frame is undone
//! with the DWARF call-frame information in `.eh_frame`, read with `gimli`: `.eh_frame_hdr`'s
//! binary-search table (found through the program headers, symtab.rs) gives the FDE of a pc, its
//! row gives the CFA and where the caller's registers and return address were saved. Memory is
//! read only inside the stack the walk started on (`g.stack`), the CFA must grow at every step, and
//! the walk stops at `goexit` (where every goroutine's entry function returns to), at a pc without
//! unwind information (rt0's assembly, a context switch), at anything outside those rules, or
//! after [`MAX_FRAMES`] shown frames (then `...additional frames elided...`, as Go). Nothing here
//! allocates: gimli's rule rows live in a fixed static (`StoreOnStack`-style storage), only the
//! thread writing the fatal report walks, and it walks on its M's g0 stack (goroutine stacks can
//! be 2 KB).
//!
//! **Output** (names from `.symtab`, symtab.rs), one entry per frame, Go's shape:
//!
//! ```text
//! goroutine 1 [running]:
//! traceback::level_c(...)
//!     tests/e2e/src/bin/traceback.rs:21:9 +0x4e
//! traceback::level_b(...)
//!     target/x86_64-unknown-linux-gnu/debug/traceback+0x20ffae +0x1f
//! ```
//!
//! (each location line starts with a tab, as in Go).
//!
//! The first shown frame carries the panic's own location (PanicInfo: `file:line:col`); the others
//! have no line tables to read, so their line is `EXE+0xADDR`: EXE is the path the program was
//! run by (AT_EXECFN), ADDR the call's link-time address (the return address − 1 on amd64, − 4,
//! the `bl` itself, on arm64; minus the load bias), which `addr2line -f -e EXE 0xADDR` turns into
//! file and line. `+0xOFF` is, as in Go, the return address's offset in the function. As Go hides
//! `runtime.*` frames, gort's own frames (`gort::*`, `gort_user_main`) are not shown, nor are the
//! panic machinery's frames above the first user frame (`core::*`, `rust_begin_unwind`). A
//! program without `.symtab` (stripped) or whose file cannot be read prints the location line
//! under the header as before, then every frame as `?()` + `\tEXE+0xADDR`.
//!
//! With the `traceback-lines` cargo feature, `lines.rs` turns each `EXE+0xADDR` into
//! `file:line` from the program's DWARF line tables.
//!
//! **Levels** (GOTRACEBACK, args.rs, Go's gotraceback): level 2 and more (`system`, `crash`, a
//! runtime throw) shows every frame, gort's and the panic machinery's too, each with its
//! ` pc=0x...` (as Go's), and the location line stands under the header as for a stripped
//! program. Which goroutines are printed, and when, is print.rs's business (`die`, `goroutines`,
//! `stack`); this module walks one stack at a time for it.

use core::fmt::Write;

use gimli::{
    BaseAddresses, CfaRule, EhFrame, EhFrameHdr, EndianSlice, LittleEndian, Pointer, ReaderOffset, Register,
    RegisterRule, UnwindContext, UnwindContextStorage, UnwindSection, UnwindTableRow,
};

use crate::symtab::{self, Image};

/// Frames shown at most (Go's tracebackInnerFrames + tracebackOuterFrames = 100).
pub const MAX_FRAMES: usize = 100;
/// Frames walked at most, shown or hidden (a bound on a corrupt chain).
const MAX_WALK: usize = 1000;

// The arch part: DWARF register numbers and `capture`, one file per arch.
#[cfg_attr(target_arch = "x86_64", path = "amd64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "arm64.rs")]
mod arch;
#[cfg(feature = "traceback-lines")]
pub mod lines;
pub use arch::{capture, signal_regs};
use arch::{parked_regs, CALL_BACK, N, RA, SP};

/// A frame's register state: the values, and which of them are known.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Regs {
    r: [usize; N],
    known: u64,
    /// The interrupted code's lr (arm64) when the RA column holds a signal's pc instead: the
    /// return address of a leaf that has not saved lr (its CFI says lr is unchanged). 0 if not.
    leaf_lr: usize,
    /// The RA column holds the pc a signal interrupted (the faulting instruction itself), not a
    /// return address: look it up and print it as it is, not as the call before it.
    exact_pc: bool,
}

impl Regs {
    /// No register known.
    pub const fn new() -> Self {
        Regs { r: [0; N], known: 0, leaf_lr: 0, exact_pc: false }
    }

    /// The address inside the instruction this frame is at: the pc itself for an interrupted
    /// one, else inside the call before the return address.
    fn at(&self, pc: usize) -> usize {
        if self.exact_pc {
            pc
        } else {
            pc.wrapping_sub(CALL_BACK)
        }
    }
    /// The stack pointer (0 if unknown).
    pub fn sp(&self) -> usize {
        self.get(SP as u16).unwrap_or(0)
    }
    fn get(&self, i: u16) -> Option<usize> {
        let i = i as usize;
        (i < N && self.known & (1 << i) != 0).then(|| self.r[i])
    }
}

// `capture` writes `r[i]` at `i * 8` and `known` right after the N registers.
const _: () = assert!(core::mem::offset_of!(Regs, r) == 0 && core::mem::offset_of!(Regs, known) == N * 8);

/// gimli's rule storage, fixed size, no heap: 48 register rules per row (Rust code's CFI names
/// ≤ 17 registers on x86-64, ≤ 21 on arm64 with d8-d15), 4 remembered rows.
struct FixedStorage;

impl<T: ReaderOffset> UnwindContextStorage<T> for FixedStorage {
    type Rules = [(Register, RegisterRule<T>); 48];
    type Stack = [UnwindTableRow<T, Self>; 4];
}

type Ctx = UnwindContext<usize, FixedStorage>;

/// The unwinder's rule rows (about 10 KB: kept off the stack). Only the thread writing the
/// fatal report uses it (print.rs's start_dying admits one).
static CTX: crate::gmp::Global<core::mem::MaybeUninit<Ctx>> = crate::gmp::Global::new(core::mem::MaybeUninit::uninit());

/// One step of a walk: the frame at `pc` (a return address), and the registers of its caller.
/// `bounds` is the stack `[lo, hi)` memory may be read from. None ends the walk.
fn step(
    img: &Image,
    ctx: &mut Ctx,
    regs: &Regs,
    bounds: (usize, usize),
    read: &impl Fn(usize) -> usize,
) -> Option<Regs> {
    let pc = regs.get(RA as u16)?;
    let sp = regs.get(SP as u16)?;
    // SAFETY: .eh_frame_hdr and the segment holding .eh_frame are mapped read-only for the life
    // of the program (PT_GNU_EH_FRAME and its PT_LOAD).
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
    // .eh_frame follows .eh_frame_hdr in the same read-only segment (lld and bfd ld both put it
    // there); anything else is not trusted.
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
    // The caller's frame is above ours and inside the stack (a leaf interrupted by a signal may
    // have no frame at all: its CFA is its sp).
    if (cfa < sp || (cfa == sp && regs.leaf_lr == 0)) || cfa > bounds.1 {
        return None;
    }
    let mut next = Regs { r: regs.r, known: regs.known, leaf_lr: 0, exact_pc: false };
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

/// Walks the call chain from `regs` (the state `capture` recorded) and calls `f(pc, at)` for
/// every frame (pc is its return address, or an interrupted pc; `at` the address inside the
/// instruction the frame is at: `Regs::at`), at most MAX_WALK times, until `f` returns false,
/// `stop(pc)` holds, or the unwind information runs out. `read(a)` reads the word at `a`, which the walk
/// keeps inside `bounds`.
fn walk(
    img: &Image,
    ctx: &mut Ctx,
    regs: &Regs,
    bounds: (usize, usize),
    read: impl Fn(usize) -> usize,
    stop: impl Fn(usize) -> bool,
    mut f: impl FnMut(usize, usize) -> bool,
) {
    let mut regs = *regs;
    for _ in 0..MAX_WALK {
        let Some(pc) = regs.get(RA as u16) else { return };
        if pc == 0 || stop(pc) || !f(pc, regs.at(pc)) {
            return;
        }
        match step(img, ctx, &regs, bounds, &read) {
            Some(next) => regs = next,
            None => return,
        }
    }
}

/// Whether a frame of this (demangled) function is gort's own (Go: a `runtime.` frame), hidden.
/// (`<gort::T as Trait>::f` is gort's too.)
fn runtime_frame(name: &str) -> bool {
    let path = name.strip_prefix('<').unwrap_or(name);
    path.starts_with("gort::") || name == "gort_user_main" || name.starts_with("runtime_")
}

/// Whether a frame above the first shown one is the panic machinery's (hidden too).
fn panic_machinery(name: &str) -> bool {
    let path = name.strip_prefix('<').unwrap_or(name);
    runtime_frame(name) || path.starts_with("core::") || name.ends_with("rust_begin_unwind")
}

/// A fixed buffer a demangled name is written into (truncated past 256 bytes).
struct NameBuf {
    buf: [u8; 256],
    len: usize,
}

impl Write for NameBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &c in s.as_bytes() {
            if self.len < self.buf.len() {
                self.buf[self.len] = c;
                self.len += 1;
            }
        }
        Ok(())
    }
}

impl NameBuf {
    fn as_str(&self) -> &str {
        match core::str::from_utf8(&self.buf[..self.len]) {
            Ok(s) => s,
            // Truncated inside a character: the valid prefix.
            Err(e) => core::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

/// What `print_frames` needs: where the walk starts, the panic location, how much to show and
/// where to write.
pub struct Report<'a> {
    /// The registers the walk starts from (`capture` in the reporting function, a signal's
    /// context, or a parked goroutine's saved frame).
    pub regs: Regs,
    /// The panic's `file:line:col` (None for a throw).
    pub location: Option<&'a core::panic::Location<'a>>,
    /// GOTRACEBACK's level: 2 or more shows gort's frames and the panic machinery's too.
    pub level: u8,
    /// Where the report goes.
    pub w: &'a mut dyn Write,
}

/// Writes a path as bytes (lossy for non-UTF-8 bytes).
fn write_bytes(w: &mut dyn Write, b: &[u8]) {
    for chunk in b.utf8_chunks() {
        let _ = w.write_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            let _ = w.write_char('?');
        }
    }
}

/// Prints the frames of the call chain `r.regs` starts (see the module doc), reading only the
/// stack `bounds`.
///
/// # Safety
/// Only the thread holding the traceback (print.rs: the fatal reporter, or a `runtime::stack`
/// caller under its lock) may call it, on g0 or the signal stack; `bounds` must be the readable
/// stack the registers were captured on, and the frames on it must be live.
pub unsafe fn print_frames(r: &mut Report<'_>, bounds: (usize, usize)) {
    let loc = |w: &mut dyn Write, l: &core::panic::Location<'_>| {
        let _ = write!(w, "\t{}:{}:{}", l.file(), l.line(), l.column());
    };
    let Some(img) = symtab::image() else {
        if let Some(l) = r.location {
            loc(r.w, l);
            let _ = writeln!(r.w);
        }
        return;
    };
    // SAFETY: the caller is the only thread reporting.
    let names = unsafe { symtab::exe(&img) };
    let exe_path = symtab::exe_path();
    let tab = names.and_then(symtab::symtab_of);
    let system = r.level >= 2;
    if tab.is_none() || system {
        if let Some(l) = r.location {
            loc(r.w, l);
            let _ = writeln!(r.w);
        }
    }
    // SAFETY: only this thread uses CTX; it is initialised here before any use.
    let ctx = unsafe { (*CTX.get()).write(Ctx::new_in()) };
    let goexit = crate::arch::goexit as *const () as usize;
    let (mut shown, mut first, mut elided) = (0usize, true, false);
    let w = &mut *r.w;
    let location = r.location;
    walk(
        &img,
        ctx,
        &r.regs,
        bounds,
        // SAFETY: walk reads only aligned words inside `bounds`, a live stack.
        |a| unsafe { *(a as *const usize) },
        // goexit's first instruction is a nop, so a return address into it is goexit+1 (amd64)
        // or goexit+4 (arm64).
        |pc| pc > goexit && pc <= goexit + 8,
        |pc, at| {
            let addr = at.wrapping_sub(img.bias);
            let Some(tab) = &tab else {
                if shown == MAX_FRAMES {
                    elided = true;
                    return false;
                }
                shown += 1;
                let _ = write!(w, "?()\n\t");
                write_bytes(w, exe_path);
                let _ = writeln!(w, "+{:#x}", addr);
                return true;
            };
            let mut name = NameBuf { buf: [0; 256], len: 0 };
            let start = match tab.lookup(addr) {
                Some((raw, start)) => {
                    let _ = symtab::write_name(&mut name, raw);
                    Some(start)
                }
                None => None,
            };
            let n = name.as_str();
            if !system && ((first && panic_machinery(n)) || runtime_frame(n)) {
                return true;
            }
            if shown == MAX_FRAMES {
                elided = true;
                return false;
            }
            shown += 1;
            let _ = writeln!(w, "{}(...)", if n.is_empty() { "?" } else { n });
            match (first && !system, location) {
                (true, Some(l)) => loc(w, l),
                // SAFETY: this thread holds the traceback (this function's contract).
                #[cfg(feature = "traceback-lines")]
                _ if names.is_some_and(|f| unsafe { lines::write_location(&mut *w, f, addr) }) => {}
                _ => {
                    let _ = w.write_char('\t');
                    write_bytes(w, exe_path);
                    let _ = write!(w, "+{:#x}", addr);
                }
            }
            first = false;
            if let Some(s) = start {
                let _ = write!(w, " +{:#x}", pc.wrapping_sub(img.bias).wrapping_sub(s));
            }
            if system {
                let _ = write!(w, " pc={:#x}", pc);
            }
            let _ = writeln!(w);
            true
        },
    );
    if elided {
        let _ = writeln!(w, "...additional frames elided...");
    }
}

/// The frames of one goroutine in a dump of all of them (Go's tracebackothers), after its
/// header: from `cur` (the registers a signal interrupted it at, when it is the signal thread's
/// goroutine), else from its saved context when it is parked (waiting or runnable, switched out
/// by mcall), else `goroutine running on other thread; stack unavailable` as Go; then its
/// `created by` lines.
///
/// # Safety
/// Only the thread holding the traceback (see print_frames) may call it, on g0 or gsignal (not
/// on a goroutine's stack). `gp` must be a g of allgs. A parked goroutine must stay parked meanwhile (deadlock:
/// nothing runs; SIGQUIT: see the module doc): its stack is read as it was saved.
pub unsafe fn goroutine_frames(w: &mut dyn Write, gp: *mut crate::gmp::G, cur: Option<Regs>, level: u8) {
    use crate::gmp::GStatus;
    use core::sync::atomic::Ordering;
    // SAFETY: gp is a g of allgs (never freed); the fields read are stable while it is parked.
    let (status, bounds, lazy, sched_sp, sched_pc) = unsafe {
        let g = &*gp;
        (
            g.atomicstatus.load(Ordering::Acquire),
            (g.stack.lo, g.stack.hi),
            g.lazy_stack.load(Ordering::Acquire),
            g.sched.sp,
            g.sched.pc,
        )
    };
    let mcall = crate::arch::mcall as *const () as usize;
    let regs = match (cur, status) {
        (Some(r), _) => Some(r),
        (None, GStatus::Waiting | GStatus::Runnable) => {
            // A goroutine that never ran has no stack yet (lazy_stack) or sits at its entry; one
            // switched out resumes inside mcall (its resume label).
            if lazy != 0 || bounds.0 == 0 || !(sched_pc > mcall && sched_pc < mcall + 256) {
                None
            } else {
                // SAFETY: parked_regs reads only aligned words inside the parked g's stack.
                parked_regs(sched_sp, bounds, |a| unsafe { *(a as *const usize) })
            }
        }
        (None, GStatus::Running | GStatus::Syscall) => {
            let _ = writeln!(w, "goroutine running on other thread; stack unavailable");
            None
        }
        _ => None,
    };
    if let Some(regs) = regs {
        if bounds.0 != 0 && bounds.1 > bounds.0 {
            let mut r = Report { regs, location: None, level, w: &mut *w };
            // SAFETY: as this function's contract: the only reporter, on a stack other than
            // gp's, which is live and read only inside its bounds.
            unsafe { print_frames(&mut r, bounds) };
        }
    }
    // SAFETY: as this function's contract.
    unsafe { created_by(w, gp) };
}

/// Go's `created by F in goroutine K` + `\tfile:line +0xOFF`: F is the function holding the
/// `gort::go` call (named from its pc), the location that call's (#[track_caller]).
///
/// # Safety
/// As goroutine_frames.
pub unsafe fn created_by(w: &mut dyn Write, gp: *mut crate::gmp::G) {
    // SAFETY: gp is a g of allgs; these fields are written once before it first runs.
    let (parent, gopc, loc) = unsafe { ((*gp).parent_goid, (*gp).gopc, (*gp).gopc_loc) };
    let Some(loc) = loc else { return };
    let mut name = NameBuf { buf: [0; 256], len: 0 };
    let mut off = None;
    if let Some(img) = symtab::image() {
        // SAFETY: the caller is the only thread reporting.
        if let Some(tab) = unsafe { symtab::exe(&img) }.and_then(symtab::symtab_of) {
            if let Some((raw, start)) = tab.lookup(gopc.wrapping_sub(img.bias)) {
                let _ = symtab::write_name(&mut name, raw);
                off = Some(gopc.wrapping_sub(img.bias).wrapping_sub(start));
            }
        }
    }
    let n = name.as_str();
    let _ = writeln!(w, "created by {} in goroutine {}", if n.is_empty() { "?" } else { n }, parent);
    let _ = write!(w, "\t{}:{}", loc.file(), loc.line());
    if let Some(off) = off {
        let _ = write!(w, " +{:#x}", off);
    }
    let _ = writeln!(w);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_frames() {
        assert!(runtime_frame("gort::proc::main"));
        assert!(runtime_frame("gort_user_main"));
        assert!(runtime_frame("runtime_mstart"));
        assert!(!runtime_frame("gort_e2e::main"));
        assert!(runtime_frame("<gort::malloc::GoAlloc as core::alloc::global::GlobalAlloc>::alloc"));
        assert!(!runtime_frame("<alloc::boxed::Box<F,A> as core::ops::function::FnOnce<Args>>::call_once"));
        assert!(panic_machinery("<core::fmt::Arguments as core::fmt::Display>::fmt"));
        assert!(!runtime_frame("traceback::level_a"));
        assert!(panic_machinery("core::panicking::panic_fmt"));
        assert!(panic_machinery("rust_begin_unwind"));
        assert!(panic_machinery("__rustc::rust_begin_unwind"));
        assert!(!panic_machinery("traceback::level_c"));
    }

    #[test]
    fn parked_regs_read_mcalls_frame() {
        // mcall's frame as the arch pushes it: callee-saved registers, then the return address.
        #[cfg(target_arch = "x86_64")]
        let (frame, words, regs): ([usize; 8], usize, &[(u16, usize)]) =
            ([115, 114, 113, 112, 103, 106, 0xdead, 0], 7, &[(15, 115), (12, 112), (3, 103), (6, 106)]);
        #[cfg(target_arch = "aarch64")]
        let (frame, words, regs): ([usize; 20], usize, &[(u16, usize)]) = {
            let mut f = [0; 20];
            for (i, w) in f.iter_mut().enumerate().take(11) {
                *w = 119 + i;
            }
            f[11] = 0xdead;
            (f, 20, &[(19, 119), (29, 129)])
        };
        // 16-aligned, as a stack pointer (arm64 requires it).
        #[repr(align(16))]
        struct Aligned<T>(T);
        let frame = Aligned(frame);
        let lo = frame.0.as_ptr() as usize;
        let hi = lo + frame.0.len() * 8;
        // SAFETY: parked_regs reads only words inside [lo, hi), the array.
        let read = |a: usize| unsafe { *(a as *const usize) };
        let r = parked_regs(lo, (lo, hi), read).unwrap();
        assert_eq!(r.get(RA as u16), Some(0xdead));
        assert_eq!(r.get(SP as u16), Some(lo + words * 8));
        for &(reg, v) in regs {
            assert_eq!(r.get(reg), Some(v));
        }
        // A frame that does not fit in the stack is refused.
        assert!(parked_regs(lo + 16, (lo, hi), read).is_none());
    }

    #[test]
    fn go_wait_reasons() {
        use crate::gmp::WaitReason as W;
        assert_eq!(W::ChanReceive.as_str(), "chan receive");
        assert_eq!(W::ChanSend.as_str(), "chan send");
        assert_eq!(W::ChanReceiveNilChan.as_str(), "chan receive (nil chan)");
        assert_eq!(W::ChanSendNilChan.as_str(), "chan send (nil chan)");
        assert_eq!(W::Select.as_str(), "select");
        assert_eq!(W::SelectNoCases.as_str(), "select (no cases)");
        assert_eq!(W::Sleep.as_str(), "sleep");
        assert_eq!(W::SyncMutexLock.as_str(), "sync.Mutex.Lock");
        assert_eq!(W::SyncWaitGroupWait.as_str(), "sync.WaitGroup.Wait");
    }

    #[test]
    fn long_names_truncate_on_a_char_boundary() {
        let mut b = NameBuf { buf: [0; 256], len: 0 };
        for _ in 0..200 {
            let _ = b.write_str("é");
        }
        assert_eq!(b.as_str().len(), 256);
        let mut b = NameBuf { buf: [0; 256], len: 0 };
        let _ = b.write_str("a");
        for _ in 0..200 {
            let _ = b.write_str("é");
        }
        assert_eq!(b.as_str().len(), 255);
    }
}
