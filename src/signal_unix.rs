//! Synchronous signals (Go's signal_unix.go, the fatal part): SIGSEGV/SIGBUS/SIGFPE/SIGILL are
//! reported the way Go reports them and the process exits 2. A fault just below a goroutine's
//! stack (its guard page) is a stack overflow. Handlers run on the M's signal stack (gsignal).

use crate::arch;
use crate::sys::{self as os, SigSet, SIGBUS, SIGFPE, SIGILL, SIGSEGV};
use core::fmt::Write as _;

/// Go's initsig (for the signals gort handles).
pub fn initsig() {
    for sig in [SIGSEGV, SIGBUS, SIGFPE, SIGILL] {
        os::setsig(sig, sighandler);
    }
    #[cfg(target_os = "linux")]
    os::setsig(os::SIGQUIT, sigquit);
}

/// SIGQUIT: Go's dump of every goroutine (its sighandler with _SigKill|_SigThrow for SIGQUIT),
/// exit 2. Never returns.
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
    let mut w = crate::print::start_signal_report();
    let _ = writeln!(w, "SIGQUIT: quit");
    // Go prints sigcode as a uint64 (SI_TKILL, -6, is 18446744073709551610).
    let _ = writeln!(w, "PC={:#x} m={} sigcode={}", pc, mid, code as i64 as u64);
    // SAFETY: uc is the kernel's ucontext for this handler.
    let cur = Some(unsafe { crate::traceback::signal_regs(uc) });
    crate::print::dump_goroutines(&mut w, cur);
    drop(w);
    os::exit(2)
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

/// Go's sighandler for synchronous signals. Never returns.
///
/// # Safety
/// Installed with SA_SIGINFO; called by the kernel with valid info and context.
pub unsafe extern "C" fn sighandler(sig: i32, info: *mut u8, uc: *mut u8) {
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
                crate::overflow::stack_overflow(gp, sp);
            }
        }
        // Not this g's overflow, but maybe another's: an unguarded stack that overflowed past its
        // canary writes into the stack below, whose goroutine can fault first.
        if let Some(over) = crate::overflow::find_overflowed_g() {
            crate::overflow::stack_overflow(over, 0);
        }
    }
    let (name, desc) = signame(sig);
    {
        let mut w = crate::print::start_signal_report();
        match sig {
            SIGSEGV | SIGBUS => {
                let _ = writeln!(w, "panic: runtime error: invalid memory address or nil pointer dereference");
            }
            SIGFPE => {
                let _ = writeln!(w, "panic: runtime error: integer divide by zero");
            }
            _ => {
                let _ = writeln!(w, "fatal error: unexpected signal during runtime execution");
            }
        }
        let _ = writeln!(w, "[signal {}: {} code={:#x} addr={:#x} pc={:#x}]", name, desc, code, addr, pc);
        if let Some((goid, _)) = crate::proc::current_goroutine() {
            let _ = write!(w, "\ngoroutine {} [running]:\n", goid);
        }
    }
    os::exit(2)
}
