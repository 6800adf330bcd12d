//! arm64 (aarch64): the thread pointer, context switches (gogo, mcall, systemstack), the goroutine
//! and thread trampolines, raw system calls and CPU features. The same API as amd64.rs.
//!
//! TLS: TPIDR_EL0 points at `m.tls` (set by rt0 with `msr tpidr_el0` for m0, by clone's
//! CLONE_SETTLS for other Ms), and `m.tls[0]` holds the current g, so `getg` is
//! `mrs x, tpidr_el0; ldr x, [x]`. On darwin there is no settls: rt0 finds a pthread TSD slot
//! (Go's tlsinit, asm/rt0_darwin_arm64.S) and stores its byte offset in `runtime_tlsg`; the g
//! slot is then `(tpidrro_el0 & ~7) + runtime_tlsg` on every thread. The naked functions compute
//! the slot's address with the `g_slot!` macro and otherwise share one body; raw system calls and
//! `clone` are Linux-only (darwin goes through libSystem, src/sys/darwin.rs). x18 is never used
//! (darwin reserves it).
//!
//! Switch protocol: a goroutine gives up the CPU only through `mcall`, which saves the AAPCS64
//! callee-saved registers (x19-x29, lr, d8-d15) on the goroutine's own stack and saves sp/pc in
//! `g.sched`; `gogo` restores sp and jumps to pc, whose code pops them again. `gogo` also loads
//! lr = goexit+4 before jumping: a fresh goroutine's entry function (started at `sched.pc` with
//! `sched.ctx` in x0) thus returns into goexit, and a resumed goroutine overwrites lr from its
//! saved frame. FPCR is not saved: gort never changes it.

use core::arch::{asm, naked_asm};

use crate::gmp::Gobuf;
#[cfg(not(windows))]
use crate::gmp::G;
#[cfg(not(windows))]
use crate::offsets::*;

/// Assembly that leaves the address of the current g's TLS slot in register `$r` (`$t` is
/// scratch): Linux: TPIDR_EL0 = &m.tls, whose word 0 is the slot.
#[cfg(target_os = "linux")]
macro_rules! g_slot {
    ($r:literal, $t:literal) => {
        concat!("mrs ", $r, ", tpidr_el0")
    };
}
/// Assembly that leaves the address of the current g's TLS slot in register `$r` (`$t` is
/// scratch): darwin: the TSD base (TPIDRRO_EL0 without its CPU-number bits) + runtime_tlsg.
#[cfg(target_os = "macos")]
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
/// `naked_asm!` plus the operands `g_slot!` needs on this OS (none on Linux). The invocation
/// must end with a comma.
#[cfg(target_os = "linux")]
macro_rules! tls_naked_asm {
    ($($t:tt)*) => {
        naked_asm!($($t)*)
    };
}
/// `naked_asm!` plus the operands `g_slot!` needs on this OS (runtime_tlsg on darwin). The
/// invocation must end with a comma.
#[cfg(target_os = "macos")]
macro_rules! tls_naked_asm {
    ($($t:tt)*) => {
        naked_asm!($($t)* tlsg = sym runtime_tlsg)
    };
}
/// Loads the address of symbol operand `$s` into register `$r` (ELF vs Mach-O relocation syntax).
#[cfg(target_os = "linux")]
macro_rules! adr_sym {
    ($r:literal, $s:literal) => {
        concat!("adrp ", $r, ", ", $s, "\n", "add ", $r, ", ", $r, ", :lo12:", $s)
    };
}
/// Loads the address of symbol operand `$s` into register `$r` (ELF vs Mach-O relocation syntax).
#[cfg(target_os = "macos")]
macro_rules! adr_sym {
    ($r:literal, $s:literal) => {
        concat!("adrp ", $r, ", ", $s, "@PAGE\n", "add ", $r, ", ", $r, ", ", $s, "@PAGEOFF")
    };
}

/// Byte offset of the g slot in the pthread TSD array, found by rt0's tlsinit (Go's runtime·tlsg).
#[cfg(target_os = "macos")]
#[no_mangle]
pub static runtime_tlsg: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

#[cfg(not(windows))]
/// Name of the TLS mechanism, for boottrace.
#[cfg(target_os = "linux")]
pub const TLS_MECHANISM: &str = "msr tpidr_el0 -> &m.tls, getg = mrs tpidr_el0; ldr [x]";
/// Name of the TLS mechanism, for boottrace.
#[cfg(target_os = "macos")]
pub const TLS_MECHANISM: &str =
    "no settls: pthread key found in the TSD array (tlsinit), getg = mrs tpidrro_el0; and ~7; ldr [x + tlsg]";

#[cfg(test)]
/// Host unit tests have no runtime: the thread pointer belongs to the test harness's libc, so
/// there is no g (code that asks, such as the futex lock's held-lock count, then does nothing).
#[inline(always)]
pub fn getg() -> *mut G {
    core::ptr::null_mut()
}

#[cfg(all(not(windows), not(test)))]
/// Returns the current g from TLS (Go's getg).
#[inline(always)]
pub fn getg() -> *mut G {
    let gp: *mut G;
    // SAFETY: tpidr_el0 points at this thread's m.tls once rt0/clone set it.
    #[cfg(target_os = "linux")]
    unsafe {
        asm!("mrs {t}, tpidr_el0", "ldr {g}, [{t}]", t = out(reg) _, g = out(reg) gp,
            options(nostack, readonly, preserves_flags))
    };
    // SAFETY: runtime_tlsg is the g slot's offset in every pthread's TSD array (set by rt0).
    #[cfg(target_os = "macos")]
    unsafe {
        asm!(g_slot!("{t}", "{u}"), "ldr {g}, [{t}]", t = out(reg) _, u = out(reg) _, g = out(reg) gp,
            tlsg = sym runtime_tlsg, options(nostack, readonly, preserves_flags))
    };
    gp
}

#[cfg(not(windows))]
/// Restores the context in `buf` (sp, pc, g) and jumps there; never returns (Go's gogo).
///
/// # Safety
/// `buf` must hold a context saved by `mcall` or prepared by `newproc`, of a g that may run now
/// on this M.
#[unsafe(naked)]
pub unsafe extern "C" fn gogo(buf: *const Gobuf) -> ! {
    tls_naked_asm!(
        "ldr x1, [x0, #{gobuf_g}]",
        g_slot!("x2", "x3"),
        "str x1, [x2]",                       // setg(buf.g)
        "ldr x3, [x0, #{gobuf_sp}]",
        "mov sp, x3",                         // restore SP
        "ldr x4, [x0, #{gobuf_pc}]",
        adr_sym!("x30", "{goexit}"),          // lr = goexit+4 for a fresh g (a resumed g
                                              // reloads lr from its mcall frame)
        "add x30, x30, #4",
        "mov x29, xzr",
        "ldr x0, [x0, #{gobuf_ctx}]",         // a fresh g's entry takes ctx as its argument
        "br x4",
        gobuf_g = const GOBUF_G,
        gobuf_sp = const GOBUF_SP,
        gobuf_pc = const GOBUF_PC,
        gobuf_ctx = const GOBUF_CTX,
        goexit = sym goexit,
    )
}

#[cfg(not(windows))]
/// Saves the current goroutine's context in g.sched, switches to g0's stack and calls
/// `f(gp)`, which must not return; `gogo(&gp.sched)` later resumes after the mcall (Go's mcall).
///
/// # Safety
/// Must be called on a user goroutine (not g0) with a valid M; `f` must end in gogo or schedule.
#[unsafe(naked)]
pub unsafe extern "C" fn mcall(f: unsafe extern "C" fn(*mut G) -> !) {
    tls_naked_asm!(
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
        "mov x10, sp",
        "str x10, [x1, #{g_sched_sp}]",       // g.sched.sp = SP
        "adr x10, 2f",
        "str x10, [x1, #{g_sched_pc}]",       // g.sched.pc = resume label
        "str x1, [x1, #{g_sched_g}]",         // g.sched.g = g
        "ldr x10, [x1, #{g_m}]",
        "ldr x11, [x10, #{m_g0}]",            // x11 = g.m.g0
        "cmp x11, x1",
        "b.eq 3f",                            // mcall on g0 is a runtime bug
        "str x11, [x9]",                      // setg(g0)
        "ldr x10, [x11, #{g_sched_sp}]",
        "mov sp, x10",                        // SP = g0.sched.sp (16-aligned)
        "mov x12, x0",
        "mov x0, x1",                         // f(g)
        "mov x29, xzr",
        "blr x12",
        "brk #0",                             // f must not return
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
    )
}

#[cfg(not(windows))]
/// Runs `f(arg)` on the M's g0 stack and returns (Go's systemstack). Called on g0 it just calls.
///
/// # Safety
/// `f` must not park, mcall or switch goroutines.
#[unsafe(naked)]
pub unsafe extern "C" fn systemstack(f: unsafe extern "C" fn(usize), arg: usize) {
    tls_naked_asm!(
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
        "ldr x12, [x11, #{g_sched_sp}]",
        "mov sp, x12",
        "mov x12, x0",
        "mov x0, x1",
        "blr x12",
        g_slot!("x9", "x10"),
        "str x20, [x9]",                      // setg(old g)
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

#[cfg(target_os = "macos")]
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

/// Prepares `buf` so that `gogo(buf)` calls `entry(ctx)` on the stack `[.., hi)` and `entry`
/// returns into `goexit` (gogo loads lr = goexit+4) (Go's gostartcallfn).
///
/// # Safety
/// `hi` must be the 16-aligned top of a writable stack with at least 16 bytes.
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

/// Spins `cycles` yield instructions (Go's procyield).
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
    // SAFETY: the arm64 Linux syscall ABI: number in x8, arguments in x0-x5, result in x0.
    unsafe {
        asm!("svc #0", in("x8") n, inlateout("x0") a1 as isize => ret, in("x1") a2, in("x2") a3,
            in("x3") a4, in("x4") a5, in("x5") a6, options(nostack));
    }
    ret
}

#[cfg(target_os = "linux")]
/// Linux system call numbers used by the runtime (arm64: the asm-generic table).
#[allow(missing_docs)]
pub mod nr {
    pub const READ: usize = 63;
    pub const WRITE: usize = 64;
    pub const OPENAT: usize = 56;
    pub const CLOSE: usize = 57;
    pub const MMAP: usize = 222;
    pub const MPROTECT: usize = 226;
    pub const MUNMAP: usize = 215;
    pub const MADVISE: usize = 233;
    pub const RT_SIGACTION: usize = 134;
    pub const RT_SIGPROCMASK: usize = 135;
    pub const RT_SIGRETURN: usize = 139;
    pub const SCHED_YIELD: usize = 124;
    pub const NANOSLEEP: usize = 101;
    pub const GETPID: usize = 172;
    pub const CLONE: usize = 220;
    pub const EXIT: usize = 93;
    pub const SIGALTSTACK: usize = 132;
    pub const GETTID: usize = 178;
    pub const TGKILL: usize = 131;
    pub const PPOLL: usize = 73;
    pub const FUTEX: usize = 98;
    pub const SCHED_GETAFFINITY: usize = 123;
    pub const CLOCK_GETTIME: usize = 113;
    pub const EXIT_GROUP: usize = 94;
}

#[cfg(target_os = "linux")]
/// Reads TPIDR_EL0 (for boottrace: proves TLS points at m0.tls).
pub fn tls_base() -> usize {
    let base: usize;
    // SAFETY: reads a register.
    unsafe { asm!("mrs {}, tpidr_el0", out(reg) base, options(nomem, nostack, preserves_flags)) };
    base
}

#[cfg(target_os = "linux")]
/// Starts a thread with `clone` on stack `stk` (16-aligned top) whose TPIDR_EL0 is `&mp.tls`;
/// the child installs `gp` (its g0) as g and calls `f`, exiting the thread if `f` returns.
/// Returns the child's tid or -errno.
///
/// # Safety
/// `mp` and `gp` must be a fully initialised M and its g0; `stk` must be g0's stack top.
#[unsafe(naked)]
pub unsafe extern "C" fn clone(flags: usize, stk: usize, mp: usize, gp: usize, f: extern "C" fn() -> !) -> isize {
    naked_asm!(
        "mov x10, x2",                  // mp
        "mov x11, x3",                  // g0
        "mov x12, x4",                  // f
        "add x3, x10, #{m_tls}",        // tls = &mp.tls (CLONE_SETTLS)
        "mov x2, xzr",                  // parent_tid
        "mov x4, xzr",                  // child_tid
        "mov x8, #{sys_clone}",
        "svc #0",
        "cbz x0, 2f",
        "ret",                          // parent (or error): return x0
        "2:",                           // child: on the new stack, tpidr_el0 = &mp.tls
        "mrs x9, tpidr_el0",
        "str x11, [x9]",                // setg(g0)
        "mov x29, xzr",
        "mov x30, xzr",
        "blr x12",                      // mstart: never returns
        "mov x0, #111",
        "mov x8, #{sys_exit}",
        "svc #0",
        "brk #0",
        m_tls = const M_TLS,
        sys_clone = const nr::CLONE,
        sys_exit = const nr::EXIT,
    )
}

#[cfg(target_os = "linux")]
/// The signal-return trampoline installed as sa_restorer.
///
/// # Safety
/// Only the kernel returns here, at the end of a signal handler.
#[unsafe(naked)]
pub unsafe extern "C" fn sigreturn() {
    naked_asm!("mov x8, #{n}", "svc #0", "brk #0", n = const nr::RT_SIGRETURN)
}

#[cfg(target_os = "linux")]
/// Program counter and faulting stack pointer from a signal's ucontext (arm64 sigcontext layout).
///
/// # Safety
/// `uc` must be the ucontext the kernel passed to an SA_SIGINFO handler.
pub unsafe fn sigctxt_pc_sp(uc: *const u8) -> (usize, usize) {
    // ucontext: uc_flags(8) uc_link(8) uc_stack(24) uc_sigmask(8) pad(120) -> uc_mcontext at 176
    // (16-aligned): fault_address(8) regs[31] sp pc pstate; so sp at 432, pc at 440.
    // SAFETY: layout of struct ucontext on arm64 Linux.
    unsafe { (*((uc as usize + 440) as *const usize), *((uc as usize + 432) as *const usize)) }
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
        for (name, on) in [
            ("fp", self.fp),
            ("asimd", self.asimd),
            ("aes", self.aes),
            ("pmull", self.pmull),
            ("sha1", self.sha1),
            ("sha2", self.sha2),
            ("crc32", self.crc32),
            ("atomics", self.atomics),
        ] {
            if on {
                write!(f, " +{}", name)?;
            }
        }
        Ok(())
    }
}

/// AT_HWCAP and AT_HWCAP2 as the OS layer found them (linux: the auxv sysargs walked).
#[cfg(not(target_os = "macos"))]
pub(crate) fn read_hwcaps() -> (usize, usize) {
    crate::sys::hwcaps()
}

/// Reads the CPU's features from AT_HWCAP (Go's cpuinit → internal/cpu.doinit).
pub fn cpuinit() -> CpuFeatures {
    let (h, _) = read_hwcaps();
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
pub const GOARCH: &str = "arm64";

#[cfg(target_os = "linux")]
/// Name of clock_gettime in the arm64 vDSO.
pub const VDSO_CLOCK_GETTIME: &[u8] = b"__kernel_clock_gettime";

/// compiler_builtins' outline-atomics constructor (`init_have_lse_atomics`) references libc's
/// getauxval. gort links no libc and runs no constructors, so this is never really called; it
/// answers 0 (no LSE: the LL/SC fallbacks are used).
#[cfg(all(not(test), target_os = "linux"))]
#[no_mangle]
pub extern "C" fn getauxval(_type: core::ffi::c_ulong) -> core::ffi::c_ulong {
    0
}

/// The TSD base (TPIDRRO_EL0 & ~7), for boottrace.
#[cfg(target_os = "macos")]
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
#[cfg(target_os = "macos")]
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

/// The CPU features as AT_HWCAP bits (darwin has no auxv): Go's cpu_arm64_darwin.go reads the
/// LSE atomics and CRC32 from sysctl and assumes the rest of the M1 baseline (fp, asimd, aes,
/// pmull, sha1, sha2).
#[cfg(target_os = "macos")]
pub(crate) fn read_hwcaps() -> (usize, usize) {
    let mut h = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6);
    if crate::sys::sysctl_enabled(b"hw.optional.armv8_crc32\0") {
        h |= 1 << 7;
    }
    if crate::sys::sysctl_enabled(b"hw.optional.armv8_1_atomics\0") {
        h |= 1 << 8;
    }
    (h, 0)
}
