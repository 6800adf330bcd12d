//! darwin/arm64: the TLS mechanism (a pthread TSD slot found by rt0's tlsinit), the signal
//! context layout and the CPU features from sysctl (Go's sys_darwin_arm64.s,
//! signal_darwin_arm64.go, os_darwin_arm64.go, cpu_arm64_darwin.go and the darwin parts of
//! tls_arm64.h). The context switches are arch/arm64.rs; they expand the TLS macros below.
//!
//! TLS: there is no settls: rt0 finds a pthread TSD slot (Go's tlsinit, asm/rt0_darwin_arm64.S)
//! and stores its byte offset in `runtime_tlsg`; the g slot is then
//! `(tpidrro_el0 & ~7) + runtime_tlsg` on every thread.

use core::arch::asm;

use crate::gmp::G;

/// Byte offset of the g slot in the pthread TSD array, found by rt0's tlsinit (Go's runtime·tlsg).
#[no_mangle]
pub static runtime_tlsg: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Name of the TLS mechanism, for boottrace.
pub const TLS_MECHANISM: &str =
    "no settls: pthread key found in the TSD array (tlsinit), getg = mrs tpidrro_el0; and ~7; ldr [x + tlsg]";

/// Assembly that leaves the address of the current g's TLS slot in register `$r` (`$t` is
/// scratch): the TSD base (TPIDRRO_EL0 without its CPU-number bits) + runtime_tlsg.
#[rustfmt::skip]
macro_rules! g_slot {
    ($r:literal, $t:literal) => {
        concat!(
            "mrs ", $r, ", tpidrro_el0\n",
            "and ", $r, ", ", $r, ", #~7\n",
            "adrp ", $t, ", {tlsg}@PAGE\n",
            "ldr ", $t, ", [", $t, ", {tlsg}@PAGEOFF]\n",
            "add ", $r, ", ", $r, ", ", $t
        )
    };
}
/// Loads the address of symbol operand `$s` into register `$r` (Mach-O relocation syntax).
macro_rules! adr_sym {
    ($r:literal, $s:literal) => {
        concat!("adrp ", $r, ", ", $s, "@PAGE\n", "add ", $r, ", ", $r, ", ", $s, "@PAGEOFF")
    };
}
/// The unix `os_naked_asm!` plus the operand `g_slot!` names (runtime_tlsg). The invocation must
/// end with a comma.
macro_rules! os_naked_asm {
    ($($t:tt)*) => {
        $crate::sys::unix::switch_hooks::os_naked_asm!($($t)* tlsg = sym $crate::sys::runtime_tlsg)
    };
}
pub(crate) use crate::sys::unix::switch_hooks::stack_switched;
pub(crate) use {adr_sym, g_slot, os_naked_asm};

/// Returns the current g from TLS (Go's getg).
#[inline(always)]
pub fn getg() -> *mut G {
    let gp: *mut G;
    // SAFETY: runtime_tlsg is the g slot's offset in every pthread's TSD array (set by rt0).
    unsafe {
        asm!(g_slot!("{t}", "{u}"), "ldr {g}, [{t}]", t = out(reg) _, u = out(reg) _, g = out(reg) gp,
            tlsg = sym runtime_tlsg, options(nostack, readonly, preserves_flags))
    };
    gp
}

/// Whether a register may hold an address derived from this thread's thread pointer at `pc`
/// (asynchronous preemption declines there: resumed on another thread, the goroutine would use
/// the old thread's TLS slot; preempt.rs `async_safe_point`). getg is g_slot (`mrs x, tpidrro_el0` and four more) then a load, and mcall and systemstack
/// keep the slot's address until they have made g0 current: any of the last instructions reading
/// TPIDRRO_EL0 (`mrs Xt, tpidrro_el0`) makes the window.
///
/// # Safety
/// `pc` is an interrupted instruction's address in mapped code.
pub unsafe fn thread_pointer_live(pc: usize) -> bool {
    // SAFETY: as the contract.
    // The window's bytes before pc's page are not looked up here (asynchronous preemption is
    // off by default on darwin): such a pc declines.
    unsafe { crate::preempt::read_recently(pc, 4, |w| w & 0xffff_ffe0 == 0xd53b_d060, |_, _| false) }
}

/// Installs gp as the current g (Go's setg).
///
/// # Safety
/// gp must be a valid g belonging to this thread's M (or null while the M exits).
#[inline(always)]
pub unsafe fn setg(gp: *mut G) {
    // SAFETY: the g slot of this thread's TSD array; see getg.
    unsafe {
        asm!(g_slot!("{t}", "{u}"), "str {g}, [{t}]", t = out(reg) _, u = out(reg) _, g = in(reg) gp,
            tlsg = sym runtime_tlsg, options(nostack, preserves_flags))
    };
}

/// The TSD base (TPIDRRO_EL0 & ~7), for boottrace.
pub fn tls_base() -> usize {
    let base: usize;
    // SAFETY: reads a register.
    unsafe { asm!("mrs {}, tpidrro_el0", out(reg) base, options(nomem, nostack, preserves_flags)) };
    base & !7
}

/// Program counter and faulting stack pointer from a signal's ucontext (darwin arm64 layout).
///
/// # Safety
/// `uc` must be the ucontext the kernel passed to an SA_SIGINFO handler.
pub unsafe fn sigctxt_pc_sp(uc: *const u8) -> (usize, usize) {
    // ucontext_t: uc_onstack(4) uc_sigmask(4) uc_stack(24) uc_link(8) uc_mcsize(8), then the
    // uc_mcontext pointer at 48. mcontext64: es (far, esr, exception: 16 bytes), then ss =
    // x0..x28, fp, lr, sp (offset 248), pc (256), cpsr.
    // SAFETY: layout of ucontext_t/__darwin_mcontext64 on darwin/arm64.
    unsafe {
        let mc = *((uc as usize + 48) as *const usize);
        (*((mc + 16 + 256) as *const usize), *((mc + 16 + 248) as *const usize))
    }
}

/// Makes the interrupted context call `f(arg)` on the stack whose top is `sp` (fp and lr 0)
/// when the handler returns (asynchronous preemption, darwin/preempt.rs).
///
/// # Safety
/// `uc` is the running handler's ucontext.
pub unsafe fn sigctxt_set_call(uc: *mut u8, f: usize, sp: usize, arg: usize) {
    use super::preempt_layout::{arm64::*, MC_SS, UC_MCONTEXT};
    // SAFETY: as the contract; the thread state's words as preempt_layout.rs lists them.
    unsafe {
        let ss = (*((uc as usize + UC_MCONTEXT) as *const usize) + MC_SS) as *mut usize;
        *ss.add(X0) = arg;
        *ss.add(FP) = 0;
        *ss.add(LR) = 0;
        *ss.add(SP) = sp & !15;
        *ss.add(PC) = f;
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
    core::arch::naked_asm!("udf #0")
}

/// The CPU features as AT_HWCAP bits (darwin has no auxv): Go's cpu_arm64_darwin.go reads the
/// LSE atomics and CRC32 from sysctl and assumes the rest of the M1 baseline (fp, asimd, aes,
/// pmull, sha1, sha2).
pub fn hwcaps() -> (usize, usize) {
    let mut h = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6);
    if sysctl_enabled(b"hw.optional.armv8_crc32\0") {
        h |= 1 << 7;
    }
    if sysctl_enabled(b"hw.optional.armv8_1_atomics\0") {
        h |= 1 << 8;
    }
    (h, 0)
}

/// Whether a boolean hw.optional sysctl is present and non-zero (Go's sysctlEnabled).
fn sysctl_enabled(name: &[u8]) -> bool {
    super::sysctl_int(name).is_some_and(|v| v != 0)
}

/// The libSystem calls whose symbol differs per arch: arm64 has only the 64-bit-inode layouts, under the plain names.
pub mod stat_calls {
    use core::ffi::{c_char, c_int, c_void};

    #[link(name = "System", kind = "dylib")]
    unsafe extern "C" {
        #[link_name = "stat"]
        pub fn stat(path: *const c_char, st: *mut c_void) -> c_int;
        #[link_name = "fstat"]
        pub fn fstat(fd: c_int, st: *mut c_void) -> c_int;
        #[link_name = "fstatat"]
        pub fn fstatat(dirfd: c_int, path: *const c_char, st: *mut c_void, flags: c_int) -> c_int;
        #[link_name = "fdopendir"]
        pub fn fdopendir(fd: c_int) -> *mut c_void;
        #[link_name = "readdir_r"]
        pub fn readdir_r(dir: *mut c_void, entry: *mut c_void, result: *mut *mut c_void) -> c_int;
    }
}
