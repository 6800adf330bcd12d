//! windows/amd64: the TLS mechanism (a TlsAlloc slot of the TEB, read through gs), the pieces of
//! the context switches that differ on windows (the TEB's stack bounds, the Win64 C ABI), the
//! thread start routine and the exception CONTEXT layout (Go's sys_windows_amd64.s and the
//! `GOOS_windows` parts of asm_amd64.s and go_tls.h). The switch functions themselves are
//! arch/amd64.rs; they expand the macros below.
//!
//! TLS: rt0 allocates one slot with TlsAlloc (it must be one of the 64 inline slots) and stores
//! its TEB offset, `0x1480 + 8*slot`, in `runtime_tls_g` (windows/mod.rs); the slot holds the
//! current g, so `getg` is `mov reg, gs:[tls_g]`.
//!
//! The Rust functions the switch code calls (`extern "C"` = Win64 here) get their argument in rcx
//! and a 32-byte shadow space. Every switch onto another stack writes that stack's bounds into
//! the TEB (StackBase = hi, StackLimit = lo, DeallocationStack = lo - STACK_GUARD): Windows, wine
//! and stack probes judge faults and exception frames by these fields.

use core::arch::{asm, naked_asm};

use super::os_naked_asm;
use core::sync::atomic::Ordering;

use super::TLS_G;
use crate::gmp::G;
use crate::offsets::*;

/// Name of the TLS mechanism, for boottrace.
pub const TLS_MECHANISM: &str = "TlsAlloc slot in the TEB, getg = mov gs:[0x1480+8*slot]";

/// TEB offset of NT_TIB.Self, the TEB's own address.
const TEB_SELF: usize = 0x30;

/// Returns the current g from the TLS slot (Go's getg). Not `pure`: a goroutine may resume on
/// another thread after any park.
#[inline(always)]
pub fn getg() -> *mut G {
    let off = TLS_G.load(Ordering::Relaxed);
    let gp: *mut G;
    // SAFETY: gs points at this thread's TEB; `off` is our TLS slot, set before any Rust runs.
    unsafe { asm!("mov {}, qword ptr gs:[{}]", out(reg) gp, in(reg) off, options(nostack, readonly, preserves_flags)) };
    gp
}

/// Whether a register may hold an address derived from this thread's thread pointer at `pc`
/// (asynchronous preemption declines there: resumed on another thread, the goroutine would use
/// the old thread's TLS; preempt.rs `async_safe_point`). Never on x86-64: getg and the
/// assembly's g accesses are single instructions relative to the segment base.
pub fn thread_pointer_live(_pc: usize) -> bool {
    false
}

/// This thread's TEB.
pub(super) fn teb() -> usize {
    let teb: usize;
    // SAFETY: gs:[0x30] is the TEB's own address (NT_TIB.Self).
    unsafe {
        asm!("mov {}, qword ptr gs:[{}]", out(reg) teb, const TEB_SELF, options(nostack, readonly, preserves_flags))
    };
    teb
}

/// Assembly that loads the current g into register `$r` (uses r10).
macro_rules! load_g {
    ($r:literal) => {
        concat!("mov r10, qword ptr [rip + {tls_g}]\n", "mov ", $r, ", qword ptr gs:[r10]")
    };
}
/// Assembly that makes register `$r` the current g (uses r10).
macro_rules! save_g {
    ($r:literal) => {
        concat!("mov r10, qword ptr [rip + {tls_g}]\n", "mov qword ptr gs:[r10], ", $r)
    };
}
/// Assembly that points the TEB's stack fields at the stack of the g in register `$g` (uses r11).
#[rustfmt::skip]
macro_rules! stack_switched {
    ($g:literal) => {
        concat!(
            "mov r11, qword ptr [", $g, " + {g_stack_hi}]\n",
            "mov qword ptr gs:[{teb_base}], r11\n",
            "mov r11, qword ptr [", $g, " + {g_stack_lo}]\n",
            "mov qword ptr gs:[{teb_limit}], r11\n",
            "sub r11, {guard}\n",
            "mov qword ptr gs:[{teb_dealloc}], r11"
        )
    };
}
/// Win64: the 32 bytes a caller reserves above the return address for the callee.
macro_rules! shadow_space {
    () => {
        "sub rsp, 32"
    };
}
/// Win64: the register of a C function's first argument.
macro_rules! cabi_arg0 {
    () => {
        "rcx"
    };
}
/// Calls the C function in register `$r` as the last act of a frameless function: Win64 wants
/// an aligned frame with shadow space, so call it and return.
macro_rules! tail_call {
    ($r:literal) => {
        concat!("sub rsp, 40\n", "call ", $r, "\n", "add rsp, 40\n", "ret")
    };
}
pub(crate) use {cabi_arg0, load_g, save_g, shadow_space, stack_switched, tail_call};

/// Win64: bytes of shadow space gostartcall leaves above a fresh goroutine's return address.
pub const SHADOW_SPACE: usize = 32;

/// Entry of every thread newosproc creates (a CreateThread start routine, Win64: rcx = mp):
/// saves the OS stack bounds in `mp.tls[1..4]`, installs g0 in the TLS slot, moves onto g0's stack
/// (and tells the TEB), and calls `mstart`, which never returns.
///
/// # Safety
/// Only CreateThread calls it, with a fully initialised M whose g0 has a stack.
#[unsafe(naked)]
pub unsafe extern "system" fn tstart(mp: *mut crate::gmp::M) -> u32 {
    os_naked_asm!(
        "mov rax, qword ptr [rcx + {m_g0}]",      // rax = g0
        save_g!("rax"),                           // setg(g0)
        "mov rdx, qword ptr gs:[{teb_base}]",     // the OS's stack, for exit_thread
        "mov qword ptr [rcx + {m_tls} + 8], rdx",
        "mov rdx, qword ptr gs:[{teb_limit}]",
        "mov qword ptr [rcx + {m_tls} + 16], rdx",
        "mov rdx, qword ptr gs:[{teb_dealloc}]",
        "mov qword ptr [rcx + {m_tls} + 24], rdx",
        stack_switched!("rax"),                   // TEB = g0's stack
        "mov rsp, qword ptr [rax + {g_stack_hi}]", // SP = g0.stack.hi (page-aligned)
        "xor ebp, ebp",
        "sub rsp, 32",
        "call {mstart}",
        "ud2",
        m_g0 = const M_G0,
        m_tls = const M_TLS,
        mstart = sym crate::proc::mstart,
    )
}

/// Calls `f(arg)` on the stack whose top is `sp` (the exception handler moves to gsignal's
/// stack with it: the faulting stack may have no room left). Never returns.
///
/// # Safety
/// `sp` must be the top of a free, writable stack; `f` must not return.
#[unsafe(naked)]
pub unsafe extern "C" fn call_on_stack(f: unsafe extern "C" fn(usize) -> !, arg: usize, sp: usize) -> ! {
    naked_asm!("mov rsp, r8", "and rsp, -16", "sub rsp, 32", "mov rax, rcx", "mov rcx, rdx", "call rax", "ud2")
}

/// Program counter and stack pointer from an exception's CONTEXT record (x64 layout).
///
/// # Safety
/// `ctx` must be the CONTEXT the exception dispatcher passed to a vectored handler.
pub unsafe fn context_pc_sp(ctx: *const u8) -> (usize, usize) {
    // SAFETY: CONTEXT.Rsp is at 0x98 and CONTEXT.Rip at 0xF8 on x64.
    unsafe { (*((ctx as usize + 0xF8) as *const usize), *((ctx as usize + 0x98) as *const usize)) }
}
