//! linux/arm: the TLS mechanism (TPIDRURO), raw system calls and their numbers, clone, the signal
//! return trampoline, the signal context layout and the frame-size check (Go's sys_linux_arm.s,
//! signal_linux_arm.go, os_linux_arm.go and the linux parts of tls_arm.s). The context switches
//! are arch/arm.rs; they expand the TLS macros below.
//!
//! TLS: the user read-only thread ID register TPIDRURO (cp15 c13/c0/3) points at `m.tls`; rt0
//! sets it with the ARM-private `set_tls` system call (0xf0005) for m0, clone's CLONE_SETTLS does
//! it for other Ms. `m.tls[0]` holds the current g, so `getg` is
//! `mrc p15, 0, r, c13, c0, 3; ldr r, [r]`.

use core::arch::{asm, naked_asm};

use crate::gmp::G;
use crate::offsets::*;

/// Name of the TLS mechanism, for boottrace.
pub const TLS_MECHANISM: &str = "set_tls(0xf0005) -> TPIDRURO, getg = mrc p15,0,r,c13,c0,3; ldr [r]";

/// Returns the current g from TLS (Go's getg).
#[inline(always)]
pub fn getg() -> *mut G {
    let gp: *mut G;
    // SAFETY: TPIDRURO points at this thread's m.tls once rt0/clone set it.
    unsafe {
        asm!("mrc p15, 0, {t}, c13, c0, 3", "ldr {g}, [{t}]", t = out(reg) _, g = out(reg) gp,
            options(nostack, readonly, preserves_flags))
    };
    gp
}

/// Whether a register may hold an address derived from this thread's thread pointer at `pc`
/// (asynchronous preemption declines there: resumed on another thread, the goroutine would use
/// the old thread's TLS slot; preempt.rs `async_safe_point`). getg is `mrc p15, 0, r, c13, c0, 3; ldr g, [r]` (TPIDRURO), and mcall and systemstack keep
/// the slot's address until they have made g0 current: any of the last instructions reading
/// TPIDRURO makes the window, in the ARM encoding or the Thumb-2 one (halfword steps).
///
/// # Safety
/// `pc` is an interrupted instruction's address in mapped code.
pub unsafe fn thread_pointer_live(pc: usize) -> bool {
    // SAFETY: as the contract.
    unsafe {
        crate::preempt::read_recently(
            pc,
            2,
            |w| w & 0xffff_0fff == 0xee1d_0f70 || w & 0x0fff_ffff == 0x0f70_ee1d,
            super::code_mapped,
        )
    }
}

/// Assembly that leaves the address of the current g's TLS slot in register `$r` (`$t` is
/// scratch): TPIDRURO = &m.tls, whose word 0 is the slot.
macro_rules! g_slot {
    ($r:literal, $t:literal) => {
        concat!("mrc p15, 0, ", $r, ", c13, c0, 3")
    };
}
/// ARM state: a code address is used as it is.
macro_rules! code_addr {
    ($r:literal) => {
        ""
    };
}
pub(crate) use crate::sys::unix::switch_hooks::{os_naked_asm, stack_switched};
pub(crate) use {code_addr, g_slot};

/// Raw Linux system call with up to six arguments; returns the kernel's value (-errno on error).
///
/// # Safety
/// The arguments must be valid for the system call `n`.
#[inline(always)]
pub unsafe fn syscall6(n: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> isize {
    let ret: isize;
    // SAFETY: the ARM EABI Linux syscall ABI: number in r7, arguments in r0-r5, result in r0.
    unsafe {
        asm!("svc #0", in("r7") n, inlateout("r0") a1 as isize => ret, in("r1") a2, in("r2") a3,
            in("r3") a4, in("r4") a5, in("r5") a6, options(nostack));
    }
    ret
}

/// Linux system call numbers used by the runtime (ARM EABI table). MMAP is mmap2 (offset in
/// pages; the runtime always passes 0).
#[allow(missing_docs)]
pub mod nr {
    pub const READ: usize = 3;
    pub const WRITE: usize = 4;
    pub const OPENAT: usize = 322;
    pub const CLOSE: usize = 6;
    pub const LSEEK: usize = 19;
    pub const MMAP: usize = 192;
    pub const MPROTECT: usize = 125;
    pub const MUNMAP: usize = 91;
    pub const MADVISE: usize = 220;
    pub const PROCESS_MADVISE: usize = 440;
    pub const RT_SIGACTION: usize = 174;
    pub const RT_SIGPROCMASK: usize = 175;
    pub const RT_SIGRETURN: usize = 173;
    pub const SCHED_YIELD: usize = 158;
    pub const NANOSLEEP: usize = 162;
    pub const GETPID: usize = 20;
    pub const CLONE: usize = 120;
    pub const EXIT: usize = 1;
    pub const SIGALTSTACK: usize = 186;
    pub const GETTID: usize = 224;
    pub const TGKILL: usize = 268;
    #[cfg(gort_pprof)]
    pub const SETITIMER: usize = 104;
    pub const PPOLL: usize = 336;
    pub const FUTEX: usize = 240;
    pub const SCHED_GETAFFINITY: usize = 242;
    pub const CLOCK_GETTIME: usize = 263;
    pub const EXIT_GROUP: usize = 248;
    pub const EXECVE: usize = 11;
    pub const WAIT4: usize = 114;
    pub const READLINKAT: usize = 332;
    pub const GETCPU: usize = 345;
    // The netpoller and gort::net.
    pub const EPOLL_CTL: usize = 251;
    pub const SOCKET: usize = 281;
    pub const BIND: usize = 282;
    pub const CONNECT: usize = 283;
    pub const LISTEN: usize = 284;
    pub const GETSOCKNAME: usize = 286;
    pub const GETPEERNAME: usize = 287;
    pub const SENDTO: usize = 290;
    pub const RECVFROM: usize = 292;
    pub const SHUTDOWN: usize = 293;
    pub const SETSOCKOPT: usize = 294;
    pub const GETSOCKOPT: usize = 295;
    pub const EPOLL_PWAIT: usize = 346;
    pub const EVENTFD2: usize = 356;
    pub const EPOLL_CREATE1: usize = 357;
    pub const ACCEPT4: usize = 366;
    pub const FSYNC: usize = 118;
    pub const FTRUNCATE64: usize = 194;
    pub const LLSEEK: usize = 140;
    pub const UNLINKAT: usize = 328;
    pub const RENAMEAT: usize = 329;
    pub const MKDIRAT: usize = 323;
    pub const GETDENTS64: usize = 217;
    pub const STATX: usize = 397;
    pub const FCNTL: usize = 55;
    pub const PIPE2: usize = 359;
}

/// `O_DIRECTORY` of this arch's open flags (arm and arm64 differ from x86).
pub const O_DIRECTORY: usize = 0o40000;
/// `O_LARGEFILE`: 64-bit file offsets, which a 32-bit process must ask for.
pub const O_LARGEFILE: usize = 0o400000;

/// `_llseek(2)`: lseek with a 64-bit offset split in two words; the new offset, or -errno.
pub fn lseek64(fd: usize, off: i64, whence: usize) -> i64 {
    let mut result: i64 = 0;
    // SAFETY: result is a valid i64 for the kernel to write; the rest are integers.
    let r = unsafe {
        syscall6(
            nr::LLSEEK,
            fd,
            (off >> 32) as u32 as usize,
            off as u32 as usize,
            &mut result as *mut i64 as usize,
            whence,
            0,
        )
    };
    if r < 0 {
        r as i64
    } else {
        result
    }
}

/// `ftruncate64(2)`: the EABI passes the 64-bit length in an even register pair (r2, r3), so
/// r1 is padding. 0 or -errno.
pub fn ftruncate64(fd: usize, len: i64) -> isize {
    // SAFETY: plain integers; no memory is touched.
    unsafe { syscall6(nr::FTRUNCATE64, fd, 0, len as u32 as usize, (len >> 32) as u32 as usize, 0, 0) }
}

/// Reads TPIDRURO (for boottrace: proves TLS points at m0.tls).
pub fn tls_base() -> usize {
    let base: usize;
    // SAFETY: reads a register.
    unsafe { asm!("mrc p15, 0, {}, c13, c0, 3", out(reg) base, options(nomem, nostack, preserves_flags)) };
    base
}

/// Starts a thread with `clone` on stack `stk` (8-aligned top) whose TPIDRURO is `&mp.tls`; the
/// child installs `gp` (its g0) as g and calls `f`, exiting the thread if `f` returns.
/// Returns the child's tid or -errno.
///
/// # Safety
/// `mp` and `gp` must be a fully initialised M and its g0; `stk` must be g0's stack top.
#[unsafe(naked)]
pub unsafe extern "C" fn clone(flags: usize, stk: usize, mp: usize, gp: usize, f: extern "C" fn() -> !) -> isize {
    naked_asm!(
        "push {{r4-r8, lr}}",
        "mov r5, r2",                   // mp
        "mov r6, r3",                   // g0
        "ldr r8, [sp, #24]",            // f (fifth argument, on the stack above our 6 pushes)
        "add r3, r5, #{m_tls}",         // tls = &mp.tls (CLONE_SETTLS)
        "mov r2, #0",                   // parent_tid
        "mov r4, #0",                   // child_tid
        "mov r7, #{sys_clone}",
        "svc #0",
        "cmp r0, #0",
        "beq 2f",
        "pop {{r4-r8, pc}}",            // parent (or error): return r0
        "2:",                           // child: on the new stack, TPIDRURO = &mp.tls
        "mrc p15, 0, r0, c13, c0, 3",
        "str r6, [r0]",                 // setg(g0)
        "mov r11, #0",
        "mov lr, #0",
        "blx r8",                       // mstart: never returns
        "mov r0, #111",
        "mov r7, #{sys_exit}",
        "svc #0",
        "udf #0",
        m_tls = const M_TLS,
        sys_clone = const nr::CLONE,
        sys_exit = const nr::EXIT,
    )
}

/// The signal-return trampoline installed as sa_restorer (SA_SIGINFO handlers: rt_sigreturn).
///
/// # Safety
/// Only the kernel returns here, at the end of a signal handler.
#[unsafe(naked)]
pub unsafe extern "C" fn sigreturn() {
    naked_asm!("mov r7, #{n}", "svc #0", "udf #0", n = const nr::RT_SIGRETURN)
}

/// Program counter and faulting stack pointer from a signal's ucontext (arm sigcontext layout).
///
/// # Safety
/// `uc` must be the ucontext the kernel passed to an SA_SIGINFO handler.
pub unsafe fn sigctxt_pc_sp(uc: *const u8) -> (usize, usize) {
    // ucontext: uc_flags(4) uc_link(4) uc_stack(12) then sigcontext: trap_no error_code oldmask
    // r0-r10 fp ip sp lr pc cpsr fault_address, so sp at 20+4*15 = 80... counted from 20:
    // sp is word 15 (offset 84), pc word 18 (offset 92).
    // SAFETY: layout of struct ucontext on arm Linux.
    unsafe { (*((uc as usize + 92) as *const usize), *((uc as usize + 84) as *const usize)) }
}

/// Where a signal frame starts relative to the ucontext the handler gets: rt_sigframe is
/// {siginfo (128), sigframe {ucontext, retcode}} on arm.
pub const SIGFRAME_UC_OFFSET: usize = 128;
/// The stack pointer rt_sigreturn wants, relative to the frame's start (it reads the frame at
/// sp).
pub const SIGRETURN_SP_OFFSET: usize = 0;

/// Moves the absolute pointers of a signal frame copied elsewhere: none on arm (the VFP state
/// is inline in uc_regspace).
///
/// # Safety
/// None: nothing is read.
pub unsafe fn sigframe_relocate(_uc: *mut u8, _lo: usize, _hi: usize, _delta: usize) {}

/// Makes the interrupted context call `f(arg)` on the stack whose top is `sp` (lr 0) when the
/// handler returns.
///
/// # Safety
/// `uc` is the running handler's ucontext.
pub unsafe fn sigctxt_set_call(uc: *mut u8, f: usize, sp: usize, arg: usize) {
    // sigcontext at uc+20: trap_no error_code oldmask r0..r10 fp ip sp lr pc cpsr.
    let w = |i: usize| (uc as usize + 20 + 4 * i) as *mut usize;
    // SAFETY: layout of struct ucontext on arm Linux (as sigctxt_pc_sp).
    unsafe {
        *w(3) = arg;
        *w(14) = 0; // fp
        *w(16) = sp & !7;
        *w(17) = 0; // lr
        *w(18) = f & !1;
        // Thumb bit from the target's address; no IT block in progress.
        *w(19) = (*w(19) & !0x0600_FC20) | if f & 1 != 0 { 0x20 } else { 0 };
    }
}

/// Entered by gogo for a goroutine preempted asynchronously: sp is its saved signal frame and
/// r0 that frame's ucontext. Fixes the frame for this thread (`fixup`), then rt_sigreturn
/// restores every register as the signal found them.
///
/// # Safety
/// Only through gogo with the gobuf preempt.rs prepared.
#[unsafe(naked)]
pub unsafe extern "C" fn sigreturn_resume() {
    naked_asm!(
        "mov r4, sp",
        "bl {fixup}",
        "mov sp, r4",
        "mov r7, #{n}",
        "svc #0",
        "udf #0",
        fixup = sym crate::preempt::resume_fixup,
        n = const nr::RT_SIGRETURN,
    )
}

/// The qemu-user emulator of this arch (the test harness runs a foreign binary through it).
pub const QEMU_USER: &str = "qemu-arm";

/// Name of clock_gettime in the arm vDSO.
pub const VDSO_CLOCK_GETTIME: &[u8] = b"__vdso_clock_gettime";

/// Per-arch setup at the end of osinit (Go's osArchInit): linux/arm has no stack probes, so
/// refuse frames that could jump a stack's guard (arm_frames.rs).
pub fn os_arch_init() {
    super::arm_frames::check_frames();
}

/// The least guard below a goroutine stack (stack_guard_size): the largest frame a program may
/// have (arm_frames.rs), so no frame can step over the guard. Address space only: never touched.
pub const MIN_STACK_GUARD: usize = super::arm_frames::MAX_FRAME;
