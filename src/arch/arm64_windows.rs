//! windows/arm64: TLS through a TlsAlloc slot of the TEB (x18 points at the TEB on windows/arm64
//! and is reserved for it), context switches, and the TEB's stack bounds kept in step with the
//! stack that runs. Same register protocol as linux (AAPCS64 and the Windows arm64 ABI agree on
//! x0-x7, x19-x28, fp, lr and d8-d15); only TLS, the TEB and the trampolines differ.
//!
//! TLS: rt0 allocates one slot with TlsAlloc (one of the 64 inline slots) and stores its TEB
//! offset, `0x1480 + 8*slot`, in `runtime_tls_g`; `getg` is `ldr g, [x18, tls_g]`.
//! Every switch onto another stack writes StackBase = hi, StackLimit = lo and
//! DeallocationStack = lo - STACK_GUARD into the TEB, like amd64_windows.rs.

use core::arch::{asm, naked_asm};
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::gmp::{Gobuf, G};
use crate::offsets::*;
use crate::sys::STACK_GUARD;

/// Name of the TLS mechanism, for boottrace.
pub const TLS_MECHANISM: &str = "TlsAlloc slot in the TEB, getg = ldr [x18, #0x1480+8*slot]";

/// TEB offset of our TLS slot (`0x1480 + 8*slot`), written by rt0_go (Go's runtime·tls_g).
#[export_name = "runtime_tls_g"]
pub static TLS_G: AtomicUsize = AtomicUsize::new(0);

const TEB_STACKBASE: usize = 0x08;
const TEB_STACKLIMIT: usize = 0x10;
const TEB_DEALLOCATIONSTACK: usize = 0x1478;

/// Returns the current g from the TLS slot (Go's getg).
#[inline(always)]
pub fn getg() -> *mut G {
    let off = TLS_G.load(Ordering::Relaxed);
    let gp: *mut G;
    // SAFETY: x18 is this thread's TEB; `off` is our TLS slot, set before any Rust runs.
    unsafe { asm!("ldr {}, [x18, {}]", out(reg) gp, in(reg) off, options(nostack, readonly, preserves_flags)) };
    gp
}

/// Writes the TEB's stack fields (StackBase, StackLimit, DeallocationStack).
///
/// # Safety
/// The values must describe the stack this thread runs on (or the OS's own, when it exits).
pub unsafe fn teb_set_stack(base: usize, limit: usize, dealloc: usize) {
    // SAFETY: x18 is this thread's TEB; these are its documented 64-bit offsets.
    unsafe {
        asm!(
            "str {base}, [x18, #{b}]",
            "str {limit}, [x18, #{l}]",
            "str {dealloc}, [x18, #{d}]",
            base = in(reg) base, limit = in(reg) limit, dealloc = in(reg) dealloc,
            b = const TEB_STACKBASE, l = const TEB_STACKLIMIT, d = const TEB_DEALLOCATIONSTACK,
            options(nostack, preserves_flags)
        )
    };
}

/// Restores the context in `buf` (sp, pc, g) and jumps there; never returns (Go's gogo).
/// Also points the TEB at the g's stack.
///
/// # Safety
/// `buf` must hold a context saved by `mcall` or prepared by `newproc`, of a g that may run now
/// on this M.
#[unsafe(naked)]
pub unsafe extern "C" fn gogo(buf: *const Gobuf) -> ! {
    naked_asm!(
        "ldr x1, [x0, #{gobuf_g}]",
        "adrp x9, {tls_g}",
        "ldr x9, [x9, :lo12:{tls_g}]",
        "str x1, [x18, x9]",                  // setg(buf.g)
        "ldr x10, [x1, #{g_stack_hi}]",       // TEB = g's stack
        "str x10, [x18, #{teb_base}]",
        "ldr x10, [x1, #{g_stack_lo}]",
        "str x10, [x18, #{teb_limit}]",
        "sub x10, x10, #{guard}",
        "str x10, [x18, #{teb_dealloc}]",
        "ldr x3, [x0, #{gobuf_sp}]",
        "mov sp, x3",
        "ldr x4, [x0, #{gobuf_pc}]",
        "adrp x30, {goexit}",                 // lr = goexit+4 for a fresh g
        "add x30, x30, :lo12:{goexit}",
        "add x30, x30, #4",
        "mov x29, xzr",
        "ldr x0, [x0, #{gobuf_ctx}]",
        "br x4",
        gobuf_g = const GOBUF_G,
        gobuf_sp = const GOBUF_SP,
        gobuf_pc = const GOBUF_PC,
        gobuf_ctx = const GOBUF_CTX,
        g_stack_hi = const G_STACK_HI,
        g_stack_lo = const G_STACK_LO,
        teb_base = const TEB_STACKBASE,
        teb_limit = const TEB_STACKLIMIT,
        teb_dealloc = const TEB_DEALLOCATIONSTACK,
        guard = const STACK_GUARD,
        tls_g = sym TLS_G,
        goexit = sym super::goexit,
    )
}

/// Saves the current goroutine's context in g.sched, switches to g0's stack and calls
/// `f(gp)`, which must not return (Go's mcall).
///
/// # Safety
/// Must be called on a user goroutine (not g0) with a valid M; `f` must end in gogo or schedule.
#[unsafe(naked)]
pub unsafe extern "C" fn mcall(f: unsafe extern "C" fn(*mut G) -> !) {
    naked_asm!(
        "sub sp, sp, #160",
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
        "adrp x9, {tls_g}",
        "ldr x9, [x9, :lo12:{tls_g}]",
        "ldr x1, [x18, x9]",                  // x1 = g
        "mov x10, sp",
        "str x10, [x1, #{g_sched_sp}]",
        "adr x10, 2f",
        "str x10, [x1, #{g_sched_pc}]",
        "str x1, [x1, #{g_sched_g}]",
        "ldr x10, [x1, #{g_m}]",
        "ldr x11, [x10, #{m_g0}]",            // x11 = g.m.g0
        "cmp x11, x1",
        "b.eq 3f",
        "str x11, [x18, x9]",                 // setg(g0)
        "ldr x10, [x11, #{g_stack_hi}]",      // TEB = g0's stack
        "str x10, [x18, #{teb_base}]",
        "ldr x10, [x11, #{g_stack_lo}]",
        "str x10, [x18, #{teb_limit}]",
        "sub x10, x10, #{guard}",
        "str x10, [x18, #{teb_dealloc}]",
        "ldr x10, [x11, #{g_sched_sp}]",
        "mov sp, x10",
        "mov x12, x0",
        "mov x0, x1",
        "mov x29, xzr",
        "blr x12",
        "brk #0",
        "2:",
        "ldp x19, x20, [sp, #0]",
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
        g_stack_hi = const G_STACK_HI,
        g_stack_lo = const G_STACK_LO,
        teb_base = const TEB_STACKBASE,
        teb_limit = const TEB_STACKLIMIT,
        teb_dealloc = const TEB_DEALLOCATIONSTACK,
        guard = const STACK_GUARD,
        tls_g = sym TLS_G,
        badmcall = sym crate::proc::badmcall,
    )
}

/// Runs `f(arg)` on the M's g0 stack and returns (Go's systemstack). Called on g0 it just calls.
///
/// # Safety
/// `f` must not park, mcall or switch goroutines.
#[unsafe(naked)]
pub unsafe extern "C" fn systemstack(f: unsafe extern "C" fn(usize), arg: usize) {
    naked_asm!(
        "adrp x9, {tls_g}",
        "ldr x9, [x9, :lo12:{tls_g}]",
        "ldr x10, [x18, x9]",                 // x10 = g
        "ldr x11, [x10, #{g_m}]",
        "ldr x11, [x11, #{m_g0}]",            // x11 = g0
        "cmp x10, x11",
        "b.eq 2f",
        "stp x29, x30, [sp, #-32]!",
        "stp x19, x20, [sp, #16]",
        "mov x29, sp",
        "mov x19, sp",
        "mov x20, x10",
        "str x11, [x18, x9]",                 // setg(g0)
        "ldr x12, [x11, #{g_stack_hi}]",
        "str x12, [x18, #{teb_base}]",
        "ldr x12, [x11, #{g_stack_lo}]",
        "str x12, [x18, #{teb_limit}]",
        "sub x12, x12, #{guard}",
        "str x12, [x18, #{teb_dealloc}]",
        "ldr x12, [x11, #{g_sched_sp}]",
        "mov sp, x12",
        "mov x12, x0",
        "mov x0, x1",
        "blr x12",
        "adrp x9, {tls_g}",
        "ldr x9, [x9, :lo12:{tls_g}]",
        "str x20, [x18, x9]",                 // setg(old g)
        "ldr x12, [x20, #{g_stack_hi}]",
        "str x12, [x18, #{teb_base}]",
        "ldr x12, [x20, #{g_stack_lo}]",
        "str x12, [x18, #{teb_limit}]",
        "sub x12, x12, #{guard}",
        "str x12, [x18, #{teb_dealloc}]",
        "mov sp, x19",
        "ldp x19, x20, [sp, #16]",
        "ldp x29, x30, [sp], #32",
        "ret",
        "2:",
        "mov x12, x0",
        "mov x0, x1",
        "br x12",
        g_m = const G_M,
        m_g0 = const M_G0,
        g_sched_sp = const G_SCHED_SP,
        g_stack_hi = const G_STACK_HI,
        g_stack_lo = const G_STACK_LO,
        teb_base = const TEB_STACKBASE,
        teb_limit = const TEB_STACKLIMIT,
        teb_dealloc = const TEB_DEALLOCATIONSTACK,
        guard = const STACK_GUARD,
        tls_g = sym TLS_G,
    )
}

/// The address of this thread's TLS slot (for boottrace: where getg reads).
pub fn tls_base() -> usize {
    let teb: usize;
    // SAFETY: reads x18, the TEB pointer.
    unsafe { asm!("mov {}, x18", out(reg) teb, options(nomem, nostack, preserves_flags)) };
    teb + TLS_G.load(Ordering::Relaxed)
}

/// Entry of every thread newosproc creates (CreateThread start routine, x0 = mp): saves the OS
/// stack bounds in `mp.tls[1..4]`, installs g0, moves onto g0's stack (and tells the TEB), calls
/// mstart.
///
/// # Safety
/// Only CreateThread calls it, with a fully initialised M whose g0 has a stack.
#[unsafe(naked)]
pub unsafe extern "system" fn tstart(mp: *mut crate::gmp::M) -> u32 {
    naked_asm!(
        "ldr x1, [x0, #{m_g0}]",              // x1 = g0
        "adrp x9, {tls_g}",
        "ldr x9, [x9, :lo12:{tls_g}]",
        "str x1, [x18, x9]",                  // setg(g0)
        "ldr x10, [x18, #{teb_base}]",        // the OS's stack, for exit_thread
        "str x10, [x0, #{m_tls1}]",
        "ldr x10, [x18, #{teb_limit}]",
        "str x10, [x0, #{m_tls2}]",
        "ldr x10, [x18, #{teb_dealloc}]",
        "str x10, [x0, #{m_tls3}]",
        "ldr x10, [x1, #{g_stack_hi}]",
        "str x10, [x18, #{teb_base}]",
        "mov sp, x10",
        "ldr x10, [x1, #{g_stack_lo}]",
        "str x10, [x18, #{teb_limit}]",
        "sub x10, x10, #{guard}",
        "str x10, [x18, #{teb_dealloc}]",
        "mov x29, xzr",
        "bl {mstart}",
        "brk #0",
        m_g0 = const M_G0,
        m_tls1 = const M_TLS + 8,
        m_tls2 = const M_TLS + 16,
        m_tls3 = const M_TLS + 24,
        g_stack_hi = const G_STACK_HI,
        g_stack_lo = const G_STACK_LO,
        teb_base = const TEB_STACKBASE,
        teb_limit = const TEB_STACKLIMIT,
        teb_dealloc = const TEB_DEALLOCATIONSTACK,
        guard = const STACK_GUARD,
        tls_g = sym TLS_G,
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
