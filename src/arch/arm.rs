//! arm (32-bit ARMv7, hard float, ARM state): the thread pointer, context switches (gogo, mcall,
//! systemstack), the goroutine and thread trampolines, raw system calls and CPU features. The same
//! API as amd64.rs.
//!
//! TLS: the user read-only thread ID register TPIDRURO (cp15 c13/c0/3) points at `m.tls`; rt0
//! sets it with the ARM-private `set_tls` system call (0xf0005) for m0, clone's CLONE_SETTLS does
//! it for other Ms. `m.tls[0]` holds the current g, so `getg` is
//! `mrc p15, 0, r, c13, c0, 3; ldr r, [r]`.
//!
//! Switch protocol: a goroutine gives up the CPU only through `mcall`, which saves the AAPCS
//! callee-saved registers (r4-r11, lr, d8-d15; r12 as padding for 8-byte alignment) on the
//! goroutine's own stack and saves sp/pc in `g.sched`; `gogo` restores sp and jumps to pc, whose
//! code pops them again. `gogo` also loads lr = goexit+4 before jumping: a fresh goroutine's
//! entry function (started at `sched.pc` with `sched.ctx` in r0) thus returns into goexit, and a
//! resumed goroutine overwrites lr from its saved frame. FPSCR is not saved: gort never changes it.
//! windows/arm is Thumb-2 only: its TLS and switch code is in arm_windows.rs; the items marked
//! `cfg(target_os = "linux")` are linux-only.

use core::arch::asm;
#[cfg(target_os = "linux")]
use core::arch::naked_asm;

#[cfg(target_os = "linux")]
use crate::gmp::{Gobuf, G};
#[cfg(target_os = "linux")]
use crate::offsets::*;

#[cfg(target_os = "linux")]
#[cfg(target_os = "linux")]
/// Name of the TLS mechanism, for boottrace.
pub const TLS_MECHANISM: &str = "set_tls(0xf0005) -> TPIDRURO, getg = mrc p15,0,r,c13,c0,3; ldr [r]";

#[cfg(target_os = "linux")]
/// Returns the current g from TLS (Go's getg).
#[inline(always)]
pub fn getg() -> *mut G {
    let gp: *mut G;
    // SAFETY: TPIDRURO points at this thread's m.tls once rt0/clone set it.
    unsafe {
        asm!("mrc p15, 0, {t}, c13, c0, 3", "ldr {g}, [{t}]", t = out(reg) _, g = out(reg) gp,
            options(nostack, readonly, preserves_flags))
    };
    gp
}

#[cfg(target_os = "linux")]
/// Restores the context in `buf` (sp, pc, g) and jumps there; never returns (Go's gogo).
///
/// # Safety
/// `buf` must hold a context saved by `mcall` or prepared by `newproc`, of a g that may run now
/// on this M.
#[unsafe(naked)]
pub unsafe extern "C" fn gogo(buf: *const Gobuf) -> ! {
    naked_asm!(
        "ldr r1, [r0, #{gobuf_g}]",
        "mrc p15, 0, r2, c13, c0, 3",
        "str r1, [r2]",                        // setg(buf.g)
        "ldr sp, [r0, #{gobuf_sp}]",           // restore SP
        "ldr r1, [r0, #{gobuf_pc}]",
        "movw lr, #:lower16:{goexit}",         // lr = goexit+4 for a fresh g (a resumed g
        "movt lr, #:upper16:{goexit}",         // reloads lr from its mcall frame)
        "add lr, lr, #4",
        "mov r11, #0",
        "ldr r0, [r0, #{gobuf_ctx}]",          // a fresh g's entry takes ctx as its argument
        "bx r1",
        gobuf_g = const GOBUF_G,
        gobuf_sp = const GOBUF_SP,
        gobuf_pc = const GOBUF_PC,
        gobuf_ctx = const GOBUF_CTX,
        goexit = sym goexit,
    )
}

#[cfg(target_os = "linux")]
/// Saves the current goroutine's context in g.sched, switches to g0's stack and calls
/// `f(gp)`, which must not return; `gogo(&gp.sched)` later resumes after the mcall (Go's mcall).
///
/// # Safety
/// Must be called on a user goroutine (not g0) with a valid M; `f` must end in gogo or schedule.
#[unsafe(naked)]
pub unsafe extern "C" fn mcall(f: unsafe extern "C" fn(*mut G) -> !) {
    naked_asm!(
        "push {{r4-r12, lr}}",                 // callee-saved registers stay on g's stack
        "vpush {{d8-d15}}",                    // (r12 only pads the frame to 8 bytes: 104)
        "mrc p15, 0, r3, c13, c0, 3",
        "ldr r1, [r3]",                        // r1 = g
        "mov r2, sp",
        "str r2, [r1, #{g_sched_sp}]",         // g.sched.sp = SP
        "adr r2, 2f",
        "str r2, [r1, #{g_sched_pc}]",         // g.sched.pc = resume label
        "str r1, [r1, #{g_sched_g}]",          // g.sched.g = g
        "ldr r2, [r1, #{g_m}]",
        "ldr r2, [r2, #{m_g0}]",               // r2 = g.m.g0
        "cmp r2, r1",
        "beq 3f",                              // mcall on g0 is a runtime bug
        "str r2, [r3]",                        // setg(g0)
        "ldr sp, [r2, #{g_sched_sp}]",         // SP = g0.sched.sp (16-aligned)
        "mov r2, r0",
        "mov r0, r1",                          // f(g)
        "mov r11, #0",
        "blx r2",
        "udf #0",                              // f must not return
        "2:",
        "vpop {{d8-d15}}",                     // resumed by gogo(&g.sched)
        "pop {{r4-r12, lr}}",
        "bx lr",
        "3:",
        "bl {badmcall}",
        "udf #0",
        g_sched_sp = const G_SCHED_SP,
        g_sched_pc = const G_SCHED_PC,
        g_sched_g = const G_SCHED_G,
        g_m = const G_M,
        m_g0 = const M_G0,
        badmcall = sym crate::proc::badmcall,
    )
}

#[cfg(target_os = "linux")]
/// Runs `f(arg)` on the M's g0 stack and returns (Go's systemstack). Called on g0 it just calls.
///
/// # Safety
/// `f` must not park, mcall or switch goroutines.
#[unsafe(naked)]
pub unsafe extern "C" fn systemstack(f: unsafe extern "C" fn(usize), arg: usize) {
    naked_asm!(
        "mrc p15, 0, r3, c13, c0, 3",
        "ldr r2, [r3]",                        // r2 = g
        "ldr r12, [r2, #{g_m}]",
        "ldr r12, [r12, #{m_g0}]",             // r12 = g0
        "cmp r2, r12",
        "beq 2f",
        "push {{r4, r5, r6, lr}}",
        "mov r4, sp",                          // old SP in callee-saved r4
        "mov r5, r2",                          // old g in callee-saved r5
        "mov r6, r3",                          // &m.tls in callee-saved r6
        "str r12, [r3]",                       // setg(g0)
        "ldr sp, [r12, #{g_sched_sp}]",
        "mov r2, r0",
        "mov r0, r1",
        "blx r2",
        "str r5, [r6]",                        // setg(old g)
        "mov sp, r4",
        "pop {{r4, r5, r6, pc}}",
        "2:",
        "mov r2, r0",                          // already on g0: tail-call f(arg)
        "mov r0, r1",
        "bx r2",
        g_m = const G_M,
        m_g0 = const M_G0,
        g_sched_sp = const G_SCHED_SP,
    )
}

#[cfg(target_os = "linux")]
/// Where a goroutine's entry function returns to: finishes the goroutine (Go's goexit).
///
/// # Safety
/// Only reached by a return from a goroutine entry function that `newproc` set up
/// (lr = goexit+4).
#[unsafe(naked)]
pub unsafe extern "C" fn goexit() {
    naked_asm!(
        "nop",                                 // so a return address of goexit+4 is inside it
        "bic sp, sp, #7",
        "bl {goexit1}",
        "udf #0",
        goexit1 = sym crate::proc::goexit1,
    )
}

#[cfg(target_os = "linux")]
/// Prepares `buf` so that `gogo(buf)` calls `entry(ctx)` on the stack `[.., hi)` and `entry`
/// returns into `goexit` (gogo loads lr = goexit+4) (Go's gostartcallfn).
///
/// # Safety
/// `hi` must be the 8-aligned top of a writable stack with at least 16 bytes.
pub unsafe fn gostartcall(buf: &mut Gobuf, hi: usize, entry: usize, ctx: usize) {
    buf.sp = hi & !15;
    buf.pc = entry;
    buf.ctx = ctx;
}

/// The current stack pointer, rounded down to 16 with some slack (for g0.sched.sp).
#[inline(always)]
pub fn getsp() -> usize {
    let sp: usize;
    // SAFETY: reads a register.
    unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    (sp - 128) & !15
}

/// Spins `cycles` yield hints (Go's procyield).
#[inline(always)]
pub fn procyield(cycles: u32) {
    for _ in 0..cycles {
        core::hint::spin_loop();
    }
}

#[cfg(target_os = "linux")]
/// Raw Linux system call with up to six arguments; returns the kernel's value (-errno on error).
///
/// # Safety
/// The arguments must be valid for the system call `n`.
#[inline(always)]
pub unsafe fn syscall6(n: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> isize {
    let ret: isize;
    // SAFETY: the ARM EABI Linux syscall ABI: number in r7, arguments in r0-r5, result in r0.
    unsafe {
        asm!("svc #0", in("r7") n, inlateout("r0") a1 as isize => ret, in("r1") a2, in("r2") a3,
            in("r3") a4, in("r4") a5, in("r5") a6, options(nostack));
    }
    ret
}

#[cfg(target_os = "linux")]
/// Linux system call numbers used by the runtime (ARM EABI table). MMAP is mmap2 (offset in
/// pages; the runtime always passes 0).
#[allow(missing_docs)]
pub mod nr {
    pub const READ: usize = 3;
    pub const WRITE: usize = 4;
    pub const OPENAT: usize = 322;
    pub const CLOSE: usize = 6;
    pub const MMAP: usize = 192;
    pub const MPROTECT: usize = 125;
    pub const MUNMAP: usize = 91;
    pub const MADVISE: usize = 220;
    pub const RT_SIGACTION: usize = 174;
    pub const RT_SIGPROCMASK: usize = 175;
    pub const RT_SIGRETURN: usize = 173;
    pub const SCHED_YIELD: usize = 158;
    pub const NANOSLEEP: usize = 162;
    pub const GETPID: usize = 20;
    pub const CLONE: usize = 120;
    pub const EXIT: usize = 1;
    pub const SIGALTSTACK: usize = 186;
    pub const GETTID: usize = 224;
    pub const TGKILL: usize = 268;
    pub const PPOLL: usize = 336;
    pub const FUTEX: usize = 240;
    pub const SCHED_GETAFFINITY: usize = 242;
    pub const CLOCK_GETTIME: usize = 263;
    pub const EXIT_GROUP: usize = 248;
}

#[cfg(target_os = "linux")]
/// Reads TPIDRURO (for boottrace: proves TLS points at m0.tls).
pub fn tls_base() -> usize {
    let base: usize;
    // SAFETY: reads a register.
    unsafe { asm!("mrc p15, 0, {}, c13, c0, 3", out(reg) base, options(nomem, nostack, preserves_flags)) };
    base
}

#[cfg(target_os = "linux")]
/// Starts a thread with `clone` on stack `stk` (8-aligned top) whose TPIDRURO is `&mp.tls`; the
/// child installs `gp` (its g0) as g and calls `f`, exiting the thread if `f` returns.
/// Returns the child's tid or -errno.
///
/// # Safety
/// `mp` and `gp` must be a fully initialised M and its g0; `stk` must be g0's stack top.
#[unsafe(naked)]
pub unsafe extern "C" fn clone(flags: usize, stk: usize, mp: usize, gp: usize, f: extern "C" fn() -> !) -> isize {
    naked_asm!(
        "push {{r4-r8, lr}}",
        "mov r5, r2",                   // mp
        "mov r6, r3",                   // g0
        "ldr r8, [sp, #24]",            // f (fifth argument, on the stack above our 6 pushes)
        "add r3, r5, #{m_tls}",         // tls = &mp.tls (CLONE_SETTLS)
        "mov r2, #0",                   // parent_tid
        "mov r4, #0",                   // child_tid
        "mov r7, #{sys_clone}",
        "svc #0",
        "cmp r0, #0",
        "beq 2f",
        "pop {{r4-r8, pc}}",            // parent (or error): return r0
        "2:",                           // child: on the new stack, TPIDRURO = &mp.tls
        "mrc p15, 0, r0, c13, c0, 3",
        "str r6, [r0]",                 // setg(g0)
        "mov r11, #0",
        "mov lr, #0",
        "blx r8",                       // mstart: never returns
        "mov r0, #111",
        "mov r7, #{sys_exit}",
        "svc #0",
        "udf #0",
        m_tls = const M_TLS,
        sys_clone = const nr::CLONE,
        sys_exit = const nr::EXIT,
    )
}

#[cfg(target_os = "linux")]
/// The signal-return trampoline installed as sa_restorer (SA_SIGINFO handlers: rt_sigreturn).
///
/// # Safety
/// Only the kernel returns here, at the end of a signal handler.
#[unsafe(naked)]
pub unsafe extern "C" fn sigreturn() {
    naked_asm!("mov r7, #{n}", "svc #0", "udf #0", n = const nr::RT_SIGRETURN)
}

#[cfg(target_os = "linux")]
/// Program counter and faulting stack pointer from a signal's ucontext (arm sigcontext layout).
///
/// # Safety
/// `uc` must be the ucontext the kernel passed to an SA_SIGINFO handler.
pub unsafe fn sigctxt_pc_sp(uc: *const u8) -> (usize, usize) {
    // ucontext: uc_flags(4) uc_link(4) uc_stack(12) then sigcontext: trap_no error_code oldmask
    // r0-r10 fp ip sp lr pc cpsr fault_address, so sp at 20+4*15 = 80... counted from 20:
    // sp is word 15 (offset 84), pc word 18 (offset 92).
    // SAFETY: layout of struct ucontext on arm Linux.
    unsafe { (*((uc as usize + 92) as *const usize), *((uc as usize + 84) as *const usize)) }
}

/// CPU features found by `cpuinit` (Go's internal/cpu.ARM), from AT_HWCAP and AT_HWCAP2.
#[derive(Clone, Copy, Default, Debug)]
pub struct CpuFeatures {
    /// AT_HWCAP as read (0 if unknown).
    pub hwcap: usize,
    /// AT_HWCAP2 as read (0 if unknown).
    pub hwcap2: usize,
    /// VFP.
    pub vfp: bool,
    /// VFPv3.
    pub vfpv3: bool,
    /// VFPv4.
    pub vfpv4: bool,
    /// NEON.
    pub neon: bool,
    /// Integer divide in ARM state.
    pub idiva: bool,
    /// AES instructions.
    pub aes: bool,
    /// PMULL.
    pub pmull: bool,
    /// SHA1.
    pub sha1: bool,
    /// SHA2.
    pub sha2: bool,
    /// CRC32.
    pub crc32: bool,
}

impl core::fmt::Display for CpuFeatures {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "hwcap={:#x} hwcap2={:#x}", self.hwcap, self.hwcap2)?;
        for (name, on) in [
            ("vfp", self.vfp),
            ("vfpv3", self.vfpv3),
            ("vfpv4", self.vfpv4),
            ("neon", self.neon),
            ("idiva", self.idiva),
            ("aes", self.aes),
            ("pmull", self.pmull),
            ("sha1", self.sha1),
            ("sha2", self.sha2),
            ("crc32", self.crc32),
        ] {
            if on {
                write!(f, " +{}", name)?;
            }
        }
        Ok(())
    }
}

/// Reads the CPU's features from AT_HWCAP/AT_HWCAP2 (Go's cpuinit → internal/cpu.doinit).
pub fn cpuinit() -> CpuFeatures {
    let (h, h2) = crate::sys::hwcaps();
    CpuFeatures {
        hwcap: h,
        hwcap2: h2,
        vfp: h & (1 << 6) != 0,
        neon: h & (1 << 12) != 0,
        vfpv3: h & (1 << 13) != 0,
        vfpv4: h & (1 << 16) != 0,
        idiva: h & (1 << 17) != 0,
        aes: h2 & (1 << 0) != 0,
        pmull: h2 & (1 << 1) != 0,
        sha1: h2 & (1 << 2) != 0,
        sha2: h2 & (1 << 3) != 0,
        crc32: h2 & (1 << 4) != 0,
    }
}

/// Architecture name as Go spells it.
pub const GOARCH: &str = "arm";

#[cfg(target_os = "linux")]
/// Name of clock_gettime in the arm vDSO.
pub const VDSO_CLOCK_GETTIME: &[u8] = b"__vdso_clock_gettime";

/// ARM EHABI personality routines referenced by the precompiled core even with panic = "abort"
/// (HACKING.md wall 2). gort never unwinds, so they are never called.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __aeabi_unwind_cpp_pr0() {}
/// See `__aeabi_unwind_cpp_pr0`.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __aeabi_unwind_cpp_pr1() {}
/// See `__aeabi_unwind_cpp_pr0`.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __aeabi_unwind_cpp_pr2() {}
