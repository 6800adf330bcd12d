//! The failing goroutine's call chain (Go's traceback.go: `traceback1`, `printframe`), and every
//! other goroutine's for a fatal error, SIGQUIT, GOTRACEBACK=all or `runtime::stack(true)`
//! (`goroutine_frames`, Go's tracebackothers), on every target but windows/arm (Thumb-2; this module is not compiled there: it prints the
//! panic location and the dump's headers alone). Which unwind tables each target reads, and which of them were run here:
//!
//! | target | unwinder (file) | names | run here |
//! |---|---|---|---|
//! | linux amd64, arm64 | DWARF CFI in `.eh_frame` (dwarf.rs, cfi.rs) | `.symtab` | yes (arm64: qemu) |
//! | linux arm (armv7) | ARM EHABI `.ARM.exidx`/`.ARM.extab` (exidx.rs) | `.symtab` | yes (qemu) |
//! | windows amd64, arm64 | `.pdata` through RtlLookupFunctionEntry + RtlVirtualUnwind (pdata.rs) | none: `?()` + `EXE+0xRVA` | amd64 under wine; arm64 built only |
//! | darwin amd64, arm64 | the frame-pointer chain (frame_pointer.rs) | none: `?()` + `EXE+0xADDR` | never (built only, unverified) |
//!
//! The register numbers, `capture` and the parked/interrupted frames are per arch (amd64.rs,
//! arm64.rs, arm.rs, shared by the OSes); one unwinder file per table format does one step from
//! a frame to its caller (`Walker::step`); this file walks and prints.
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
//! pointer and its return address in the function that calls it; from there the unwinder undoes
//! one frame at a time (its file's doc says how). Memory is read only inside the stack the walk
//! started on (`g.stack`; on windows RtlVirtualUnwind does its own reads, see pdata.rs), the
//! caller's sp must be above the callee's at every step, and the walk stops at `goexit` (where
//! every goroutine's entry function returns to), at a pc without unwind information (rt0's
//! assembly, a context switch), at anything outside those rules, or after [`MAX_FRAMES`] shown
//! frames (then `...additional frames elided...`, as Go). Nothing here allocates: what an
//! unwinder needs lives in fixed statics (the CFI rule rows, windows' CONTEXT record), only the
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
//! the `bl` itself, on arm64 and arm; minus the load bias), which `addr2line -f -e EXE 0xADDR`
//! turns into file and line (windows: ADDR is an RVA, `llvm-symbolizer --obj=EXE
//! --relative-address 0xADDR` reads the PDB; darwin: `atos -o EXE 0xADDR`). `+0xOFF` is, as in
//! Go, the return address's offset in the function. As Go hides
//! `runtime.*` frames, gort's own frames (`gort::*`, `gort_user_main`) are not shown, nor are the
//! panic machinery's frames above the first user frame (`core::*`, `rust_begin_unwind`). A
//! program without `.symtab` (stripped) or whose file cannot be read, and every windows and
//! darwin program (no symbol reader there), prints the location line under the header as
//! before, then every frame as `?()` + `\tEXE+0xADDR`.
//!
//! With the `traceback-lines` cargo feature (linux), `lines.rs` turns each `EXE+0xADDR` into
//! `file:line` from the program's DWARF line tables.
//!
//! **Levels** (GOTRACEBACK, args.rs, Go's gotraceback): level 2 and more (`system`, `crash`, a
//! runtime throw) shows every frame, gort's and the panic machinery's too, each with its
//! ` pc=0x...` (as Go's), and the location line stands under the header as for a stripped
//! program. Which goroutines are printed, and when, is print.rs's business (`die`, `goroutines`,
//! `stack`); this module walks one stack at a time for it. A walk that starts from a signal
//! looks its first frame up at the interrupted pc itself (`Regs::exact_pc`), the others inside
//! the call before their return address.

use crate::print::Str;
use core::fmt::Write;

/// Frames shown at most (Go's tracebackInnerFrames + tracebackOuterFrames = 100).
pub const MAX_FRAMES: usize = 100;
/// Frames walked at most, shown or hidden (a bound on a corrupt chain).
const MAX_WALK: usize = 1000;

// The arch part: register numbers, `capture`, the parked and signal frames, one file per arch.
#[cfg_attr(target_arch = "x86_64", path = "amd64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "arm64.rs")]
#[cfg_attr(target_arch = "arm", path = "arm.rs")]
mod arch;
#[cfg(all(feature = "traceback-lines", target_os = "linux"))]
pub mod lines;
pub use arch::capture;
#[cfg(target_os = "linux")]
pub use arch::signal_regs;
use arch::{parked_regs, CALL_BACK, N, RA, SP};

// The unwinder: one step from a frame to its caller, one file per unwind-table format.
#[cfg_attr(all(target_os = "linux", not(target_arch = "arm")), path = "dwarf.rs")]
#[cfg_attr(all(target_os = "linux", target_arch = "arm"), path = "exidx.rs")]
#[cfg_attr(windows, path = "pdata.rs")]
#[cfg_attr(target_os = "macos", path = "frame_pointer.rs")]
mod unwind;
#[cfg(windows)]
pub use unwind::context_regs;
/// The memory one walk of the caller's own needs (`profile_frames`).
#[cfg(gort_pprof)]
pub use unwind::Storage as WalkStorage;
use unwind::Walker;
// The DWARF CFI reader dwarf.rs uses (pure: unit-tested on the host against gimli).
#[cfg(all(target_os = "linux", not(target_arch = "arm")))]
mod cfi;
// The ARM EHABI opcode interpreter exidx.rs uses (pure: unit-tested on every host).
#[cfg(any(all(target_os = "linux", target_arch = "arm"), test))]
mod ehabi;

/// The program's image and function names: `.symtab` on linux (symtab.rs); elsewhere the
/// unwinder's image (its load address, for `EXE+0xADDR`) and no names.
#[cfg(target_os = "linux")]
mod names {
    pub use crate::symtab::{exe_path, image, Image};

    /// The program's `.symtab`.
    pub struct Symtab(crate::symtab::Symtab<'static>);

    /// The program's function names; None if stripped or the file cannot be read.
    ///
    /// # Safety
    /// Only the thread writing the fatal report may call it.
    pub unsafe fn symtab(img: &Image) -> Option<Symtab> {
        // SAFETY: as this function's contract.
        let f = unsafe { crate::symtab::exe(img) }?;
        crate::symtab::symtab_of(crate::symtab::Class::NATIVE, f).map(Symtab)
    }

    /// One remembered lookup: (address + 1, so 0 is an empty slot; the result).
    type Seen = (usize, Option<(&'static [u8], usize)>);

    /// The addresses looked up lately, direct-mapped: a dump of 100 000 goroutines parked at
    /// the same few call sites looks up the same few addresses over and over, and each new
    /// lookup scans all of `.symtab`. Only the reporting thread touches it (the contract of
    /// `symtab`, the only way to a Symtab).
    static SEEN: crate::gmp::Global<[Seen; 256]> = crate::gmp::Global::new([(0, None); 256]);

    impl Symtab {
        /// Writes the name of the function holding link-time address `addr` into `w` and
        /// returns its start address; None if no function holds it.
        pub fn lookup(&self, addr: usize, w: &mut impl core::fmt::Write) -> Option<usize> {
            let slot = (addr ^ (addr >> 8)) % 256;
            // SAFETY: only the reporting thread gets here (this Symtab came from `symtab`,
            // whose contract that is); no reference into SEEN outlives this block.
            let found = unsafe {
                let seen = &mut (*SEEN.get())[slot];
                if seen.0 != addr.wrapping_add(1) {
                    *seen = (addr.wrapping_add(1), self.0.lookup(addr));
                }
                seen.1
            };
            let (raw, start) = found?;
            let _ = crate::symtab::write_name(w, raw);
            Some(start)
        }
    }
}
#[cfg(not(target_os = "linux"))]
mod names {
    pub use super::unwind::{exe_path, image, Image};

    /// No symbol table is read on this OS (windows: the names live in the PDB; darwin: not
    /// yet), so no value of this type exists and every frame prints as `?()` + `EXE+0xADDR`.
    pub enum Symtab {}

    /// Always None: see Symtab.
    ///
    /// # Safety
    /// Nothing to uphold; unsafe for the signature linux's needs.
    pub unsafe fn symtab(_img: &Image) -> Option<Symtab> {
        None
    }

    impl Symtab {
        /// Never called: no Symtab exists.
        pub fn lookup(&self, _addr: usize, _w: &mut impl core::fmt::Write) -> Option<usize> {
            match *self {}
        }
    }
}
use names::Image;

/// A frame's register state: the values, and which of them are known (register numbers are
/// the arch file's: DWARF's on amd64 and arm64, r0-r15 on arm).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Regs {
    r: [usize; N],
    known: u64,
    /// The interrupted code's lr (arm64, arm) when the RA column holds a signal's pc instead:
    /// the return address of a leaf that has not saved lr (its CFI says lr is unchanged). 0 if
    /// not (always, outside linux: no walk starts from a signal there).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
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

    /// The state a step produces from `self` (registers copied, not yet known as a signal's).
    #[cfg_attr(target_os = "macos", allow(dead_code))] // the frame-pointer walk builds its own
    fn next(&self) -> Regs {
        Regs { r: self.r, known: self.known, leaf_lr: 0, exact_pc: false }
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

// `capture` writes `r[i]` at `i * word` and `known` right after the N registers.
const _: () = assert!(
    core::mem::offset_of!(Regs, r) == 0 && core::mem::offset_of!(Regs, known) == N * core::mem::size_of::<usize>()
);

/// Walks the call chain from `regs` (the state `capture` recorded) and calls `f(pc, at)` for
/// every frame (pc is its return address, or an interrupted pc; `at` the address inside the
/// instruction the frame is at: `Regs::at`), at most MAX_WALK times, until `f` returns false,
/// `stop(pc)` holds, or the unwind information runs out. `read(a)` reads the word at `a`, which the walk
/// keeps inside `bounds`.
fn walk(
    img: &Image,
    walker: &mut Walker,
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
        match walker.step(img, &regs, bounds, &read) {
            Some(next) => regs = next,
            None => return,
        }
    }
}

/// The call chain `regs` starts, for a profile (cpuprof.rs, mprof.rs): writes each frame's
/// address inside its instruction (`Regs::at`: the interrupted pc itself, else inside the call
/// before the return address), innermost first, into `out` and returns how many (at most
/// `out.len()`; the walk ends at goexit, as a traceback's). Every frame is kept, gort's too (Go's
/// profiles show `runtime.` frames). Neither allocates nor locks: a signal handler may call it,
/// with `storage` on its own stack.
///
/// # Safety
/// `bounds` must be a readable stack holding the live frames `regs` describes, which stay as
/// they are during the call (the caller's own stack, or the stack of the code its signal handler
/// interrupted).
#[cfg(gort_pprof)]
pub unsafe fn profile_frames(
    regs: &Regs,
    bounds: (usize, usize),
    storage: &mut WalkStorage,
    out: &mut [usize],
) -> usize {
    let Some(img) = names::image() else { return 0 };
    let mut walker = Walker::with(storage);
    let goexit = crate::arch::goexit as *const () as usize;
    let mut n = 0;
    walk(
        &img,
        &mut walker,
        regs,
        bounds,
        // SAFETY: walk reads only aligned words inside `bounds`, a live stack (the contract).
        |a| unsafe { *(a as *const usize) },
        |pc| pc > goexit && pc <= goexit + 8,
        |_pc, at| {
            if n == out.len() {
                return false;
            }
            out[n] = at;
            n += 1;
            true
        },
    );
    n
}

/// The function holding runtime address `at` (a `profile_frames` address): its demangled name
/// written into `w`, and its runtime start address; None if `tab` has no function there.
#[cfg(gort_pprof)]
pub fn profile_name(tab: &crate::symtab::Symtab<'_>, at: usize, w: &mut impl Write) -> Option<usize> {
    let img = names::image()?;
    let (raw, start) = tab.lookup(at.wrapping_sub(img.bias))?;
    let _ = crate::symtab::write_name(w, raw);
    Some(start.wrapping_add(img.bias))
}

/// Whether a frame of this (demangled) function is gort's own (Go: a `runtime.` frame), hidden.
/// (`<gort::T as Trait>::f` is gort's too.) Out of line: print_frames had two copies.
#[inline(never)]
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
    // One copy: the demangler writes a name in many small pieces (19 inlined copies; issue 22).
    #[inline(never)]
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &c in s.as_bytes() {
            if self.len < self.buf.len() {
                self.buf[self.len] = c;
                self.len += 1;
            }
        }
        Ok(())
    }
    fn write_char(&mut self, c: char) -> core::fmt::Result {
        crate::print::write_char(self, c)
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

/// Writes a path as bytes (lossy: `?` for each invalid UTF-8 sequence). With `from_utf8`'s
/// error, not `utf8_chunks` (its iterator was 400 bytes of every program, issue 22); out of
/// line (print_frames had three copies).
#[inline(never)]
fn write_bytes(w: &mut dyn Write, mut b: &[u8]) {
    loop {
        let (valid, rest) = match core::str::from_utf8(b) {
            Ok(s) => (s, None),
            Err(e) => {
                let (ok, bad) = b.split_at(e.valid_up_to());
                let skip = e.error_len().unwrap_or(bad.len());
                (core::str::from_utf8(ok).unwrap_or(""), bad.get(skip..))
            }
        };
        let _ = w.write_str(valid);
        let Some(rest) = rest else { return };
        let _ = w.write_char('?');
        b = rest;
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
    // Out of line: three copies of the formatting otherwise (issue 22).
    #[inline(never)]
    fn loc(w: &mut dyn Write, l: &core::panic::Location<'_>) {
        let _ = write!(w, "\t{}:{}:{}", Str(l.file()), l.line() as u64, l.column() as u64);
    }
    let Some(img) = names::image() else {
        if let Some(l) = r.location {
            loc(r.w, l);
            let _ = writeln!(r.w);
        }
        return;
    };
    // SAFETY: the caller is the only thread reporting.
    let tab = unsafe { names::symtab(&img) };
    let exe_path = names::exe_path();
    let system = r.level >= 2;
    // The executable's bytes, for its line tables.
    #[cfg(all(feature = "traceback-lines", target_os = "linux"))]
    // SAFETY: the caller is the only thread reporting.
    let file = unsafe { crate::symtab::exe(&img) };
    if tab.is_none() || system {
        if let Some(l) = r.location {
            loc(r.w, l);
            let _ = writeln!(r.w);
        }
    }
    // SAFETY: the caller is the only thread reporting.
    let mut walker = unsafe { Walker::get() };
    let goexit = crate::arch::goexit as *const () as usize;
    let (mut shown, mut first, mut elided) = (0usize, true, false);
    let w = &mut *r.w;
    let location = r.location;
    walk(
        &img,
        &mut walker,
        &r.regs,
        bounds,
        // SAFETY: walk reads only aligned words inside `bounds`, a live stack.
        |a| unsafe { *(a as *const usize) },
        // goexit's first instruction is a nop, so a return address into it is goexit+1 (amd64)
        // or goexit+4 (arm64, arm).
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
            let start = tab.lookup(addr, &mut name);
            let n = name.as_str();
            if !system && ((first && panic_machinery(n)) || runtime_frame(n)) {
                return true;
            }
            if shown == MAX_FRAMES {
                elided = true;
                return false;
            }
            shown += 1;
            let _ = writeln!(w, "{}(...)", Str(if n.is_empty() { "?" } else { n }));
            match (first && !system, location) {
                (true, Some(l)) => loc(w, l),
                // SAFETY: this thread holds the traceback (this function's contract).
                #[cfg(all(feature = "traceback-lines", target_os = "linux"))]
                _ if file.is_some_and(|f| unsafe { lines::write_location(&mut *w, f, addr) }) => {}
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
    let (status, bounds, lazy, sched_sp, sched_pc, sched_ctx) = unsafe {
        let g = &*gp;
        (
            g.atomicstatus.load(Ordering::Acquire),
            (g.stack.lo, g.stack.hi),
            g.lazy_stack.load(Ordering::Acquire),
            g.sched.sp,
            g.sched.pc,
            g.sched.ctx,
        )
    };
    let mcall = crate::arch::mcall as *const () as usize;
    #[cfg(not(any(target_os = "linux", all(windows, target_arch = "x86_64"))))]
    let _ = sched_ctx;
    let regs = match (cur, status) {
        (Some(r), _) => Some(r),
        // Preempted by signal (preempt.rs): its registers are in the saved signal frame.
        #[cfg(target_os = "linux")]
        (None, GStatus::Runnable) if sched_pc == crate::sys::sigreturn_resume as *const () as usize => {
            // SAFETY: sched.ctx is the ucontext inside the goroutine's save area, which stays as
            // it was saved while the goroutine is not running.
            Some(unsafe { signal_regs(sched_ctx as *const u8) })
        }
        // Preempted by SuspendThread (sys/windows/preempt_amd64.rs): its registers are in the
        // CONTEXT saved in its save area.
        #[cfg(all(windows, target_arch = "x86_64"))]
        (None, GStatus::Runnable) if sched_pc == crate::preempt::context_resume as *const () as usize => {
            // SAFETY: sched.ctx is the CONTEXT inside the goroutine's save area, which stays as
            // it was saved while the goroutine is not running.
            Some(unsafe { context_regs(sched_ctx as *const u8) })
        }
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
    if let Some(img) = names::image() {
        // SAFETY: the caller is the only thread reporting.
        if let Some(tab) = unsafe { names::symtab(&img) } {
            if let Some(start) = tab.lookup(gopc.wrapping_sub(img.bias), &mut name) {
                off = Some(gopc.wrapping_sub(img.bias).wrapping_sub(start));
            }
        }
    }
    let n = name.as_str();
    let _ = writeln!(w, "created by {} in goroutine {}", Str(if n.is_empty() { "?" } else { n }), parent);
    let _ = write!(w, "\t{}:{}", Str(loc.file()), loc.line() as u64);
    if let Some(off) = off {
        let _ = write!(w, " +{:#x}", off);
    }
    let _ = writeln!(w);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// write_bytes prints as `utf8_chunks` did: valid runs as they are, `?` per invalid sequence.
    #[test]
    fn write_bytes_is_lossy_per_sequence() {
        extern crate std;
        use std::string::String;
        let lossy = |b: &[u8]| {
            let mut s = String::new();
            for c in b.utf8_chunks() {
                s.push_str(c.valid());
                if !c.invalid().is_empty() {
                    s.push('?');
                }
            }
            s
        };
        let cases: [&[u8]; 7] = [
            b"",
            b"/usr/bin/x",
            "/tmp/\u{e9}t\u{e9}".as_bytes(),
            b"a\xffb",
            b"\xff\xfe",
            b"x\xe2\x82",
            b"\xe2\x82\xacz\xc3",
        ];
        for b in cases {
            let mut s = String::new();
            write_bytes(&mut s, b);
            assert_eq!(s, lossy(b), "{b:?}");
        }
    }

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
