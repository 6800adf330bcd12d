//! windows/arm (32-bit, Thumb-2 only): the TLS mechanism (a TlsAlloc slot of the TEB, which
//! TPIDRURW = `mrc p15, 0, r, c13, c0, 2` points at), the pieces of the context switches that
//! differ on windows (the TEB's stack bounds, Thumb code addresses), the thread start routine,
//! the exception CONTEXT layout, and the MSVC helper routines the compiler calls on this target
//! (integer division, u64 to float, half floats), which compiler_builtins does not provide under
//! these names (Go's sys_windows_arm.s and the `GOOS_windows` parts of asm_arm.s). The switch
//! functions themselves are arch/arm.rs; they expand the macros below.

use core::arch::{asm, naked_asm};

use super::os_naked_asm;
use core::sync::atomic::Ordering;

use super::TLS_G;
use crate::gmp::G;
use crate::offsets::*;

/// Name of the TLS mechanism, for boottrace.
pub const TLS_MECHANISM: &str = "TlsAlloc slot in the TEB, getg = mrc p15,0,r,c13,c0,2; ldr [r, #0xe10+4*slot]";

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

/// Whether a register may hold an address derived from this thread's thread pointer at `pc`
/// (asynchronous preemption declines there: resumed on another thread, the goroutine would use
/// the old thread's TLS slot; preempt.rs `async_safe_point`). The TEB comes from `mrc p15, 0, r, c13, c0, 2` (TPIDRURW), to which getg, g_slot and
/// `teb()` add offsets; any of the last instructions reading it (Thumb-2, halfword steps) makes the
/// window.
///
/// # Safety
/// `pc` is an interrupted instruction's address in mapped code.
pub unsafe fn thread_pointer_live(pc: usize) -> bool {
    // SAFETY: as the contract.
    unsafe { crate::preempt::read_recently(pc, 2, |w| w & 0x0fff_ffff == 0x0f50_ee1d, super::code_mapped) }
}

/// This thread's TEB.
pub(super) fn teb() -> usize {
    let teb: usize;
    // SAFETY: reads TPIDRURW, the TEB pointer.
    unsafe { asm!("mrc p15, 0, {}, c13, c0, 2", out(reg) teb, options(nomem, nostack, preserves_flags)) };
    teb
}

/// Assembly that leaves the address of the current g's TLS slot in register `$r` (`$t` is
/// scratch): the TEB + runtime_tls_g.
#[rustfmt::skip]
macro_rules! g_slot {
    ($r:literal, $t:literal) => {
        concat!(
            "movw ", $r, ", #:lower16:{tls_g}\n",
            "movt ", $r, ", #:upper16:{tls_g}\n",
            "ldr ", $r, ", [", $r, "]\n",
            "mrc p15, 0, ", $t, ", c13, c0, 2\n",
            "add ", $r, ", ", $r, ", ", $t
        )
    };
}
/// Assembly that points the TEB's stack fields at the stack of the g in register `$g` (`$t` and
/// `$u` are scratch).
#[rustfmt::skip]
macro_rules! stack_switched {
    ($g:literal, $t:literal, $u:literal) => {
        concat!(
            "mrc p15, 0, ", $t, ", c13, c0, 2\n",
            "ldr ", $u, ", [", $g, ", #{g_stack_hi}]\n",
            "str ", $u, ", [", $t, ", #{teb_base}]\n",
            "ldr ", $u, ", [", $g, ", #{g_stack_lo}]\n",
            "str ", $u, ", [", $t, ", #{teb_limit}]\n",
            "sub ", $u, ", ", $u, ", #{guard}\n",
            "str ", $u, ", [", $t, ", #{teb_dealloc}]"
        )
    };
}
/// Thumb: a code address `bx` jumps to carries bit 0.
macro_rules! code_addr {
    ($r:literal) => {
        concat!("orr ", $r, ", ", $r, ", #1")
    };
}
pub(crate) use {code_addr, g_slot, stack_switched};

/// Entry of every thread newosproc creates (CreateThread start routine, r0 = mp): saves the OS
/// stack bounds in `mp.tls[1..4]`, installs g0, moves onto g0's stack (and tells the TEB), calls
/// mstart.
///
/// # Safety
/// Only CreateThread calls it, with a fully initialised M whose g0 has a stack.
#[unsafe(naked)]
pub unsafe extern "system" fn tstart(mp: *mut crate::gmp::M) -> u32 {
    os_naked_asm!(
        "ldr r1, [r0, #{m_g0}]",               // r1 = g0
        g_slot!("r2", "r3"),
        "str r1, [r2]",                        // setg(g0)
        "mrc p15, 0, r3, c13, c0, 2",          // r3 = TEB
        "ldr r2, [r3, #{teb_base}]",           // the OS's stack, for exit_thread
        "str r2, [r0, #{m_tls1}]",
        "ldr r2, [r3, #{teb_limit}]",
        "str r2, [r0, #{m_tls2}]",
        "ldr r2, [r3, #{teb_dealloc}]",
        "str r2, [r0, #{m_tls3}]",
        stack_switched!("r1", "r3", "r2"),     // TEB = g0's stack
        "ldr r2, [r1, #{g_stack_hi}]",
        "mov sp, r2",                          // SP = g0.stack.hi
        "mov r11, #0",
        "bl {mstart}",
        "udf #0",
        m_g0 = const M_G0,
        m_tls1 = const M_TLS + 4,
        m_tls2 = const M_TLS + 8,
        m_tls3 = const M_TLS + 12,
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
    fn __fixunsdfdi(a: f64) -> u64;
    fn __fixdfdi(a: f64) -> i64;
    fn __fixunssfdi(a: f32) -> u64;
    fn __fixsfdi(a: f32) -> i64;
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

/// Defines an MSVC 64-bit division helper `$name` (r0:r1 = divisor, r2:r3 = dividend; quotient
/// in r0:r1, remainder in r2:r3) on top of `$f(divisor, dividend, &mut DivMod64)`.
macro_rules! rt_div64 {
    ($(#[$doc:meta])* $name:ident, $f:ident) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// Called by compiled code with the MSVC helper convention.
        #[cfg(not(test))]
        #[no_mangle]
        #[unsafe(naked)]
        pub unsafe extern "C" fn $name() {
            naked_asm!(
                "push {{r4, lr}}",
                "sub sp, sp, #24",             // [sp] = out (5th word argument), [sp+8..24) = out
                "add r4, sp, #8",
                "str r4, [sp]",
                "bl {f}",                      // f(divisor r0:r1, dividend r2:r3, out)
                "ldr r0, [sp, #8]",
                "ldr r1, [sp, #12]",
                "ldr r2, [sp, #16]",
                "ldr r3, [sp, #20]",
                "add sp, sp, #24",
                "pop {{r4, pc}}",
                f = sym $f,
            )
        }
    };
}
rt_div64!(
    /// `__rt_udiv64`: r0:r1 = divisor, r2:r3 = dividend; quotient in r0:r1, remainder in r2:r3.
    __rt_udiv64, udivmod64
);
rt_div64!(
    /// `__rt_sdiv64`: signed, same registers as `__rt_udiv64`.
    __rt_sdiv64, sdivmod64
);

/// Defines the MSVC integer-to-float helper `$name` on top of compiler_builtins' `$cb`.
macro_rules! int_to_float {
    ($(#[$doc:meta])* $name:ident, $cb:ident, $from:ty, $to:ty) => {
        $(#[$doc])*
        #[cfg(not(test))]
        #[no_mangle]
        pub extern "C" fn $name(a: $from) -> $to {
            // SAFETY: compiler_builtins' conversion, defined for every input.
            unsafe { $cb(a) }
        }
    };
}
int_to_float!(
    /// `__u64tos`: u64 to f32.
    __u64tos, __floatundisf, u64, f32
);
int_to_float!(
    /// `__u64tod`: u64 to f64.
    __u64tod, __floatundidf, u64, f64
);
int_to_float!(
    /// `__i64tos`: i64 to f32.
    __i64tos, __floatdisf, i64, f32
);
int_to_float!(
    /// `__i64tod`: i64 to f64.
    __i64tod, __floatdidf, i64, f64
);

// The float-to-64-bit-integer helpers have the same shape: compiler_builtins' conversion
// (defined for every input) under MSVC's name.
int_to_float!(
    /// `__dtou64`: f64 to u64.
    __dtou64, __fixunsdfdi, f64, u64
);
int_to_float!(
    /// `__dtoi64`: f64 to i64.
    __dtoi64, __fixdfdi, f64, i64
);
int_to_float!(
    /// `__stou64`: f32 to u64.
    __stou64, __fixunssfdi, f32, u64
);
int_to_float!(
    /// `__stoi64`: f32 to i64.
    __stoi64, __fixsfdi, f32, i64
);

/// `__gnu_h2f_ieee`: IEEE half (in the low 16 bits) to f32.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __gnu_h2f_ieee(h: u32) -> f32 {
    crate::sys::half::h2f(h as u16)
}

/// `__gnu_f2h_ieee`: f32 to IEEE half, rounding to nearest even.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn __gnu_f2h_ieee(f: f32) -> u32 {
    crate::sys::half::f2h(f) as u32
}
