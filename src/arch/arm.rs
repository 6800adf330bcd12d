//! arm (32-bit ARMv7, hard float): context switches (gogo, mcall, systemstack), the goroutine
//! trampoline (goexit), CPU features and the EHABI stubs (Go's asm_arm.s and
//! internal/cpu/cpu_arm.go). linux/arm runs in ARM state, windows/arm is Thumb-2 only: the code
//! below is written in the unified syntax both accept. What differs per OS is written by the
//! OS×arch file under `src/sys/<os>/arm.rs` as macros these functions expand (Go's `load_g` /
//! `save_g` in tls_arm.s and the `GOOS_windows` blocks):
//!
//! - `g_slot!(r, t)`: leaves the address of the current g's TLS slot in register `r` (`t` is
//!   scratch): linux TPIDRURO (= &m.tls), windows a TlsAlloc slot of the TEB.
//! - `stack_switched!(g, t, u)`: after a switch onto g's stack, tells the OS about it (windows
//!   keeps the TEB's stack bounds in step; nothing on linux); `t` and `u` are scratch.
//! - `code_addr!(r)`: makes the code address in `r` one `bx` can jump to (Thumb: bit 0 set).
//! - `os_naked_asm!`: `naked_asm!` plus the operands those macros name.
//!
//! getg itself belongs to the TLS mechanism and lives with it (`crate::sys::getg`, re-exported
//! by arch/mod.rs); gostartcall and getsp are shared with arm64 (arch/lr.rs).
//!
//! Switch protocol: a goroutine gives up the CPU only through `mcall`, which saves the AAPCS
//! callee-saved registers (r4-r11, lr, d8-d15; r12 as padding for 8-byte alignment) on the
//! goroutine's own stack and saves sp/pc in `g.sched`; `gogo` restores sp and jumps to pc, whose
//! code pops them again. `gogo` also loads lr = goexit+4 before jumping: a fresh goroutine's
//! entry function (started at `sched.pc` with `sched.ctx` in r0) thus returns into goexit (which
//! starts with a 4-byte nop so that goexit+4 is an instruction of it in both states; a Thumb
//! symbol's address carries bit 0 already), and a resumed goroutine overwrites lr from its saved
//! frame. FPSCR is not saved: gort never changes it.

use core::arch::naked_asm;

use crate::gmp::{Gobuf, G};
use crate::offsets::*;
use crate::sys::{code_addr, g_slot, os_naked_asm, stack_switched};

/// Restores the context in `buf` (sp, pc, g) and jumps there; never returns (Go's gogo).
///
/// # Safety
/// `buf` must hold a context saved by `mcall` or prepared by `newproc`, of a g that may run now
/// on this M.
#[unsafe(naked)]
pub unsafe extern "C" fn gogo(buf: *const Gobuf) -> ! {
    os_naked_asm!(
        "ldr r1, [r0, #{gobuf_g}]",
        g_slot!("r2", "r3"),
        "str r1, [r2]",                        // setg(buf.g)
        stack_switched!("r1", "r2", "r3"),
        "ldr r2, [r0, #{gobuf_sp}]",
        "mov sp, r2",                          // restore SP
        "ldr r1, [r0, #{gobuf_pc}]",
        "movw lr, #:lower16:{goexit}",         // lr = goexit+4 for a fresh g (a resumed g
        "movt lr, #:upper16:{goexit}",         // reloads lr from its mcall frame)
        "add lr, lr, #4",
        "mov r11, #0",
        "ldr r0, [r0, #{gobuf_ctx}]",          // a fresh g's entry takes ctx as its argument
        "bx r1",
        // The end of gogo, for `in_gogo` (a global label: the preemption check names it).
        concat!(".globl ", gogo_end_label!()),
        concat!(gogo_end_label!(), ":"),
        gobuf_g = const GOBUF_G,
        gobuf_sp = const GOBUF_SP,
        gobuf_pc = const GOBUF_PC,
        gobuf_ctx = const GOBUF_CTX,
        goexit = sym goexit,
    )
}

/// Saves the current goroutine's context in g.sched, switches to g0's stack and calls
/// `f(gp)` (Go's mcall); `gogo(&gp.sched)` later resumes after the mcall. `f` may return the
/// context to switch to, which mcall then enters with `gogo` (a branch, not a call): see the
/// amd64 mcall for why (the return-address predictor).
///
/// # Safety
/// Must be called on a user goroutine (not g0) with a valid M; `f` must end in gogo or schedule,
/// or return a context `gogo` may resume (as its own safety contract says).
#[unsafe(naked)]
pub unsafe extern "C" fn mcall(f: unsafe extern "C" fn(*mut G) -> *const Gobuf) {
    os_naked_asm!(
        "push {{r4-r12, lr}}",                 // callee-saved registers stay on g's stack
        "vpush {{d8-d15}}",                    // (r12 only pads the frame to 8 bytes: 104)
        g_slot!("r3", "r12"),
        "ldr r1, [r3]",                        // r1 = g
        "ldr r2, [r1, #{g_m}]",
        "ldr r2, [r2, #{m_g0}]",               // r2 = g.m.g0
        "cmp r2, r1",
        "beq 3f",                              // mcall on g0 is a runtime bug
        "str r2, [r3]",                        // setg(g0) first: a preemption signal from here on sees g0 and declines (preempt.rs)
        "mov r12, sp",
        "str r12, [r1, #{g_sched_sp}]",        // g.sched.sp = SP
        "adr r12, 2f",
        code_addr!("r12"),
        "str r12, [r1, #{g_sched_pc}]",        // g.sched.pc = resume label
        "str r1, [r1, #{g_sched_g}]",          // g.sched.g = g
        stack_switched!("r2", "r3", "r4"),     // (r4 is saved above)
        "ldr r4, [r2, #{g_sched_sp}]",
        "mov sp, r4",                          // SP = g0.sched.sp (16-aligned)
        "mov r2, r0",
        "mov r0, r1",                          // f(g)
        "mov r11, #0",
        "blx r2",
        "b {gogo}",                            // f returned the context to run: gogo(it), r0 = it
        ".p2align 2",
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
        gogo = sym gogo,
    )
}

/// Runs `f(arg)` on the M's g0 stack and returns (Go's systemstack). Called on g0 it just calls.
///
/// # Safety
/// `f` must not park, mcall or switch goroutines.
#[unsafe(naked)]
pub unsafe extern "C" fn systemstack(f: unsafe extern "C" fn(usize), arg: usize) {
    os_naked_asm!(
        "push {{r4, r5, r6, r7, r8, lr}}",
        g_slot!("r6", "r7"),                   // r6 = &g slot (this thread's, kept across f)
        "ldr r5, [r6]",                        // r5 = g
        "ldr r12, [r5, #{g_m}]",
        "ldr r12, [r12, #{m_g0}]",             // r12 = g0
        "cmp r5, r12",
        "beq 2f",
        "mov r4, sp",                          // old SP
        "str r12, [r6]",                       // setg(g0)
        stack_switched!("r12", "r7", "r8"),
        "ldr r8, [r12, #{g_sched_sp}]",
        "mov sp, r8",
        "mov r2, r0",
        "mov r0, r1",
        "blx r2",
        "str r5, [r6]",                        // setg(old g)
        stack_switched!("r5", "r7", "r8"),
        "mov sp, r4",
        "pop {{r4, r5, r6, r7, r8, pc}}",
        "2:",
        "mov r2, r0",                          // already on g0: call f(arg)
        "mov r0, r1",
        "blx r2",
        "pop {{r4, r5, r6, r7, r8, pc}}",
        g_m = const G_M,
        m_g0 = const M_G0,
        g_sched_sp = const G_SCHED_SP,
    )
}

/// Where a goroutine's entry function returns to: finishes the goroutine (Go's goexit).
///
/// # Safety
/// Only reached by a return from a goroutine entry function that `newproc` set up
/// (lr = goexit+4).
#[unsafe(naked)]
pub unsafe extern "C" fn goexit() {
    naked_asm!(
        "nop.w",                               // 4 bytes in both states: goexit+4 is inside
        "mov r0, sp",
        "bic r0, r0, #7",
        "mov sp, r0",
        "bl {goexit1}",
        "udf #0",
        goexit1 = sym crate::proc::goexit1,
    )
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
        super::fmt_flags(
            f,
            &["vfp", "vfpv3", "vfpv4", "neon", "idiva", "aes", "pmull", "sha1", "sha2", "crc32"],
            &[
                self.vfp, self.vfpv3, self.vfpv4, self.neon, self.idiva, self.aes, self.pmull, self.sha1, self.sha2,
                self.crc32,
            ],
        )
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
/// A pc inside the calling function (inlined into it): `go`'s record of where a goroutine was
/// created (Go's gopc).
#[inline(always)]
pub fn pc_here() -> usize {
    let pc: usize;
    // SAFETY: reads the pc into a register; no memory, stack or flags touched.
    unsafe { core::arch::asm!("adr {}, .", out(reg) pc, options(nomem, nostack, preserves_flags)) };
    pc
}

pub const GOARCH: &str = "arm";

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
