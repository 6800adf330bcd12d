//! Synchronous signals (Go's signal_unix.go, the fatal part): SIGSEGV/SIGBUS/SIGFPE/SIGILL are
//! reported the way Go reports them and the process exits 2. A fault just below a goroutine's
//! stack (its guard page) is a stack overflow. Handlers run on the M's signal stack (gsignal).

use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch;
use crate::sys::{self as os, SigSet, SIGBUS, SIGFPE, SIGILL, SIGSEGV};

/// Go's initsig (for the signals gort handles).
pub fn initsig() {
    for sig in [SIGSEGV, SIGBUS, SIGFPE, SIGILL] {
        os::setsig(sig, sighandler);
    }
    #[cfg(target_os = "linux")]
    os::setsig(os::SIGQUIT, sigquit);
    os::setsig(SIGPIPE, sigpipe);
}

/// Whether SIGURG's handler is in place (`ensure_sigpreempt`).
static SIGPREEMPT_INSTALLED: AtomicBool = AtomicBool::new(false);

/// Installs the preemption signal's handler before the first one is sent (preemptm), not at
/// initsig as Go does: a program that never preempts (a hello; anything sysmon never sees run
/// long) makes one system call fewer. Until then SIGURG keeps its default action, ignore, which is
/// what an unwanted preemption signal comes to anyway. Release/Acquire: whoever sees true sends
/// after the installing sigaction returned; two first senders both install, harmlessly.
#[inline]
pub fn ensure_sigpreempt() {
    #[cold]
    #[inline(never)]
    fn install() {
        os::setsig(os::SIGURG, crate::preempt::sigpreempt);
        SIGPREEMPT_INSTALLED.store(true, Ordering::Release);
    }
    if !SIGPREEMPT_INSTALLED.load(Ordering::Acquire) {
        install();
    }
}

/// SIGPIPE: the same number on linux and darwin.
const SIGPIPE: i32 = 13;

/// SIGPIPE is caught and dropped (Go's sigtable: _SigNotify only), so a write to a pipe or
/// socket whose reader is gone fails with EPIPE (`BrokenPipe`) instead of ending the process.
/// stdout and stderr keep Go's rule: print.rs turns their EPIPE into a real SIGPIPE
/// (`sys::raise_sigpipe`, with the default action restored). A handler, not SIG_IGN: an ignored
/// disposition would be inherited by processes started from this one.
///
/// # Safety
/// Installed with SA_SIGINFO; touches nothing.
unsafe extern "C" fn sigpipe(_sig: i32, _info: *mut u8, _uc: *mut u8) {}

/// SIGQUIT: Go's dump of every goroutine (its sighandler with _SigKill|_SigThrow for SIGQUIT),
/// at GOTRACEBACK's level, exit 2 (SIGABRT for GOTRACEBACK=crash). Never returns.
///
/// # Safety
/// Installed with SA_SIGINFO; called by the kernel with valid info and context.
#[cfg(target_os = "linux")]
unsafe extern "C" fn sigquit(_sig: i32, info: *mut u8, uc: *mut u8) {
    // SAFETY: the kernel passes a valid siginfo and ucontext.
    let (code, (pc, _sp)) = unsafe { (os::siginfo_code(info), os::sigctxt_pc_sp(uc)) };
    let gp = arch::getg();
    // SAFETY: a non-null g is this thread's (gsignal), whose m is this thread's M.
    let mid = if gp.is_null() || unsafe { (*gp).m.is_null() } { -1 } else { unsafe { (*(*gp).m).id } };
    // SAFETY: uc is the kernel's ucontext for this handler.
    let regs = unsafe { regs_of(uc) };
    // Go prints sigcode as a uint64 (SI_TKILL, -6, is 18446744073709551610).
    crate::print::die(
        crate::print::Failure::Fatal,
        format_args!("SIGQUIT: quit\nPC={:#x} m={} sigcode={}\n", pc, mid, code as i64 as u64),
        crate::print::Frames::Signal(regs),
    )
}

/// The interrupted registers, for the report's frames.
///
/// # Safety
/// `uc` is the kernel's ucontext for the running handler.
#[cfg(all(gort_traceback, target_os = "linux"))]
unsafe fn regs_of(uc: *mut u8) -> crate::print::CurRegs {
    // SAFETY: as this function's contract.
    unsafe { crate::traceback::signal_regs(uc) }
}

/// The interrupted registers: none yet on darwin (its ucontext layout is not read: a fault's
/// report has no frames there).
///
/// # Safety
/// None: `uc` is not read.
#[cfg(all(gort_traceback, not(target_os = "linux")))]
unsafe fn regs_of(_uc: *mut u8) -> crate::print::CurRegs {
    crate::print::CurRegs::new()
}

/// The interrupted registers (none: this target has no unwinder).
///
/// # Safety
/// None: `uc` is not read.
#[cfg(not(gort_traceback))]
unsafe fn regs_of(_uc: *mut u8) -> crate::print::CurRegs {
    crate::print::CurRegs
}

/// Removes the synchronous signals from a mask: they must never be blocked.
pub fn unblock_fatal(mask: &mut SigSet) {
    for sig in [SIGSEGV, SIGBUS, SIGFPE, SIGILL] {
        mask.0 &= !(1u64 << (sig - 1));
    }
}

fn signame(sig: i32) -> (&'static str, &'static str) {
    match sig {
        SIGSEGV => ("SIGSEGV", "segmentation violation"),
        SIGBUS => ("SIGBUS", "bus error"),
        SIGFPE => ("SIGFPE", "floating-point exception"),
        SIGILL => ("SIGILL", "illegal instruction"),
        _ => ("SIG?", "unknown signal"),
    }
}

/// Go's sighandler for synchronous signals. Never returns, but for darwin's preemption resume
/// trap (`preempt::resume_trap`).
///
/// # Safety
/// Installed with SA_SIGINFO; called by the kernel with valid info and context.
pub unsafe extern "C" fn sighandler(sig: i32, info: *mut u8, uc: *mut u8) {
    // darwin resumes a preempted goroutine through a SIGILL at a known instruction (its
    // sys/darwin/preempt.rs): not a fault. (On linux resume_trap says no.)
    // SAFETY: uc is the ucontext of this running SIGILL handler.
    if sig == SIGILL && unsafe { crate::preempt::resume_trap(uc) } {
        return;
    }
    // SAFETY: the kernel passes a valid siginfo and ucontext.
    let (addr, code, (pc, sp)) = unsafe { (os::siginfo_addr(info), os::siginfo_code(info), os::sigctxt_pc_sp(uc)) };
    let gp = arch::getg();
    // A fault at or below a goroutine's stack bottom (guard page) is a stack overflow.
    if !gp.is_null() && (sig == SIGSEGV || sig == SIGBUS) {
        // SAFETY: gp is the g that was running when the fault hit.
        unsafe {
            let lo = (*gp).stack.lo;
            let page = os::phys_page_size();
            if lo != 0 && (sp < lo || (addr < lo && addr + 16 * page >= lo)) {
                // SAFETY: uc is the kernel's ucontext for this handler.
                crate::overflow::stack_overflow_signal(gp, sp, regs_of(uc));
            }
        }
        // Not this g's overflow, but maybe another's: an unguarded stack that overflowed past its
        // canary writes into the stack below, whose goroutine can fault first.
        if let Some(over) = crate::overflow::find_overflowed_g() {
            // SAFETY: uc is the kernel's ucontext for this handler.
            crate::overflow::stack_overflow_signal(over, 0, unsafe { regs_of(uc) });
        }
    }
    let (name, desc) = signame(sig);
    // SAFETY: uc is the kernel's ucontext for this handler.
    let regs = unsafe { regs_of(uc) };
    let frames = crate::print::Frames::Signal(regs);
    let signal = format_args!(
        "[signal {}: {} code={:#x} addr={:#x} pc={:#x}]",
        Str(name),
        Str(desc),
        code as u32 as usize,
        addr,
        pc
    );
    use crate::print::{die, Failure, Str};
    match sig {
        // Go turns these into panics (sigpanic): GOTRACEBACK decides what is shown.
        SIGSEGV | SIGBUS => die(
            Failure::Panic,
            format_args!("panic: runtime error: invalid memory address or nil pointer dereference\n{}\n", signal),
            frames,
        ),
        SIGFPE => {
            die(Failure::Panic, format_args!("panic: runtime error: integer divide by zero\n{}\n", signal), frames)
        }
        _ => die(
            Failure::Throw,
            format_args!("fatal error: unexpected signal during runtime execution\n{}\n", signal),
            frames,
        ),
    }
}
