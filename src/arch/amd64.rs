//! x86-64 (amd64): the thread pointer, context switches (gogo, mcall, systemstack), the goroutine
//! and thread trampolines, raw system calls and CPUID. Everything register-specific lives here;
//! arch-neutral code calls these by Go's names.
//!
//! TLS: the FS base points at `m.tls` (set by rt0 with arch_prctl for m0, by clone's CLONE_SETTLS
//! for other Ms), and `m.tls[0]` holds the current g, so `getg` is one `mov fs:[0]`. On darwin
//! the g lives in pthread TSD slot 6 (`gs:[0x30]`, reserved by Apple for Go) and there is no
//! settls; the operand is the `tls_g!` macro. Raw system calls and `clone` are Linux-only (darwin
//! goes through libSystem, src/sys/darwin.rs).
//!
//! Switch protocol: a goroutine gives up the CPU only through `mcall`, which pushes the System V
//! callee-saved registers (rbx, rbp, r12-r15) on the goroutine's own stack and saves sp/pc in
//! `g.sched`; `gogo` restores sp and jumps to pc, which pops them again. A fresh goroutine starts
//! at its entry function with `sched.ctx` in rdi and `goexit` as its return address.
//! On windows the TLS and switch code is in amd64_windows.rs (gs-relative TLS slot, Win64 ABI,
//! TEB stack bounds); the items below marked `cfg(not(windows))` are shared by linux and darwin,
//! those marked `cfg(target_os = ...)` belong to that OS only.
//! MXCSR and the x87 control word are not saved: gort never changes them and neither may user code
//! that wants to migrate between threads.

use core::arch::asm;
#[cfg(not(windows))]
use core::arch::naked_asm;

#[cfg(not(windows))]
use crate::gmp::{Gobuf, G};
#[cfg(not(windows))]
use crate::offsets::*;

/// The memory operand that holds the current g: `m.tls[0]` through the FS base on Linux.
#[cfg(target_os = "linux")]
macro_rules! tls_g {
    () => {
        "qword ptr fs:[0]"
    };
}
/// The memory operand that holds the current g: pthread TSD slot 6 (`gs:[0x30]`), which Apple
/// reserves for Go (golang.org/issue/23617); see asm/rt0_darwin_amd64.S.
#[cfg(target_os = "macos")]
macro_rules! tls_g {
    () => {
        "qword ptr gs:[0x30]"
    };
}

/// Name of the TLS mechanism, for boottrace.
#[cfg(target_os = "linux")]
pub const TLS_MECHANISM: &str = "arch_prctl(ARCH_SET_FS) -> fs base, getg = mov fs:[0]";
/// Name of the TLS mechanism, for boottrace.
#[cfg(target_os = "macos")]
pub const TLS_MECHANISM: &str = "no settls: pthread TSD slot 6 reserved for Go, getg = mov gs:[0x30]";

#[cfg(test)]
/// Host unit tests have no runtime: the thread pointer belongs to the test harness's libc, so
/// there is no g (code that asks, such as the futex lock's held-lock count, then does nothing).
#[inline(always)]
pub fn getg() -> *mut G {
    core::ptr::null_mut()
}

#[cfg(all(not(windows), not(test)))]
/// Returns the current g from TLS (Go's getg). Deliberately not `pure`: a goroutine may resume on
/// another thread after any park, so every call must really read the thread pointer.
#[inline(always)]
pub fn getg() -> *mut G {
    let gp: *mut G;
    // SAFETY: tls_g!() is m.tls[0] of this thread's M once rt0/clone set the FS base (Linux), or
    // TSD slot 6 of every pthread (darwin); the runtime never calls getg before rt0 set it up.
    unsafe { asm!(concat!("mov {}, ", tls_g!()), out(reg) gp, options(nostack, readonly, preserves_flags)) };
    gp
}

#[cfg(target_os = "macos")]
/// Installs gp as the current g (Go's setg).
///
/// # Safety
/// gp must be a valid g belonging to this thread's M (or null while the M exits).
#[inline(always)]
pub unsafe fn setg(gp: *mut G) {
    // SAFETY: tls_g!() is this thread's g slot; see getg.
    unsafe { asm!(concat!("mov ", tls_g!(), ", {}"), in(reg) gp, options(nostack, preserves_flags)) };
}

#[cfg(not(windows))]
/// Restores the context in `buf` (sp, pc, g) and jumps there; never returns (Go's gogo).
///
/// # Safety
/// `buf` must hold a context saved by `mcall` or prepared by `newproc`, of a g that may run now
/// on this M.
#[unsafe(naked)]
pub unsafe extern "C" fn gogo(buf: *const Gobuf) -> ! {
    naked_asm!(
        "mov rdx, qword ptr [rdi + {gobuf_g}]",
        concat!("mov ", tls_g!(), ", rdx"),          // setg(buf.g)
        "mov rsp, qword ptr [rdi + {gobuf_sp}]", // restore SP
        "mov rax, qword ptr [rdi + {gobuf_pc}]",
        "mov rdi, qword ptr [rdi + {gobuf_ctx}]", // a fresh g's entry takes ctx as its argument
        "jmp rax",
        gobuf_g = const GOBUF_G,
        gobuf_sp = const GOBUF_SP,
        gobuf_pc = const GOBUF_PC,
        gobuf_ctx = const GOBUF_CTX,
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
    naked_asm!(
        "push rbp",                               // callee-saved registers stay on g's stack
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        concat!("mov rax, ", tls_g!()),              // rax = g
        "mov qword ptr [rax + {g_sched_sp}], rsp", // g.sched.sp = SP
        "lea rcx, [rip + 2f]",
        "mov qword ptr [rax + {g_sched_pc}], rcx", // g.sched.pc = resume label
        "mov qword ptr [rax + {g_sched_g}], rax",  // g.sched.g = g
        "mov rcx, qword ptr [rax + {g_m}]",
        "mov rdx, qword ptr [rcx + {m_g0}]",       // rdx = g.m.g0
        "cmp rdx, rax",
        "je 3f",                                  // mcall on g0 is a runtime bug
        concat!("mov ", tls_g!(), ", rdx"),              // setg(g0)
        "mov rsp, qword ptr [rdx + {g_sched_sp}]", // SP = g0.sched.sp (16-aligned)
        "mov rsi, rdi",
        "mov rdi, rax",                           // f(g)
        "call rsi",
        "ud2",                                    // f must not return
        "2:",
        "pop r15",                                // resumed by gogo(&g.sched)
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
        "3:",
        "call {badmcall}",
        "ud2",
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
    naked_asm!(
        concat!("mov rax, ", tls_g!()),
        "mov rcx, qword ptr [rax + {g_m}]",
        "mov rdx, qword ptr [rcx + {m_g0}]",
        "cmp rax, rdx",
        "je 2f",
        "push rbp",
        "push rbx",
        "mov rbp, rsp",                           // old SP in callee-saved rbp
        "mov rbx, rax",                           // old g in callee-saved rbx
        concat!("mov ", tls_g!(), ", rdx"),              // setg(g0)
        "mov rsp, qword ptr [rdx + {g_sched_sp}]",
        "mov rax, rdi",
        "mov rdi, rsi",
        "call rax",
        concat!("mov ", tls_g!(), ", rbx"),              // setg(old g)
        "mov rsp, rbp",
        "pop rbx",
        "pop rbp",
        "ret",
        "2:",
        "mov rax, rdi",                           // already on g0: tail-call f(arg)
        "mov rdi, rsi",
        "jmp rax",
        g_m = const G_M,
        m_g0 = const M_G0,
        g_sched_sp = const G_SCHED_SP,
    )
}

#[cfg(not(windows))]
/// Where a goroutine's entry function returns to: finishes the goroutine (Go's goexit).
///
/// # Safety
/// Only reached by `ret` from a goroutine entry function that `newproc` set up.
#[unsafe(naked)]
pub unsafe extern "C" fn goexit() {
    naked_asm!(
        "nop",                                    // so a return address of goexit+1 is inside it
        "and rsp, -16",
        "call {goexit1}",
        "ud2",
        goexit1 = sym crate::proc::goexit1,
    )
}

#[cfg(not(windows))]
/// Prepares `buf` so that `gogo(buf)` calls `entry(ctx)` on the stack `[.., hi)` and `entry`
/// returns into `goexit` (Go's gostartcallfn).
///
/// # Safety
/// `hi` must be the 16-aligned top of a writable stack with at least 16 bytes.
pub unsafe fn gostartcall(buf: &mut Gobuf, hi: usize, entry: usize, ctx: usize) {
    let sp = hi - 8; // at entry of a function, (sp + 8) % 16 == 0
                     // SAFETY: sp is within the stack's top reserve.
    unsafe { (sp as *mut usize).write(goexit as *const () as usize + 1) };
    buf.sp = sp;
    buf.pc = entry;
    buf.ctx = ctx;
}

/// The current stack pointer, rounded down to 16 and below the red zone (for g0.sched.sp).
#[inline(always)]
pub fn getsp() -> usize {
    let sp: usize;
    // SAFETY: reads a register.
    unsafe { asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    (sp - 128) & !15
}

/// Spins `cycles` pause instructions (Go's procyield).
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
    // SAFETY: the x86-64 Linux syscall ABI; rcx and r11 are clobbered by the instruction.
    unsafe {
        asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
            in("r10") a4, in("r8") a5, in("r9") a6, lateout("rcx") _, lateout("r11") _,
            options(nostack));
    }
    ret
}

#[cfg(target_os = "linux")]
/// Linux system call numbers used by the runtime (x86-64 table).
#[allow(missing_docs)]
pub mod nr {
    pub const READ: usize = 0;
    pub const WRITE: usize = 1;
    pub const OPENAT: usize = 257;
    pub const CLOSE: usize = 3;
    pub const MMAP: usize = 9;
    pub const MPROTECT: usize = 10;
    pub const MUNMAP: usize = 11;
    pub const MADVISE: usize = 28;
    pub const RT_SIGACTION: usize = 13;
    pub const RT_SIGPROCMASK: usize = 14;
    pub const RT_SIGRETURN: usize = 15;
    pub const SCHED_YIELD: usize = 24;
    pub const NANOSLEEP: usize = 35;
    pub const GETPID: usize = 39;
    pub const CLONE: usize = 56;
    pub const EXIT: usize = 60;
    pub const SIGALTSTACK: usize = 131;
    pub const ARCH_PRCTL: usize = 158;
    pub const GETTID: usize = 186;
    pub const TGKILL: usize = 234;
    pub const PPOLL: usize = 271;
    pub const FUTEX: usize = 202;
    pub const SCHED_GETAFFINITY: usize = 204;
    pub const CLOCK_GETTIME: usize = 228;
    pub const EXIT_GROUP: usize = 231;
}

#[cfg(target_os = "linux")]
/// Reads the FS base (for boottrace: proves TLS points at m0.tls).
pub fn tls_base() -> usize {
    const ARCH_GET_FS: usize = 0x1003;
    let mut base: usize = 0;
    // SAFETY: ARCH_GET_FS writes one word to the pointer we pass.
    unsafe { syscall6(nr::ARCH_PRCTL, ARCH_GET_FS, &mut base as *mut usize as usize, 0, 0, 0, 0) };
    base
}

#[cfg(target_os = "linux")]
/// Starts a thread with `clone` on stack `stk` (16-aligned top) whose FS base is `&mp.tls`; the
/// child installs `gp` (its g0) as g and calls `f`, exiting the thread if `f` returns.
/// Returns the child's tid or -errno.
///
/// # Safety
/// `mp` and `gp` must be a fully initialised M and its g0; `stk` must be g0's stack top.
#[unsafe(naked)]
pub unsafe extern "C" fn clone(flags: usize, stk: usize, mp: usize, gp: usize, f: extern "C" fn() -> !) -> isize {
    naked_asm!(
        "push r12",
        "push r13",
        "push r14",
        "mov r12, rdx",                 // mp
        "mov r13, rcx",                 // g0
        "mov r14, r8",                  // f
        "lea r8, [r12 + {m_tls}]",      // tls = &mp.tls (CLONE_SETTLS)
        "xor edx, edx",                 // parent_tid
        "xor r10d, r10d",               // child_tid
        "mov eax, {sys_clone}",
        "syscall",
        "test rax, rax",
        "jz 2f",
        "pop r14",                      // parent (or error): return rax
        "pop r13",
        "pop r12",
        "ret",
        "2:",                           // child: on the new stack, fs = &mp.tls
        "mov qword ptr fs:[0], r13",    // setg(g0)
        "xor ebp, ebp",
        "call r14",                     // mstart: never returns
        "mov edi, 111",
        "mov eax, {sys_exit}",
        "syscall",
        "ud2",
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
    naked_asm!("mov eax, {n}", "syscall", "ud2", n = const nr::RT_SIGRETURN)
}

#[cfg(target_os = "linux")]
/// Program counter and faulting stack pointer from a signal's ucontext (x86-64 mcontext layout).
///
/// # Safety
/// `uc` must be the ucontext the kernel passed to an SA_SIGINFO handler.
pub unsafe fn sigctxt_pc_sp(uc: *const u8) -> (usize, usize) {
    // ucontext: uc_flags(8) uc_link(8) uc_stack(24) then mcontext gregs[23]: REG_RSP=15, REG_RIP=16.
    let gregs = (uc as usize + 40) as *const usize;
    // SAFETY: layout of struct ucontext_t on x86-64 Linux.
    unsafe { (*gregs.add(16), *gregs.add(15)) }
}

/// CPU features found by `cpuinit` (Go's internal/cpu.X86).
#[derive(Clone, Copy, Default, Debug)]
pub struct CpuFeatures {
    /// Vendor string from CPUID leaf 0.
    pub vendor: [u8; 12],
    /// SSE2 (baseline on amd64).
    pub sse2: bool,
    /// SSE3.
    pub sse3: bool,
    /// SSSE3.
    pub ssse3: bool,
    /// SSE4.1.
    pub sse41: bool,
    /// SSE4.2.
    pub sse42: bool,
    /// POPCNT.
    pub popcnt: bool,
    /// AES-NI (used by Go's aeshash).
    pub aes: bool,
    /// AVX (with OS XSAVE support).
    pub avx: bool,
    /// AVX2.
    pub avx2: bool,
    /// BMI1 and BMI2.
    pub bmi: bool,
    /// Enhanced rep movsb/stosb (memcpy/memset use rep movsb).
    pub erms: bool,
}

impl core::fmt::Display for CpuFeatures {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "vendor={}", core::str::from_utf8(&self.vendor).unwrap_or("?"))?;
        for (name, on) in [
            ("sse2", self.sse2),
            ("sse3", self.sse3),
            ("ssse3", self.ssse3),
            ("sse41", self.sse41),
            ("sse42", self.sse42),
            ("popcnt", self.popcnt),
            ("aes", self.aes),
            ("avx", self.avx),
            ("avx2", self.avx2),
            ("bmi", self.bmi),
            ("erms", self.erms),
        ] {
            if on {
                write!(f, " +{}", name)?;
            }
        }
        Ok(())
    }
}

/// Reads the CPU's features with CPUID (Go's cpuinit → internal/cpu.doinit).
pub fn cpuinit() -> CpuFeatures {
    use core::arch::x86_64::{__cpuid, __cpuid_count};
    let mut f = CpuFeatures::default();
    // CPUID is unconditionally available on x86-64.
    let l0 = __cpuid(0);
    f.vendor[0..4].copy_from_slice(&l0.ebx.to_le_bytes());
    f.vendor[4..8].copy_from_slice(&l0.edx.to_le_bytes());
    f.vendor[8..12].copy_from_slice(&l0.ecx.to_le_bytes());
    let l1 = __cpuid(1);
    f.sse2 = l1.edx & (1 << 26) != 0;
    f.sse3 = l1.ecx & 1 != 0;
    f.ssse3 = l1.ecx & (1 << 9) != 0;
    f.sse41 = l1.ecx & (1 << 19) != 0;
    f.sse42 = l1.ecx & (1 << 20) != 0;
    f.popcnt = l1.ecx & (1 << 23) != 0;
    f.aes = l1.ecx & (1 << 25) != 0;
    let osxsave = l1.ecx & (1 << 27) != 0;
    f.avx = l1.ecx & (1 << 28) != 0 && osxsave;
    if l0.eax >= 7 {
        let l7 = __cpuid_count(7, 0);
        f.avx2 = f.avx && l7.ebx & (1 << 5) != 0;
        f.bmi = l7.ebx & (1 << 3) != 0 && l7.ebx & (1 << 8) != 0;
        f.erms = l7.ebx & (1 << 9) != 0;
    }
    f
}

/// Architecture name as Go spells it.
pub const GOARCH: &str = "amd64";

#[cfg(target_os = "linux")]
/// Name of clock_gettime in the x86-64 vDSO.
pub const VDSO_CLOCK_GETTIME: &[u8] = b"__vdso_clock_gettime";

/// The pthread's self pointer, TSD slot 0 (`gs:[0]`), for boottrace: the %gs base itself cannot be
/// read from user space on darwin.
#[cfg(target_os = "macos")]
pub fn tls_base() -> usize {
    let v: usize;
    // SAFETY: gs:[0] is TSD slot 0 (__TSD_THREAD_SELF) of every libSystem thread.
    unsafe { asm!("mov {}, qword ptr gs:[0]", out(reg) v, options(nostack, readonly, preserves_flags)) };
    v
}

/// Program counter and faulting stack pointer from a signal's ucontext (darwin x86-64 layout).
///
/// # Safety
/// `uc` must be the ucontext the kernel passed to an SA_SIGINFO handler.
#[cfg(target_os = "macos")]
pub unsafe fn sigctxt_pc_sp(uc: *const u8) -> (usize, usize) {
    // ucontext_t: uc_onstack(4) uc_sigmask(4) uc_stack(24) uc_link(8) uc_mcsize(8) then the
    // uc_mcontext pointer at 48. mcontext64: es (16 bytes), then ss = rax rbx rcx rdx rdi rsi rbp
    // rsp(7) r8..r15 rip(16) ...
    // SAFETY: layout of ucontext_t/__darwin_mcontext64 on darwin/amd64.
    unsafe {
        let mc = *((uc as usize + 48) as *const usize);
        let ss = (mc + 16) as *const usize;
        (*ss.add(16), *ss.add(7))
    }
}
