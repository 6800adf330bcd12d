//! x86-64 (amd64): context switches (gogo, mcall, systemstack), the goroutine trampoline
//! (goexit, gostartcall) and CPUID (Go's asm_amd64.s and internal/cpu/cpu_x86.go). The same
//! code serves every OS: what differs per OS is written by the OS×arch file under
//! `src/sys/<os>/amd64.rs` as macros these functions expand (Go's go_tls.h `get_tls`/`g` and
//! the `#ifdef GOOS_windows` blocks of asm_amd64.s):
//!
//! - `load_g!(r)` / `save_g!(r)`: read / write the current g through the OS's TLS mechanism
//!   (linux `fs:[0]`, darwin `gs:[0x30]`, windows a TlsAlloc slot of the TEB); may use r10.
//! - `stack_switched!(g)`: after a switch onto g's stack, tells the OS about it (windows keeps
//!   the TEB's stack bounds in step; nothing elsewhere); may use r11.
//! - `shadow_space!()`, `cabi_arg0!()`, `tail_call!(r)`, `SHADOW_SPACE`: the OS's C ABI
//!   (SysV: argument in rdi, no shadow space; Win64: rcx and 32 bytes of shadow space).
//! - `os_naked_asm!`: `naked_asm!` plus the operands those macros name.
//!
//! getg itself belongs to the TLS mechanism and lives with it (`crate::sys::getg`, re-exported
//! by arch/mod.rs).
//!
//! Switch protocol: a goroutine gives up the CPU only through `mcall`, which pushes the System V
//! callee-saved registers (rbx, rbp, r12-r15) on the goroutine's own stack and saves sp/pc in
//! `g.sched`; `gogo` restores sp and jumps to pc, which pops them again. The function mcall
//! calls on g0 either never returns or returns the context to enter next, which mcall jumps
//! into through `gogo` (why: `mcall`'s doc). A fresh goroutine starts
//! at its entry function with `sched.ctx` as its C argument and `goexit` as its return address.
//! The switch functions are `extern "sysv64"` on every OS (the C ABI on linux and darwin; on
//! windows a Win64 caller saves rdi, rsi and xmm6-15 around them itself, so mcall pushes only
//! rbx, rbp, r12-r15 there too). MXCSR and the x87 control word are not saved: gort never
//! changes them and neither may user code that wants to migrate between threads.

use core::arch::{asm, naked_asm};

use crate::gmp::{Gobuf, G};
use crate::offsets::*;
use crate::sys::{cabi_arg0, load_g, os_naked_asm, save_g, shadow_space, stack_switched, tail_call, SHADOW_SPACE};

/// Restores the context in `buf` (sp, pc, g) and jumps there; never returns (Go's gogo).
///
/// # Safety
/// `buf` must hold a context saved by `mcall` or prepared by `newproc`, of a g that may run now
/// on this M.
#[unsafe(naked)]
pub unsafe extern "sysv64" fn gogo(buf: *const Gobuf) -> ! {
    os_naked_asm!(
        "mov rdx, qword ptr [rdi + {gobuf_g}]",
        save_g!("rdx"),                           // setg(buf.g)
        stack_switched!("rdx"),
        "mov rsp, qword ptr [rdi + {gobuf_sp}]", // restore SP
        "mov rax, qword ptr [rdi + {gobuf_pc}]",
        concat!("mov ", cabi_arg0!(), ", qword ptr [rdi + {gobuf_ctx}]"), // a fresh g's entry takes ctx
        "jmp rax",
        // The end of gogo, for `in_gogo` (a global label: the preemption check names it).
        concat!(".globl ", gogo_end_label!()),
        concat!(gogo_end_label!(), ":"),
        gobuf_g = const GOBUF_G,
        gobuf_sp = const GOBUF_SP,
        gobuf_pc = const GOBUF_PC,
        gobuf_ctx = const GOBUF_CTX,
    )
}

/// Saves the current goroutine's context in g.sched, switches to g0's stack and calls
/// `f(gp)` (Go's mcall); `gogo(&gp.sched)` later resumes after the mcall. Go's `f` never
/// returns; here it may return the context to switch to, which mcall then jumps into with
/// `gogo` (`jmp`, not `call`): the quiet paths of a yield, a park and an exit return instead of
/// calling down into `gogo`, so every `call` on the way is matched by its `ret` and the CPU's
/// return-address predictor stays in step with the goroutines' stacks (each switch through
/// calls that never return left stale entries there, and two or three `ret`s after every
/// switch went mispredicted).
///
/// From the load of `g.m` until g0 is current, rcx and rdx hold this M's pointers (M, g0) while
/// the user g is still current and on its own stack, which async preemption would take for a
/// safe point. Preempted there, the goroutine resumed on another thread with those registers
/// and switched that thread onto this M's g0 and g0 stack, which this M was using: two threads
/// on one g0 stack (fanin/default under load, about 1 run in 40: `null pointer dereference
/// occurred` in gfput, whose `getp()` was the other thread's, or a SIGSEGV on a null `g.m` in
/// here). So both functions count the window in `g.locks`, which `async_safe_point` declines:
/// `inc`/`dec` on memory are one instruction each (a signal or SuspendThread comes before or
/// after, never inside), and rax = g is the same G wherever the goroutine resumes, unlike any
/// per-M value. Go never preempts runtime assembly at all; gort's rule is per instruction.
///
/// # Safety
/// Must be called on a user goroutine (not g0) with a valid M; `f` must end in gogo or schedule,
/// or return a context `gogo` may resume (as its own safety contract says).
#[unsafe(naked)]
pub unsafe extern "sysv64" fn mcall(f: unsafe extern "C" fn(*mut G) -> *const Gobuf) {
    os_naked_asm!(
        "push rbp",                               // callee-saved registers stay on g's stack
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        load_g!("rax"),                           // rax = g
        "inc dword ptr [rax + {g_locks}]",         // no preemption while rcx/rdx hold this M's pointers (below)
        "mov rcx, qword ptr [rax + {g_m}]",
        "mov rdx, qword ptr [rcx + {m_g0}]",       // rdx = g.m.g0
        "cmp rdx, rax",
        "je 3f",                                  // mcall on g0 is a runtime bug
        save_g!("rdx"),                           // setg(g0) first: a preemption signal from here on sees g0 and declines (preempt.rs)
        "dec dword ptr [rax + {g_locks}]",
        "mov qword ptr [rax + {g_sched_sp}], rsp", // g.sched.sp = SP
        "lea rcx, [rip + 2f]",
        "mov qword ptr [rax + {g_sched_pc}], rcx", // g.sched.pc = resume label
        "mov qword ptr [rax + {g_sched_g}], rax",  // g.sched.g = g
        stack_switched!("rdx"),
        "mov rsp, qword ptr [rdx + {g_sched_sp}]", // SP = g0.sched.sp (16-aligned)
        shadow_space!(),
        "mov rsi, rdi",
        concat!("mov ", cabi_arg0!(), ", rax"),    // f(g)
        "call rsi",
        "mov rdi, rax",                           // f returned the context to run: gogo(it)
        "jmp {gogo}",
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
        shadow_space!(),
        "call {badmcall}",
        "ud2",
        g_sched_sp = const G_SCHED_SP,
        g_sched_pc = const G_SCHED_PC,
        g_sched_g = const G_SCHED_G,
        g_m = const G_M,
        g_locks = const G_LOCKS,
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
pub unsafe extern "sysv64" fn systemstack(f: unsafe extern "C" fn(usize), arg: usize) {
    os_naked_asm!(
        load_g!("rax"),
        "inc dword ptr [rax + {g_locks}]",         // no preemption while rcx/rdx hold this M's pointers (mcall's doc)
        "mov rcx, qword ptr [rax + {g_m}]",
        "mov rdx, qword ptr [rcx + {m_g0}]",
        "cmp rax, rdx",
        "je 2f",
        "push rbp",
        "push rbx",
        "mov rbp, rsp",                           // old SP in callee-saved rbp
        "mov rbx, rax",                           // old g in callee-saved rbx
        save_g!("rdx"),                           // setg(g0)
        "dec dword ptr [rbx + {g_locks}]",         // g0 is current: a preemption signal declines
        stack_switched!("rdx"),
        "mov rsp, qword ptr [rdx + {g_sched_sp}]",
        shadow_space!(),
        "mov rax, rdi",
        concat!("mov ", cabi_arg0!(), ", rsi"),
        "call rax",
        save_g!("rbx"),                           // setg(old g)
        stack_switched!("rbx"),
        "mov rsp, rbp",
        "pop rbx",
        "pop rbp",
        "ret",
        "2:",
        "dec dword ptr [rax + {g_locks}]",         // (on g0: no preemption either way)
        "mov rax, rdi",                           // already on g0: f(arg) as the tail
        concat!("mov ", cabi_arg0!(), ", rsi"),
        tail_call!("rax"),
        g_m = const G_M,
        g_locks = const G_LOCKS,
        m_g0 = const M_G0,
        g_sched_sp = const G_SCHED_SP,
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
        shadow_space!(),
        "call {goexit1}",
        "ud2",
        goexit1 = sym crate::proc::goexit1,
    )
}

/// Prepares `buf` so that `gogo(buf)` calls `entry(ctx)` on the stack `[.., hi)` and `entry`
/// returns into `goexit` (Go's gostartcallfn). Leaves the C ABI's shadow space (Win64: 32 bytes)
/// above the return address.
///
/// # Safety
/// `hi` must be the 16-aligned top of a writable stack with at least 8 + `SHADOW_SPACE` bytes.
pub unsafe fn gostartcall(buf: &mut Gobuf, hi: usize, entry: usize, ctx: usize) {
    // At entry of a function, (sp + 8) % 16 == 0.
    let sp = hi - 8 - SHADOW_SPACE;
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
        f.write_str("vendor=")?;
        f.write_str(core::str::from_utf8(&self.vendor).unwrap_or("?"))?;
        super::fmt_flags(
            f,
            &["sse2", "sse3", "ssse3", "sse41", "sse42", "popcnt", "aes", "avx", "avx2", "bmi", "erms"],
            &[
                self.sse2,
                self.sse3,
                self.ssse3,
                self.sse41,
                self.sse42,
                self.popcnt,
                self.aes,
                self.avx,
                self.avx2,
                self.bmi,
                self.erms,
            ],
        )
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
/// A pc inside the calling function (inlined into it): `go`'s record of where a goroutine was
/// created (Go's gopc).
#[inline(always)]
pub fn pc_here() -> usize {
    let pc: usize;
    // SAFETY: reads rip into a register; no memory, stack or flags touched.
    unsafe { core::arch::asm!("lea {}, [rip]", out(reg) pc, options(nomem, nostack, preserves_flags)) };
    pc
}

pub const GOARCH: &str = "amd64";
