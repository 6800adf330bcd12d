//! linux/amd64: the TLS mechanism (the FS base), raw system calls and their numbers, clone, the
//! signal return trampoline and the signal context layout (Go's sys_linux_amd64.s,
//! signal_linux_amd64.go and the linux parts of go_tls.h / asm_amd64.s). The context switches
//! are arch/amd64.rs; they expand the TLS and ABI macros below.
//!
//! TLS: the FS base points at `m.tls` (set by rt0 with arch_prctl for m0, by clone's CLONE_SETTLS
//! for other Ms), and `m.tls[0]` holds the current g, so `getg` is one `mov fs:[0]`.

use core::arch::{asm, naked_asm};

use crate::gmp::G;
use crate::offsets::*;

/// Name of the TLS mechanism, for boottrace.
pub const TLS_MECHANISM: &str = "arch_prctl(ARCH_SET_FS) -> fs base, getg = mov fs:[0]";

/// Returns the current g from TLS (Go's getg). Deliberately not `pure`: a goroutine may resume on
/// another thread after any park, so every call must really read the thread pointer.
#[inline(always)]
pub fn getg() -> *mut G {
    let gp: *mut G;
    // SAFETY: fs:[0] is m.tls[0] of this thread's M once rt0/clone set the FS base; the runtime
    // never calls getg before rt0 set it up.
    unsafe { asm!("mov {}, qword ptr fs:[0]", out(reg) gp, options(nostack, readonly, preserves_flags)) };
    gp
}

/// Whether a register may hold an address derived from this thread's thread pointer at `pc`
/// (asynchronous preemption declines there: resumed on another thread, the goroutine would use
/// the old thread's TLS; preempt.rs `async_safe_point`). Never on x86-64: getg and the
/// assembly's g accesses are single instructions relative to the segment base.
pub fn thread_pointer_live(_pc: usize) -> bool {
    false
}

/// Assembly that loads the current g into register `$r`.
macro_rules! load_g {
    ($r:literal) => {
        concat!("mov ", $r, ", qword ptr fs:[0]")
    };
}
/// Assembly that makes register `$r` the current g.
macro_rules! save_g {
    ($r:literal) => {
        concat!("mov qword ptr fs:[0], ", $r)
    };
}
pub(crate) use crate::sys::unix::amd64::{cabi_arg0, shadow_space, tail_call, SHADOW_SPACE};
pub(crate) use crate::sys::unix::switch_hooks::{os_naked_asm, stack_switched};
pub(crate) use {load_g, save_g};

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

/// Linux system call numbers used by the runtime (x86-64 table).
#[allow(missing_docs)]
pub mod nr {
    pub const READ: usize = 0;
    pub const WRITE: usize = 1;
    pub const OPENAT: usize = 257;
    pub const CLOSE: usize = 3;
    pub const LSEEK: usize = 8;
    pub const MMAP: usize = 9;
    pub const MPROTECT: usize = 10;
    pub const MUNMAP: usize = 11;
    pub const MADVISE: usize = 28;
    pub const PROCESS_MADVISE: usize = 440;
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
    #[cfg(gort_pprof)]
    pub const SETITIMER: usize = 38;
    pub const PPOLL: usize = 271;
    pub const FUTEX: usize = 202;
    pub const SCHED_GETAFFINITY: usize = 204;
    pub const CLOCK_GETTIME: usize = 228;
    pub const EXIT_GROUP: usize = 231;
    pub const EXECVE: usize = 59;
    pub const WAIT4: usize = 61;
    pub const READLINKAT: usize = 267;
    pub const GETCPU: usize = 309;
    // The netpoller and gort::net.
    pub const SOCKET: usize = 41;
    pub const CONNECT: usize = 42;
    pub const SENDTO: usize = 44;
    pub const RECVFROM: usize = 45;
    pub const SHUTDOWN: usize = 48;
    pub const BIND: usize = 49;
    pub const LISTEN: usize = 50;
    pub const GETSOCKNAME: usize = 51;
    pub const GETPEERNAME: usize = 52;
    pub const SETSOCKOPT: usize = 54;
    pub const GETSOCKOPT: usize = 55;
    pub const EPOLL_CTL: usize = 233;
    pub const EPOLL_PWAIT: usize = 281;
    pub const ACCEPT4: usize = 288;
    pub const EVENTFD2: usize = 290;
    pub const EPOLL_CREATE1: usize = 291;
    pub const FSYNC: usize = 74;
    pub const FTRUNCATE: usize = 77;
    pub const UNLINKAT: usize = 263;
    pub const RENAMEAT: usize = 264;
    pub const MKDIRAT: usize = 258;
    pub const GETDENTS64: usize = 217;
    pub const STATX: usize = 332;
    pub const FCNTL: usize = 72;
    pub const PIPE2: usize = 293;
}

/// `O_DIRECTORY` of this arch's open flags (arm and arm64 differ from x86).
pub const O_DIRECTORY: usize = 0o200000;
/// `O_LARGEFILE`: 64-bit file offsets (implied on 64-bit arches).
pub const O_LARGEFILE: usize = 0;

/// lseek(2) with a 64-bit offset: the new offset, or -errno.
pub fn lseek64(fd: usize, off: i64, whence: usize) -> i64 {
    // SAFETY: plain integers; no memory is touched.
    unsafe { syscall6(nr::LSEEK, fd, off as usize, whence, 0, 0, 0) as i64 }
}

/// ftruncate(2) with a 64-bit length: 0 or -errno.
pub fn ftruncate64(fd: usize, len: i64) -> isize {
    // SAFETY: plain integers; no memory is touched.
    unsafe { syscall6(nr::FTRUNCATE, fd, len as usize, 0, 0, 0, 0) }
}

/// Reads the FS base (for boottrace: proves TLS points at m0.tls).
pub fn tls_base() -> usize {
    const ARCH_GET_FS: usize = 0x1003;
    let mut base: usize = 0;
    // SAFETY: ARCH_GET_FS writes one word to the pointer we pass.
    unsafe { syscall6(nr::ARCH_PRCTL, ARCH_GET_FS, &mut base as *mut usize as usize, 0, 0, 0, 0) };
    base
}

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

/// The signal-return trampoline installed as sa_restorer.
///
/// # Safety
/// Only the kernel returns here, at the end of a signal handler.
#[unsafe(naked)]
pub unsafe extern "C" fn sigreturn() {
    naked_asm!("mov eax, {n}", "syscall", "ud2", n = const nr::RT_SIGRETURN)
}

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

/// Where a signal frame starts relative to the ucontext the handler gets: rt_sigframe is
/// {pretcode, ucontext, siginfo} on x86-64, with the xsave area above it.
pub const SIGFRAME_UC_OFFSET: usize = 8;
/// The stack pointer rt_sigreturn wants, relative to the frame's start (it reads the frame at
/// sp - 8, past the popped pretcode).
pub const SIGRETURN_SP_OFFSET: usize = 8;

/// Moves the absolute pointers of a signal frame copied from `[lo, hi)` by `delta` bytes: the
/// mcontext's fpregs (the xsave area).
///
/// # Safety
/// `uc` is the ucontext inside the copy.
pub unsafe fn sigframe_relocate(uc: *mut u8, lo: usize, hi: usize, delta: usize) {
    // mcontext: gregs[23] at uc+40, then the fpregs pointer.
    let fp = (uc as usize + 40 + 23 * 8) as *mut usize;
    // SAFETY: layout of struct ucontext_t on x86-64 Linux.
    unsafe {
        if (lo..hi).contains(&*fp) {
            *fp = (*fp).wrapping_add(delta);
        }
    }
}

/// Makes the interrupted context call `f(arg)` on the stack whose top is `sp`, as if called
/// (return address 0) when the handler returns.
///
/// # Safety
/// `uc` is the running handler's ucontext; `[sp - 16, sp)` is writable stack.
pub unsafe fn sigctxt_set_call(uc: *mut u8, f: usize, sp: usize, arg: usize) {
    let gregs = (uc as usize + 40) as *mut usize;
    let sp = (sp & !15) - 8;
    // SAFETY: as the contract; REG_RDI=8, REG_RSP=15, REG_RIP=16, REG_EFL=17.
    unsafe {
        *(sp as *mut usize) = 0;
        *gregs.add(8) = arg;
        *gregs.add(15) = sp;
        *gregs.add(16) = f;
        *gregs.add(17) &= !0x400; // DF clear, as the ABI wants at a call
    }
}

/// Entered by gogo for a goroutine preempted asynchronously: sp is its saved signal frame and
/// the C argument is that frame's ucontext. Fixes the frame for this thread (`fixup`), then
/// rt_sigreturn restores every register as the signal found them.
///
/// # Safety
/// Only through gogo with the gobuf preempt.rs prepared.
#[unsafe(naked)]
pub unsafe extern "C" fn sigreturn_resume() {
    naked_asm!(
        "mov rbx, rsp",
        "and rsp, -16",
        "call {fixup}",
        "mov rsp, rbx",
        "mov eax, {n}",
        "syscall",
        "ud2",
        fixup = sym crate::preempt::resume_fixup,
        n = const nr::RT_SIGRETURN,
    )
}

/// The qemu-user emulator of this arch (the test harness runs a foreign binary through it).
pub const QEMU_USER: &str = "qemu-x86_64";

/// Name of clock_gettime in the x86-64 vDSO.
pub const VDSO_CLOCK_GETTIME: &[u8] = b"__vdso_clock_gettime";

/// Per-arch setup at the end of osinit (Go's osArchInit): nothing on amd64.
pub fn os_arch_init() {}

/// The least guard below a goroutine stack (stack_guard_size): amd64 probes large frames, so one
/// page is enough.
pub const MIN_STACK_GUARD: usize = 0;
