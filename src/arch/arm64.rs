//! arm64 (aarch64): context switches (gogo, mcall, systemstack), the goroutine trampoline
//! (goexit) and CPU features (Go's asm_arm64.s and internal/cpu/cpu_arm64.go). The same code
//! serves every OS: what differs per OS is written by the OS×arch file under
//! `src/sys/<os>/arm64.rs` as macros these functions expand (Go's go_tls.h `load_g`/`save_g` and
//! the `GOOS_windows` blocks of asm_arm64.s):
//!
//! - `g_slot!(r, t)`: leaves the address of the current g's TLS slot in register `r` (`t` is
//!   scratch): linux `tpidr_el0` (= &m.tls), darwin the TSD slot found by rt0's tlsinit,
//!   windows a TlsAlloc slot of the TEB (x18).
//! - `stack_switched!(g, t)`: after a switch onto g's stack, tells the OS about it (windows keeps
//!   the TEB's stack bounds in step; nothing elsewhere); `t` is scratch.
//! - `adr_sym!(r, s)`: the address of a symbol operand (ELF/COFF vs Mach-O relocation syntax).
//! - `os_naked_asm!`: `naked_asm!` plus the operands those macros name.
//!
//! getg itself belongs to the TLS mechanism and lives with it (`crate::sys::getg`, re-exported
//! by arch/mod.rs); gostartcall and getsp are shared with arm (arch/lr.rs). x18 is never used
//! here (darwin and windows reserve it).
//!
//! Switch protocol: a goroutine gives up the CPU only through `mcall`, which saves the AAPCS64
//! callee-saved registers (x19-x29, lr, d8-d15) on the goroutine's own stack and saves sp/pc in
//! `g.sched`; `gogo` restores sp and jumps to pc, whose code pops them again. `gogo` also loads
//! lr = goexit+4 before jumping: a fresh goroutine's entry function (started at `sched.pc` with
//! `sched.ctx` in x0) thus returns into goexit, and a resumed goroutine overwrites lr from its
//! saved frame. AAPCS64 and the windows arm64 ABI agree on all of these. FPCR is not saved:
//! gort never changes it.

use core::arch::naked_asm;

use crate::gmp::{Gobuf, G};
use crate::offsets::*;
use crate::sys::{adr_sym, g_slot, os_naked_asm, stack_switched};

/// Restores the context in `buf` (sp, pc, g) and jumps there; never returns (Go's gogo).
///
/// # Safety
/// `buf` must hold a context saved by `mcall` or prepared by `newproc`, of a g that may run now
/// on this M.
#[unsafe(naked)]
pub unsafe extern "C" fn gogo(buf: *const Gobuf) -> ! {
    os_naked_asm!(
        "ldr x1, [x0, #{gobuf_g}]",
        g_slot!("x2", "x3"),
        "str x1, [x2]",                       // setg(buf.g)
        stack_switched!("x1", "x3"),
        "ldr x3, [x0, #{gobuf_sp}]",
        "mov sp, x3",                         // restore SP
        "ldr x4, [x0, #{gobuf_pc}]",
        adr_sym!("x30", "{goexit}"),          // lr = goexit+4 for a fresh g (a resumed g
                                              // reloads lr from its mcall frame)
        "add x30, x30, #4",
        "mov x29, xzr",
        "ldr x0, [x0, #{gobuf_ctx}]",         // a fresh g's entry takes ctx as its argument
        "br x4",
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
        "sub sp, sp, #160",                   // callee-saved registers stay on g's stack
        "stp x19, x20, [sp, #0]",
        "stp x21, x22, [sp, #16]",
        "stp x23, x24, [sp, #32]",
        "stp x25, x26, [sp, #48]",
        "stp x27, x28, [sp, #64]",
        "stp x29, x30, [sp, #80]",
        "stp d8, d9, [sp, #96]",
        "stp d10, d11, [sp, #112]",
        "stp d12, d13, [sp, #128]",
        "stp d14, d15, [sp, #144]",
        g_slot!("x9", "x10"),
        "ldr x1, [x9]",                       // x1 = g
        "ldr x10, [x1, #{g_m}]",
        "ldr x11, [x10, #{m_g0}]",            // x11 = g.m.g0
        "cmp x11, x1",
        "b.eq 3f",                            // mcall on g0 is a runtime bug
        "str x11, [x9]",                      // setg(g0) first: a preemption signal from here on sees g0 and declines (preempt.rs)
        "mov x10, sp",
        "str x10, [x1, #{g_sched_sp}]",       // g.sched.sp = SP
        "adr x10, 2f",
        "str x10, [x1, #{g_sched_pc}]",       // g.sched.pc = resume label
        "str x1, [x1, #{g_sched_g}]",         // g.sched.g = g
        stack_switched!("x11", "x10"),
        "ldr x10, [x11, #{g_sched_sp}]",
        "mov sp, x10",                        // SP = g0.sched.sp (16-aligned)
        "mov x12, x0",
        "mov x0, x1",                         // f(g)
        "mov x29, xzr",
        "blr x12",
        "b {gogo}",                           // f returned the context to run: gogo(it), x0 = it
        "2:",
        "ldp x19, x20, [sp, #0]",             // resumed by gogo(&g.sched)
        "ldp x21, x22, [sp, #16]",
        "ldp x23, x24, [sp, #32]",
        "ldp x25, x26, [sp, #48]",
        "ldp x27, x28, [sp, #64]",
        "ldp x29, x30, [sp, #80]",
        "ldp d8, d9, [sp, #96]",
        "ldp d10, d11, [sp, #112]",
        "ldp d12, d13, [sp, #128]",
        "ldp d14, d15, [sp, #144]",
        "add sp, sp, #160",
        "ret",
        "3:",
        "bl {badmcall}",
        "brk #0",
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
        g_slot!("x9", "x10"),
        "ldr x10, [x9]",                      // x10 = g
        "ldr x11, [x10, #{g_m}]",
        "ldr x11, [x11, #{m_g0}]",            // x11 = g0
        "cmp x10, x11",
        "b.eq 2f",
        "stp x29, x30, [sp, #-32]!",
        "stp x19, x20, [sp, #16]",
        "mov x29, sp",
        "mov x19, sp",                        // old SP in callee-saved x19
        "mov x20, x10",                       // old g in callee-saved x20
        "str x11, [x9]",                      // setg(g0)
        stack_switched!("x11", "x12"),
        "ldr x12, [x11, #{g_sched_sp}]",
        "mov sp, x12",
        "mov x12, x0",
        "mov x0, x1",
        "blr x12",
        g_slot!("x9", "x10"),
        "str x20, [x9]",                      // setg(old g)
        stack_switched!("x20", "x12"),
        "mov sp, x19",
        "ldp x19, x20, [sp, #16]",
        "ldp x29, x30, [sp], #32",
        "ret",
        "2:",
        "mov x12, x0",                        // already on g0: tail-call f(arg)
        "mov x0, x1",
        "br x12",
        g_m = const G_M,
        m_g0 = const M_G0,
        g_sched_sp = const G_SCHED_SP,
    )
}

/// Where a goroutine's entry function returns to: finishes the goroutine (Go's goexit).
///
/// # Safety
/// Only reached by `ret` from a goroutine entry function that `newproc` set up (lr = goexit+4).
#[unsafe(naked)]
pub unsafe extern "C" fn goexit() {
    naked_asm!(
        "nop",                                // so a return address of goexit+4 is inside it
        "mov x9, sp",
        "and x9, x9, #-16",
        "mov sp, x9",
        "bl {goexit1}",
        "brk #0",
        goexit1 = sym crate::proc::goexit1,
    )
}

/// CPU features found by `cpuinit` (Go's internal/cpu.ARM64), from AT_HWCAP.
#[derive(Clone, Copy, Default, Debug)]
pub struct CpuFeatures {
    /// AT_HWCAP as read (0 if unknown).
    pub hwcap: usize,
    /// Floating point.
    pub fp: bool,
    /// Advanced SIMD.
    pub asimd: bool,
    /// AES instructions (used by Go's aeshash).
    pub aes: bool,
    /// PMULL.
    pub pmull: bool,
    /// SHA1.
    pub sha1: bool,
    /// SHA2.
    pub sha2: bool,
    /// CRC32.
    pub crc32: bool,
    /// LSE atomics.
    pub atomics: bool,
}

impl core::fmt::Display for CpuFeatures {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "hwcap={:#x}", self.hwcap)?;
        super::fmt_flags(
            f,
            &["fp", "asimd", "aes", "pmull", "sha1", "sha2", "crc32", "atomics"],
            &[self.fp, self.asimd, self.aes, self.pmull, self.sha1, self.sha2, self.crc32, self.atomics],
        )
    }
}

/// Reads the CPU's features from AT_HWCAP (Go's cpuinit → internal/cpu.doinit).
pub fn cpuinit() -> CpuFeatures {
    let (h, _) = crate::sys::hwcaps();
    CpuFeatures {
        hwcap: h,
        fp: h & (1 << 0) != 0,
        asimd: h & (1 << 1) != 0,
        aes: h & (1 << 3) != 0,
        pmull: h & (1 << 4) != 0,
        sha1: h & (1 << 5) != 0,
        sha2: h & (1 << 6) != 0,
        crc32: h & (1 << 7) != 0,
        atomics: h & (1 << 8) != 0,
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

pub const GOARCH: &str = "arm64";
