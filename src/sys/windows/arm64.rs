//! windows/arm64: the TLS mechanism (a TlsAlloc slot of the TEB, which x18 points at), the
//! pieces of the context switches that differ on windows (the TEB's stack bounds), the thread
//! start routine and the exception CONTEXT layout (Go's sys_windows_arm64.s and the
//! `GOOS_windows` parts of asm_arm64.s and tls_arm64.h). The switch functions themselves are
//! arch/arm64.rs; they expand the macros below. AAPCS64 and the windows arm64 ABI agree on x0-x7,
//! x19-x28, fp, lr and d8-d15, so only TLS, the TEB and the trampolines differ.
//!
//! TLS: rt0 allocates one slot with TlsAlloc (one of the 64 inline slots) and stores its TEB
//! offset, `0x1480 + 8*slot`, in `runtime_tls_g` (windows/mod.rs); `getg` is
//! `ldr g, [x18, tls_g]`. Every switch onto another stack writes StackBase = hi, StackLimit = lo
//! and DeallocationStack = lo - STACK_GUARD into the TEB.

use core::arch::{asm, naked_asm};

use super::os_naked_asm;
use core::sync::atomic::Ordering;

use super::TLS_G;
use crate::gmp::G;
use crate::offsets::*;

/// Name of the TLS mechanism, for boottrace.
pub const TLS_MECHANISM: &str = "TlsAlloc slot in the TEB, getg = ldr [x18, #0x1480+8*slot]";

/// Returns the current g from the TLS slot (Go's getg).
#[inline(always)]
pub fn getg() -> *mut G {
    let off = TLS_G.load(Ordering::Relaxed);
    let gp: *mut G;
    // SAFETY: x18 is this thread's TEB; `off` is our TLS slot, set before any Rust runs.
    unsafe { asm!("ldr {}, [x18, {}]", out(reg) gp, in(reg) off, options(nostack, readonly, preserves_flags)) };
    gp
}

/// Whether a register may hold an address derived from this thread's thread pointer at `pc`
/// (asynchronous preemption declines there: resumed on another thread, the goroutine would use
/// the old thread's TLS slot; preempt.rs `async_safe_point`). x18 is the TEB; g_slot adds the slot offset to it (`add Xd, x18, Xm`) and `teb()` copies it
/// (`mov Xd, x18`); a load relative to x18 itself is one instruction and safe (the resume keeps
/// the current thread's x18).
///
/// # Safety
/// `pc` is an interrupted instruction's address in mapped code.
pub unsafe fn thread_pointer_live(pc: usize) -> bool {
    // SAFETY: as the contract.
    unsafe {
        crate::preempt::read_recently(
            pc,
            4,
            |w| w & 0xffe0_ffe0 == 0x8b00_0240 || w & 0xffff_ffe0 == 0xaa12_03e0,
            super::code_mapped,
        )
    }
}

/// This thread's TEB.
pub(super) fn teb() -> usize {
    let teb: usize;
    // SAFETY: reads x18, the TEB pointer.
    unsafe { asm!("mov {}, x18", out(reg) teb, options(nomem, nostack, preserves_flags)) };
    teb
}

/// Assembly that leaves the address of the current g's TLS slot in register `$r` (`$t` is
/// scratch): x18 (the TEB) + runtime_tls_g.
macro_rules! g_slot {
    ($r:literal, $t:literal) => {
        concat!("adrp ", $t, ", {tls_g}\n", "ldr ", $t, ", [", $t, ", :lo12:{tls_g}]\n", "add ", $r, ", x18, ", $t)
    };
}
/// Assembly that points the TEB's stack fields at the stack of the g in register `$g` (`$t` is
/// scratch).
#[rustfmt::skip]
macro_rules! stack_switched {
    ($g:literal, $t:literal) => {
        concat!(
            "ldr ", $t, ", [", $g, ", #{g_stack_hi}]\n",
            "str ", $t, ", [x18, #{teb_base}]\n",
            "ldr ", $t, ", [", $g, ", #{g_stack_lo}]\n",
            "str ", $t, ", [x18, #{teb_limit}]\n",
            "sub ", $t, ", ", $t, ", #{guard}\n",
            "str ", $t, ", [x18, #{teb_dealloc}]"
        )
    };
}
/// Loads the address of symbol operand `$s` into register `$r` (COFF takes the ELF syntax).
macro_rules! adr_sym {
    ($r:literal, $s:literal) => {
        concat!("adrp ", $r, ", ", $s, "\n", "add ", $r, ", ", $r, ", :lo12:", $s)
    };
}
pub(crate) use {adr_sym, g_slot, stack_switched};

/// Entry of every thread newosproc creates (CreateThread start routine, x0 = mp): saves the OS
/// stack bounds in `mp.tls[1..4]`, installs g0, moves onto g0's stack (and tells the TEB), calls
/// mstart.
///
/// # Safety
/// Only CreateThread calls it, with a fully initialised M whose g0 has a stack.
#[unsafe(naked)]
pub unsafe extern "system" fn tstart(mp: *mut crate::gmp::M) -> u32 {
    os_naked_asm!(
        "ldr x1, [x0, #{m_g0}]",              // x1 = g0
        g_slot!("x9", "x10"),
        "str x1, [x9]",                       // setg(g0)
        "ldr x10, [x18, #{teb_base}]",        // the OS's stack, for exit_thread
        "str x10, [x0, #{m_tls1}]",
        "ldr x10, [x18, #{teb_limit}]",
        "str x10, [x0, #{m_tls2}]",
        "ldr x10, [x18, #{teb_dealloc}]",
        "str x10, [x0, #{m_tls3}]",
        stack_switched!("x1", "x10"),         // TEB = g0's stack
        "ldr x10, [x1, #{g_stack_hi}]",
        "mov sp, x10",                        // SP = g0.stack.hi
        "mov x29, xzr",
        "bl {mstart}",
        "brk #0",
        m_g0 = const M_G0,
        m_tls1 = const M_TLS + 8,
        m_tls2 = const M_TLS + 16,
        m_tls3 = const M_TLS + 24,
        mstart = sym crate::proc::mstart,
    )
}

/// Calls `f(arg)` on the stack whose top is `sp` (the exception handler moves to gsignal's
/// stack with it). Never returns.
///
/// # Safety
/// `sp` must be the top of a free, writable stack; `f` must not return.
#[unsafe(naked)]
pub unsafe extern "C" fn call_on_stack(f: unsafe extern "C" fn(usize) -> !, arg: usize, sp: usize) -> ! {
    naked_asm!("and x2, x2, #-16", "mov sp, x2", "mov x9, x0", "mov x0, x1", "mov x29, xzr", "blr x9", "brk #0")
}

/// Program counter and stack pointer from an exception's CONTEXT record (ARM64 layout).
///
/// # Safety
/// `ctx` must be the CONTEXT the exception dispatcher passed to a vectored handler.
pub unsafe fn context_pc_sp(ctx: *const u8) -> (usize, usize) {
    // SAFETY: ARM64 CONTEXT: Sp at 0x100, Pc at 0x108.
    unsafe { (*((ctx as usize + 0x108) as *const usize), *((ctx as usize + 0x100) as *const usize)) }
}
