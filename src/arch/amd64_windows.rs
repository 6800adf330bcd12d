//! windows/amd64: TLS through a TlsAlloc slot, context switches in the Win64 world, and the
//! TEB's stack bounds kept in step with the stack that runs.
//!
//! TLS: rt0 allocates one slot with TlsAlloc (it must be one of the 64 inline slots) and stores
//! its TEB offset, `0x1480 + 8*slot`, in `runtime_tls_g` (Go's runtime·tls_g). The slot holds the
//! current g, so `getg` is `mov reg, gs:[tls_g]`.
//!
//! The switch functions keep linux's register protocol by being `extern "sysv64"` (a Win64 caller
//! saves rdi, rsi and xmm6-15 around them itself, so mcall pushes only rbx, rbp, r12-r15); the
//! Rust functions they call (`extern "C"` = Win64 here) get their argument in rcx and a 32-byte
//! shadow space. Every switch onto another stack writes that stack's bounds into the TEB
//! (StackBase = hi, StackLimit = lo, DeallocationStack = lo - STACK_GUARD): Windows, wine and
//! stack probes judge faults and exception frames by these fields.

use core::arch::{asm, naked_asm};
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::gmp::{Gobuf, G};
use crate::offsets::*;
use crate::sys::STACK_GUARD;

/// Name of the TLS mechanism, for boottrace.
pub const TLS_MECHANISM: &str = "TlsAlloc slot in the TEB, getg = mov gs:[0x1480+8*slot]";

/// TEB offset of our TLS slot (`0x1480 + 8*slot`), written by rt0_go (Go's runtime·tls_g).
#[export_name = "runtime_tls_g"]
pub static TLS_G: AtomicUsize = AtomicUsize::new(0);

/// Offsets in the x64 TEB (NT_TIB and beyond).
const TEB_STACKBASE: usize = 0x08;
const TEB_STACKLIMIT: usize = 0x10;
const TEB_SELF: usize = 0x30;
const TEB_DEALLOCATIONSTACK: usize = 0x1478;

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

/// Writes the TEB's stack fields (StackBase, StackLimit, DeallocationStack).
///
/// # Safety
/// The values must describe the stack this thread runs on (or the OS's own, when it exits).
pub unsafe fn teb_set_stack(base: usize, limit: usize, dealloc: usize) {
    // SAFETY: gs is this thread's TEB; these are its documented x64 offsets.
    unsafe {
        asm!(
            "mov qword ptr gs:[{b}], {base}",
            "mov qword ptr gs:[{l}], {limit}",
            "mov qword ptr gs:[{d}], {dealloc}",
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
pub unsafe extern "sysv64" fn gogo(buf: *const Gobuf) -> ! {
    naked_asm!(
        "mov rdx, qword ptr [rdi + {gobuf_g}]",
        "mov r10, qword ptr [rip + {tls_g}]",
        "mov qword ptr gs:[r10], rdx",            // setg(buf.g)
        "mov r11, qword ptr [rdx + {g_stack_hi}]", // TEB = g's stack
        "mov qword ptr gs:[{teb_base}], r11",
        "mov r11, qword ptr [rdx + {g_stack_lo}]",
        "mov qword ptr gs:[{teb_limit}], r11",
        "sub r11, {guard}",
        "mov qword ptr gs:[{teb_dealloc}], r11",
        "mov rsp, qword ptr [rdi + {gobuf_sp}]",   // restore SP
        "mov rax, qword ptr [rdi + {gobuf_pc}]",
        "mov rcx, qword ptr [rdi + {gobuf_ctx}]",  // a fresh g's entry (Win64) takes ctx in rcx
        "mov rdi, rcx",
        "jmp rax",
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
    )
}

/// Saves the current goroutine's context in g.sched, switches to g0's stack and calls
/// `f(gp)`, which must not return; `gogo(&gp.sched)` later resumes after the mcall (Go's mcall).
///
/// # Safety
/// Must be called on a user goroutine (not g0) with a valid M; `f` must end in gogo or schedule.
#[unsafe(naked)]
pub unsafe extern "sysv64" fn mcall(f: unsafe extern "C" fn(*mut G) -> !) {
    naked_asm!(
        "push rbp",                               // sysv64 callee-saved registers stay on g's stack
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov r10, qword ptr [rip + {tls_g}]",
        "mov rax, qword ptr gs:[r10]",            // rax = g
        "mov qword ptr [rax + {g_sched_sp}], rsp",
        "lea rcx, [rip + 2f]",
        "mov qword ptr [rax + {g_sched_pc}], rcx",
        "mov qword ptr [rax + {g_sched_g}], rax",
        "mov rcx, qword ptr [rax + {g_m}]",
        "mov rdx, qword ptr [rcx + {m_g0}]",       // rdx = g.m.g0
        "cmp rdx, rax",
        "je 3f",
        "mov qword ptr gs:[r10], rdx",            // setg(g0)
        "mov r11, qword ptr [rdx + {g_stack_hi}]", // TEB = g0's stack
        "mov qword ptr gs:[{teb_base}], r11",
        "mov r11, qword ptr [rdx + {g_stack_lo}]",
        "mov qword ptr gs:[{teb_limit}], r11",
        "sub r11, {guard}",
        "mov qword ptr gs:[{teb_dealloc}], r11",
        "mov rsp, qword ptr [rdx + {g_sched_sp}]", // SP = g0.sched.sp (16-aligned)
        "sub rsp, 32",                            // shadow space
        "mov rsi, rdi",
        "mov rcx, rax",                           // f(g): Win64 argument
        "mov rdi, rax",
        "call rsi",
        "ud2",
        "2:",
        "pop r15",                                // resumed by gogo(&g.sched)
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
        "3:",
        "and rsp, -16",
        "sub rsp, 32",
        "call {badmcall}",
        "ud2",
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
pub unsafe extern "sysv64" fn systemstack(f: unsafe extern "C" fn(usize), arg: usize) {
    naked_asm!(
        "mov r10, qword ptr [rip + {tls_g}]",
        "mov rax, qword ptr gs:[r10]",
        "mov rcx, qword ptr [rax + {g_m}]",
        "mov rdx, qword ptr [rcx + {m_g0}]",
        "cmp rax, rdx",
        "je 2f",
        "push rbp",
        "push rbx",
        "mov rbp, rsp",                           // old SP in callee-saved rbp
        "mov rbx, rax",                           // old g in callee-saved rbx
        "mov qword ptr gs:[r10], rdx",            // setg(g0)
        "mov r11, qword ptr [rdx + {g_stack_hi}]",
        "mov qword ptr gs:[{teb_base}], r11",
        "mov r11, qword ptr [rdx + {g_stack_lo}]",
        "mov qword ptr gs:[{teb_limit}], r11",
        "sub r11, {guard}",
        "mov qword ptr gs:[{teb_dealloc}], r11",
        "mov rsp, qword ptr [rdx + {g_sched_sp}]",
        "sub rsp, 32",
        "mov rax, rdi",
        "mov rcx, rsi",
        "call rax",
        "mov r10, qword ptr [rip + {tls_g}]",
        "mov qword ptr gs:[r10], rbx",            // setg(old g)
        "mov r11, qword ptr [rbx + {g_stack_hi}]", // TEB = old g's stack
        "mov qword ptr gs:[{teb_base}], r11",
        "mov r11, qword ptr [rbx + {g_stack_lo}]",
        "mov qword ptr gs:[{teb_limit}], r11",
        "sub r11, {guard}",
        "mov qword ptr gs:[{teb_dealloc}], r11",
        "mov rsp, rbp",
        "pop rbx",
        "pop rbp",
        "ret",
        "2:",
        "sub rsp, 40",                            // already on g0: align + shadow space
        "mov rax, rdi",
        "mov rcx, rsi",
        "call rax",
        "add rsp, 40",
        "ret",
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

/// Where a goroutine's entry function returns to: finishes the goroutine (Go's goexit).
///
/// # Safety
/// Only reached by `ret` from a goroutine entry function that `newproc` set up.
#[unsafe(naked)]
pub unsafe extern "C" fn goexit() {
    naked_asm!(
        "nop",                                    // so a return address of goexit+1 is inside it
        "and rsp, -16",
        "sub rsp, 32",
        "call {goexit1}",
        "ud2",
        goexit1 = sym crate::proc::goexit1,
    )
}

/// Prepares `buf` so that `gogo(buf)` calls `entry(ctx)` on the stack `[.., hi)` and `entry`
/// returns into `goexit` (Go's gostartcallfn). Leaves the Win64 shadow space above the return
/// address.
///
/// # Safety
/// `hi` must be the 16-aligned top of a writable stack with at least 48 bytes (the return address
/// and the entry function's 32-byte Win64 shadow space, SP+8 16-aligned at entry).
pub unsafe fn gostartcall(buf: &mut Gobuf, hi: usize, entry: usize, ctx: usize) {
    let sp = hi - 40; // (sp + 8) % 16 == 0 at entry; [sp+8, sp+40) is the shadow space
                      // SAFETY: sp is within the stack's top reserve.
    unsafe { (sp as *mut usize).write(goexit as *const () as usize + 1) };
    buf.sp = sp;
    buf.pc = entry;
    buf.ctx = ctx;
}

/// The address of this thread's TLS slot (for boottrace: where getg reads).
pub fn tls_base() -> usize {
    let teb: usize;
    // SAFETY: gs:[0x30] is the TEB's own address (NT_TIB.Self).
    unsafe {
        asm!("mov {}, qword ptr gs:[{}]", out(reg) teb, const TEB_SELF, options(nostack, readonly, preserves_flags))
    };
    teb + TLS_G.load(Ordering::Relaxed)
}

/// Entry of every thread newosproc creates (a CreateThread start routine, Win64: rcx = mp):
/// saves the OS stack bounds in `mp.tls[1..4]`, installs g0 in the TLS slot, moves onto g0's stack
/// (and tells the TEB), and calls `mstart`, which never returns.
///
/// # Safety
/// Only CreateThread calls it, with a fully initialised M whose g0 has a stack.
#[unsafe(naked)]
pub unsafe extern "system" fn tstart(mp: *mut crate::gmp::M) -> u32 {
    naked_asm!(
        "mov rax, qword ptr [rcx + {m_g0}]",      // rax = g0
        "mov r10, qword ptr [rip + {tls_g}]",
        "mov qword ptr gs:[r10], rax",            // setg(g0)
        "mov rdx, qword ptr gs:[{teb_base}]",     // the OS's stack, for exit_thread
        "mov qword ptr [rcx + {m_tls} + 8], rdx",
        "mov rdx, qword ptr gs:[{teb_limit}]",
        "mov qword ptr [rcx + {m_tls} + 16], rdx",
        "mov rdx, qword ptr gs:[{teb_dealloc}]",
        "mov qword ptr [rcx + {m_tls} + 24], rdx",
        "mov r11, qword ptr [rax + {g_stack_hi}]", // TEB = g0's stack
        "mov qword ptr gs:[{teb_base}], r11",
        "mov rsp, r11",                           // SP = g0.stack.hi (page-aligned)
        "mov r11, qword ptr [rax + {g_stack_lo}]",
        "mov qword ptr gs:[{teb_limit}], r11",
        "sub r11, {guard}",
        "mov qword ptr gs:[{teb_dealloc}], r11",
        "xor ebp, ebp",
        "sub rsp, 32",
        "call {mstart}",
        "ud2",
        m_g0 = const M_G0,
        m_tls = const M_TLS,
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
