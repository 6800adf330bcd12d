//! windows/arm (32-bit, Thumb-2 only): TLS through a TlsAlloc slot of the TEB (read with
//! `mrc p15, 0, r, c13, c0, 2`, TPIDRURW, which holds the TEB on windows/arm), context switches,
//! the TEB's stack bounds kept in step with the stack that runs, and the MSVC helper routines the
//! compiler calls on this target (integer division, u64 to float, half floats), which
//! compiler_builtins does not provide under these names.
//!
//! Same switch protocol as arm.rs (AAPCS callee-saved r4-r11, lr, d8-d15 saved by mcall on the
//! goroutine's stack), in Thumb-2: code addresses carry bit 0, and goexit starts with a 4-byte nop
//! so that lr = goexit+4 (as an odd Thumb address) lands inside it.

use core::arch::{asm, naked_asm};
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::gmp::{Gobuf, G};
use crate::offsets::*;
use crate::sys::STACK_GUARD;

/// Name of the TLS mechanism, for boottrace.
pub const TLS_MECHANISM: &str = "TlsAlloc slot in the TEB, getg = mrc p15,0,r,c13,c0,2; ldr [r, #0xe10+4*slot]";

/// TEB offset of our TLS slot (`0xe10 + 4*slot`), written by rt0_go (Go's runtime·tls_g).
#[export_name = "runtime_tls_g"]
pub static TLS_G: AtomicUsize = AtomicUsize::new(0);

const TEB_STACKBASE: usize = 0x04;
const TEB_STACKLIMIT: usize = 0x08;
const TEB_DEALLOCATIONSTACK: usize = 0xe0c;

/// Returns the current g from the TLS slot (Go's getg).
#[inline(always)]
pub fn getg() -> *mut G {
    let off = TLS_G.load(Ordering::Relaxed);
    let gp: *mut G;
    // SAFETY: TPIDRURW is this thread's TEB; `off` is our TLS slot, set before any Rust runs.
    unsafe {
        asm!("mrc p15, 0, {t}, c13, c0, 2", "ldr {g}, [{t}, {o}]", t = out(reg) _, g = lateout(reg) gp, o = in(reg) off,
            options(nostack, readonly, preserves_flags))
    };
    gp
}

/// Writes the TEB's stack fields (StackBase, StackLimit, DeallocationStack).
///
/// # Safety
/// The values must describe the stack this thread runs on (or the OS's own, when it exits).
pub unsafe fn teb_set_stack(base: usize, limit: usize, dealloc: usize) {
    // SAFETY: TPIDRURW is this thread's TEB; these are its documented 32-bit offsets.
    unsafe {
        asm!(
            "mrc p15, 0, {t}, c13, c0, 2",
            "str {base}, [{t}, #{b}]",
            "str {limit}, [{t}, #{l}]",
            "str {dealloc}, [{t}, #{d}]",
            t = out(reg) _, base = in(reg) base, limit = in(reg) limit, dealloc = in(reg) dealloc,
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
        "ldr r1, [r0, #{gobuf_g}]",
        "movw r2, #:lower16:{tls_g}",
        "movt r2, #:upper16:{tls_g}",
        "ldr r2, [r2]",
        "mrc p15, 0, r3, c13, c0, 2",          // r3 = TEB
        "str r1, [r3, r2]",                    // setg(buf.g)
        "ldr r2, [r1, #{g_stack_hi}]",         // TEB = g's stack
        "str r2, [r3, #{teb_base}]",
        "ldr r2, [r1, #{g_stack_lo}]",
        "str r2, [r3, #{teb_limit}]",
        "sub r2, r2, #{guard}",
        "str r2, [r3, #{teb_dealloc}]",
        "ldr r2, [r0, #{gobuf_sp}]",
        "mov sp, r2",
        "ldr r1, [r0, #{gobuf_pc}]",
        "movw lr, #:lower16:{goexit}",         // lr = goexit+4 (odd: Thumb) for a fresh g
        "movt lr, #:upper16:{goexit}",
        "adds lr, lr, #4",
        "movs r2, #0",
        "mov r11, r2",
        "ldr r0, [r0, #{gobuf_ctx}]",
        "bx r1",
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
        goexit = sym goexit,
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
        "push {{r4-r12, lr}}",                 // callee-saved registers stay on g's stack
        "vpush {{d8-d15}}",
        "movw r12, #:lower16:{tls_g}",
        "movt r12, #:upper16:{tls_g}",
        "ldr r12, [r12]",
        "mrc p15, 0, r3, c13, c0, 2",          // r3 = TEB
        "ldr r1, [r3, r12]",                   // r1 = g
        "mov r2, sp",
        "str r2, [r1, #{g_sched_sp}]",
        "adr r2, 2f",
        "orr r2, r2, #1",                      // Thumb
        "str r2, [r1, #{g_sched_pc}]",
        "str r1, [r1, #{g_sched_g}]",
        "ldr r2, [r1, #{g_m}]",
        "ldr r2, [r2, #{m_g0}]",               // r2 = g.m.g0
        "cmp r2, r1",
        "beq 3f",
        "str r2, [r3, r12]",                   // setg(g0)
        "ldr r4, [r2, #{g_stack_hi}]",         // TEB = g0's stack (r4 is saved above)
        "str r4, [r3, #{teb_base}]",
        "ldr r4, [r2, #{g_stack_lo}]",
        "str r4, [r3, #{teb_limit}]",
        "sub r4, r4, #{guard}",
        "str r4, [r3, #{teb_dealloc}]",
        "ldr r4, [r2, #{g_sched_sp}]",
        "mov sp, r4",
        "mov r2, r0",
        "mov r0, r1",
        "movs r4, #0",
        "mov r11, r4",
        "blx r2",
        "udf #0",
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
        "push {{r4, r5, r6, r7, r8, lr}}",
        "movw r6, #:lower16:{tls_g}",
        "movt r6, #:upper16:{tls_g}",
        "ldr r6, [r6]",                        // r6 = slot offset
        "mrc p15, 0, r7, c13, c0, 2",          // r7 = TEB
        "ldr r5, [r7, r6]",                    // r5 = g
        "ldr r12, [r5, #{g_m}]",
        "ldr r12, [r12, #{m_g0}]",             // r12 = g0
        "cmp r5, r12",
        "beq 2f",
        "mov r4, sp",                          // old SP
        "str r12, [r7, r6]",                   // setg(g0)
        "ldr r8, [r12, #{g_stack_hi}]",
        "str r8, [r7, #{teb_base}]",
        "ldr r8, [r12, #{g_stack_lo}]",
        "str r8, [r7, #{teb_limit}]",
        "sub r8, r8, #{guard}",
        "str r8, [r7, #{teb_dealloc}]",
        "ldr r8, [r12, #{g_sched_sp}]",
        "mov sp, r8",
        "mov r2, r0",
        "mov r0, r1",
        "blx r2",
        "str r5, [r7, r6]",                    // setg(old g)
        "ldr r8, [r5, #{g_stack_hi}]",
        "str r8, [r7, #{teb_base}]",
        "ldr r8, [r5, #{g_stack_lo}]",
        "str r8, [r7, #{teb_limit}]",
        "sub r8, r8, #{guard}",
        "str r8, [r7, #{teb_dealloc}]",
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
/// Only reached by a return from a goroutine entry function that `newproc` set up
/// (lr = goexit+4).
#[unsafe(naked)]
pub unsafe extern "C" fn goexit() {
    naked_asm!(
        "nop.w",                               // 4 bytes: a return address of goexit+4 is inside
        "mov r0, sp",
        "bic r0, r0, #7",
        "mov sp, r0",
        "bl {goexit1}",
        "udf #0",
        goexit1 = sym crate::proc::goexit1,
    )
}

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

/// The address of this thread's TLS slot (for boottrace: where getg reads).
pub fn tls_base() -> usize {
    let teb: usize;
    // SAFETY: reads TPIDRURW, the TEB pointer.
    unsafe { asm!("mrc p15, 0, {}, c13, c0, 2", out(reg) teb, options(nomem, nostack, preserves_flags)) };
    teb + TLS_G.load(Ordering::Relaxed)
}

/// Entry of every thread newosproc creates (CreateThread start routine, r0 = mp): saves the OS
/// stack bounds in `mp.tls[1..4]`, installs g0, moves onto g0's stack (and tells the TEB), calls
/// mstart.
///
/// # Safety
/// Only CreateThread calls it, with a fully initialised M whose g0 has a stack.
#[unsafe(naked)]
pub unsafe extern "system" fn tstart(mp: *mut crate::gmp::M) -> u32 {
    naked_asm!(
        "ldr r1, [r0, #{m_g0}]",               // r1 = g0
        "movw r2, #:lower16:{tls_g}",
        "movt r2, #:upper16:{tls_g}",
        "ldr r2, [r2]",
        "mrc p15, 0, r3, c13, c0, 2",          // r3 = TEB
        "str r1, [r3, r2]",                    // setg(g0)
        "ldr r2, [r3, #{teb_base}]",           // the OS's stack, for exit_thread
        "str r2, [r0, #{m_tls1}]",
        "ldr r2, [r3, #{teb_limit}]",
        "str r2, [r0, #{m_tls2}]",
        "ldr r2, [r3, #{teb_dealloc}]",
        "str r2, [r0, #{m_tls3}]",
        "ldr r2, [r1, #{g_stack_hi}]",
        "str r2, [r3, #{teb_base}]",
        "mov sp, r2",
        "ldr r2, [r1, #{g_stack_lo}]",
        "str r2, [r3, #{teb_limit}]",
        "sub r2, r2, #{guard}",
        "str r2, [r3, #{teb_dealloc}]",
        "movs r2, #0",
        "mov r11, r2",
        "bl {mstart}",
        "udf #0",
        m_g0 = const M_G0,
        m_tls1 = const M_TLS + 4,
        m_tls2 = const M_TLS + 8,
        m_tls3 = const M_TLS + 12,
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
    naked_asm!("bic r2, r2, #7", "mov sp, r2", "mov r3, r0", "mov r0, r1", "blx r3", "udf #0")
}

/// Program counter and stack pointer from an exception's CONTEXT record (ARM layout).
///
/// # Safety
/// `ctx` must be the CONTEXT the exception dispatcher passed to a vectored handler.
pub unsafe fn context_pc_sp(ctx: *const u8) -> (usize, usize) {
    // SAFETY: ARM CONTEXT: ContextFlags, R0-R12 (4..0x38), Sp at 0x38, Lr at 0x3c, Pc at 0x40.
    unsafe { (*((ctx as usize + 0x40) as *const usize), *((ctx as usize + 0x38) as *const usize)) }
}

// --- MSVC helper routines (the compiler calls them on windows/arm) ---

extern "C" {
    fn __udivmodsi4(a: u32, b: u32, rem: *mut u32) -> u32;
    fn __udivmoddi4(a: u64, b: u64, rem: *mut u64) -> u64;
    fn __floatundisf(a: u64) -> f32;
    fn __floatundidf(a: u64) -> f64;
    fn __floatdisf(a: i64) -> f32;
    fn __floatdidf(a: i64) -> f64;
}

/// `__rt_udiv`: r0 = divisor, r1 = dividend; returns quotient in r0, remainder in r1 (as a u64).
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __rt_udiv(divisor: u32, dividend: u32) -> u64 {
    let mut rem = 0u32;
    // SAFETY: compiler_builtins' software division; rem is an out-parameter.
    let q = unsafe { __udivmodsi4(dividend, udiv_check(divisor as u64) as u32, &mut rem) };
    ((rem as u64) << 32) | q as u64
}

/// `__rt_sdiv`: signed, same registers as `__rt_udiv`.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __rt_sdiv(divisor: i32, dividend: i32) -> u64 {
    udiv_check(divisor as u64);
    let (a, b) = (dividend.unsigned_abs(), divisor.unsigned_abs());
    let mut rem = 0u32;
    // SAFETY: as above.
    let q = unsafe { __udivmodsi4(a, b, &mut rem) };
    let q = if (dividend < 0) != (divisor < 0) { (q as i32).wrapping_neg() } else { q as i32 };
    let r = if dividend < 0 { (rem as i32).wrapping_neg() } else { rem as i32 };
    ((r as u32 as u64) << 32) | q as u32 as u64
}

/// Division by zero in a helper: the hardware would raise STATUS_INTEGER_DIVIDE_BY_ZERO.
fn udiv_check(d: u64) -> u64 {
    if d == 0 {
        crate::print::print(true, format_args!("panic: runtime error: integer divide by zero\n"));
        crate::sys::exit(2);
    }
    d
}

/// Quotient and remainder of 64-bit division, for the `__rt_*div64` shims.
#[repr(C)]
struct DivMod64 {
    q: u64,
    r: u64,
}

extern "C" fn udivmod64(divisor: u64, dividend: u64, out: &mut DivMod64) {
    let mut r = 0u64;
    // SAFETY: compiler_builtins' software division.
    out.q = unsafe { __udivmoddi4(dividend, udiv_check(divisor), &mut r) };
    out.r = r;
}

extern "C" fn sdivmod64(divisor: i64, dividend: i64, out: &mut DivMod64) {
    udiv_check(divisor as u64);
    let mut r = 0u64;
    // SAFETY: as above.
    let q = unsafe { __udivmoddi4(dividend.unsigned_abs(), divisor.unsigned_abs(), &mut r) };
    out.q = if (dividend < 0) != (divisor < 0) { (q as i64).wrapping_neg() as u64 } else { q };
    out.r = if dividend < 0 { (r as i64).wrapping_neg() as u64 } else { r };
}

/// `__rt_udiv64`: r0:r1 = divisor, r2:r3 = dividend; quotient in r0:r1, remainder in r2:r3.
///
/// # Safety
/// Called by compiled code with the MSVC helper convention.
#[cfg(not(test))]
#[no_mangle]
#[unsafe(naked)]
pub unsafe extern "C" fn __rt_udiv64() {
    naked_asm!(
        "push {{r4, lr}}",
        "sub sp, sp, #24",                     // [sp] = out (5th word argument), [sp+8..24) = out
        "add r4, sp, #8",
        "str r4, [sp]",
        "bl {f}",                              // f(divisor r0:r1, dividend r2:r3, out)
        "ldr r0, [sp, #8]",
        "ldr r1, [sp, #12]",
        "ldr r2, [sp, #16]",
        "ldr r3, [sp, #20]",
        "add sp, sp, #24",
        "pop {{r4, pc}}",
        f = sym udivmod64,
    )
}

/// `__rt_sdiv64`: signed, same registers as `__rt_udiv64`.
///
/// # Safety
/// Called by compiled code with the MSVC helper convention.
#[cfg(not(test))]
#[no_mangle]
#[unsafe(naked)]
pub unsafe extern "C" fn __rt_sdiv64() {
    naked_asm!(
        "push {{r4, lr}}",
        "sub sp, sp, #24",                     // [sp] = out (5th word argument), [sp+8..24) = out
        "add r4, sp, #8",
        "str r4, [sp]",
        "bl {f}",                              // f(divisor r0:r1, dividend r2:r3, out)
        "ldr r0, [sp, #8]",
        "ldr r1, [sp, #12]",
        "ldr r2, [sp, #16]",
        "ldr r3, [sp, #20]",
        "add sp, sp, #24",
        "pop {{r4, pc}}",
        f = sym sdivmod64,
    )
}

/// `__u64tos`: u64 to f32.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __u64tos(a: u64) -> f32 {
    // SAFETY: compiler_builtins' conversion.
    unsafe { __floatundisf(a) }
}

/// `__u64tod`: u64 to f64.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __u64tod(a: u64) -> f64 {
    // SAFETY: compiler_builtins' conversion.
    unsafe { __floatundidf(a) }
}

/// `__i64tos`: i64 to f32.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __i64tos(a: i64) -> f32 {
    // SAFETY: compiler_builtins' conversion.
    unsafe { __floatdisf(a) }
}

/// `__i64tod`: i64 to f64.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __i64tod(a: i64) -> f64 {
    // SAFETY: compiler_builtins' conversion.
    unsafe { __floatdidf(a) }
}

/// `__gnu_h2f_ieee`: IEEE half (in the low 16 bits) to f32.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __gnu_h2f_ieee(h: u32) -> f32 {
    super::half::h2f(h as u16)
}

/// `__gnu_f2h_ieee`: f32 to IEEE half, rounding to nearest even.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __gnu_f2h_ieee(f: f32) -> u32 {
    super::half::f2h(f) as u32
}
