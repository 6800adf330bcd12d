//! darwin/amd64: the TLS mechanism (pthread TSD slot 6, `gs:[0x30]`) and the signal context
//! layout (Go's sys_darwin_amd64.s, signal_darwin_amd64.go and the darwin parts of go_tls.h).
//! The context switches are arch/amd64.rs; they expand the TLS macros below and the SysV ABI
//! macros of sys/unix/amd64.rs.
//!
//! TLS: there is no settls: the g lives in pthread TSD slot 6 (`gs:[0x30]`), which Apple reserves
//! for Go (golang.org/issue/23617) on every thread libSystem creates; see asm/rt0_darwin_amd64.S.

use core::arch::asm;

use crate::gmp::G;

/// Name of the TLS mechanism, for boottrace.
pub const TLS_MECHANISM: &str = "no settls: pthread TSD slot 6 reserved for Go, getg = mov gs:[0x30]";

/// Returns the current g from TLS (Go's getg). Deliberately not `pure`: a goroutine may resume on
/// another thread after any park, so every call must really read the thread pointer.
#[inline(always)]
pub fn getg() -> *mut G {
    let gp: *mut G;
    // SAFETY: gs:[0x30] is TSD slot 6 of every pthread, set to the g by rt0 / mstart_stub before
    // the runtime asks.
    unsafe { asm!("mov {}, qword ptr gs:[0x30]", out(reg) gp, options(nostack, readonly, preserves_flags)) };
    gp
}

/// Whether a register may hold an address derived from this thread's thread pointer at `pc`
/// (asynchronous preemption declines there: resumed on another thread, the goroutine would use
/// the old thread's TLS; preempt.rs `async_safe_point`). Never on x86-64: getg and the
/// assembly's g accesses are single instructions relative to the segment base.
pub fn thread_pointer_live(_pc: usize) -> bool {
    false
}

/// Installs gp as the current g (Go's setg).
///
/// # Safety
/// gp must be a valid g belonging to this thread's M (or null while the M exits).
#[inline(always)]
pub unsafe fn setg(gp: *mut G) {
    // SAFETY: gs:[0x30] is this thread's g slot; see getg.
    unsafe { asm!("mov qword ptr gs:[0x30], {}", in(reg) gp, options(nostack, preserves_flags)) };
}

/// Assembly that loads the current g into register `$r`.
macro_rules! load_g {
    ($r:literal) => {
        concat!("mov ", $r, ", qword ptr gs:[0x30]")
    };
}
/// Assembly that makes register `$r` the current g.
macro_rules! save_g {
    ($r:literal) => {
        concat!("mov qword ptr gs:[0x30], ", $r)
    };
}
pub(crate) use crate::sys::unix::amd64::{cabi_arg0, shadow_space, tail_call, SHADOW_SPACE};
pub(crate) use crate::sys::unix::switch_hooks::{os_naked_asm, stack_switched};
pub(crate) use {load_g, save_g};

/// The pthread's self pointer, TSD slot 0 (`gs:[0]`), for boottrace: the %gs base itself cannot be
/// read from user space on darwin.
pub fn tls_base() -> usize {
    let v: usize;
    // SAFETY: gs:[0] is TSD slot 0 (__TSD_THREAD_SELF) of every libSystem thread.
    unsafe { asm!("mov {}, qword ptr gs:[0]", out(reg) v, options(nostack, readonly, preserves_flags)) };
    v
}

/// Program counter and faulting stack pointer from a signal's ucontext (darwin x86-64 layout).
///
/// # Safety
/// `uc` must be the ucontext the kernel passed to an SA_SIGINFO handler.
pub unsafe fn sigctxt_pc_sp(uc: *const u8) -> (usize, usize) {
    // ucontext_t: uc_onstack(4) uc_sigmask(4) uc_stack(24) uc_link(8) uc_mcsize(8) then the
    // uc_mcontext pointer at 48. mcontext64: es (16 bytes), then ss = rax rbx rcx rdx rdi rsi rbp
    // rsp(7) r8..r15 rip(16) ...
    // SAFETY: layout of ucontext_t/__darwin_mcontext64 on darwin/amd64.
    unsafe {
        let mc = *((uc as usize + 48) as *const usize);
        let ss = (mc + 16) as *const usize;
        (*ss.add(16), *ss.add(7))
    }
}

/// Makes the interrupted context call `f(arg)` on the stack whose top is `sp`, as if called
/// (return address 0) when the handler returns (asynchronous preemption, darwin/preempt.rs).
///
/// # Safety
/// `uc` is the running handler's ucontext; `[sp - 16, sp)` is writable stack.
pub unsafe fn sigctxt_set_call(uc: *mut u8, f: usize, sp: usize, arg: usize) {
    use super::preempt_layout::{amd64::*, MC_SS, UC_MCONTEXT};
    let sp = (sp & !15) - 8;
    // SAFETY: as the contract; the thread state's words as preempt_layout.rs lists them.
    unsafe {
        let ss = (*((uc as usize + UC_MCONTEXT) as *const usize) + MC_SS) as *mut usize;
        *(sp as *mut usize) = 0;
        *ss.add(RDI) = arg;
        *ss.add(RSP) = sp;
        *ss.add(RIP) = f;
        *ss.add(RFLAGS) &= !0x400; // DF clear, as the ABI wants at a call
    }
}

/// Entered by gogo for a goroutine preempted asynchronously (darwin/preempt.rs), on its save
/// area's stack: the undefined instruction whose SIGILL `resume_trap` turns into the return to
/// the goroutine, with every register restored by the kernel.
///
/// # Safety
/// Only through gogo with the gobuf darwin/preempt.rs prepared.
#[unsafe(naked)]
pub unsafe extern "C" fn preempt_resume() {
    core::arch::naked_asm!("ud2")
}

/// The libSystem calls whose symbol differs per arch: x86_64 keeps the old 32-bit-inode `stat`, `fstat`, `fstatat`, `fdopendir` and `readdir_r` under the plain names; the 64-bit-inode ones (the layouts darwin/fs.rs reads) are the `$INODE64` variants, which Go calls too.
pub mod stat_calls {
    use core::ffi::{c_char, c_int, c_void};

    #[link(name = "System", kind = "dylib")]
    unsafe extern "C" {
        #[link_name = "stat$INODE64"]
        pub fn stat(path: *const c_char, st: *mut c_void) -> c_int;
        #[link_name = "fstat$INODE64"]
        pub fn fstat(fd: c_int, st: *mut c_void) -> c_int;
        #[link_name = "fstatat$INODE64"]
        pub fn fstatat(dirfd: c_int, path: *const c_char, st: *mut c_void, flags: c_int) -> c_int;
        #[link_name = "fdopendir$INODE64"]
        pub fn fdopendir(fd: c_int) -> *mut c_void;
        #[link_name = "readdir_r$INODE64"]
        pub fn readdir_r(dir: *mut c_void, entry: *mut c_void, result: *mut *mut c_void) -> c_int;
    }
}
