//! linux/arm64: the TLS mechanism (TPIDR_EL0), raw system calls and their numbers, clone, the
//! signal return trampoline and the signal context layout (Go's sys_linux_arm64.s,
//! signal_linux_arm64.go, os_linux_arm64.go and the linux parts of tls_arm64.h). The context
//! switches are arch/arm64.rs; they expand the TLS macros below.
//!
//! TLS: TPIDR_EL0 points at `m.tls` (set by rt0 with `msr tpidr_el0` for m0, by clone's
//! CLONE_SETTLS for other Ms), and `m.tls[0]` holds the current g, so `getg` is
//! `mrs x, tpidr_el0; ldr x, [x]`.

use core::arch::{asm, naked_asm};

use crate::gmp::G;
use crate::offsets::*;

/// Name of the TLS mechanism, for boottrace.
pub const TLS_MECHANISM: &str = "msr tpidr_el0 -> &m.tls, getg = mrs tpidr_el0; ldr [x]";

/// Returns the current g from TLS (Go's getg).
#[inline(always)]
pub fn getg() -> *mut G {
    let gp: *mut G;
    // SAFETY: tpidr_el0 points at this thread's m.tls once rt0/clone set it.
    unsafe {
        asm!("mrs {t}, tpidr_el0", "ldr {g}, [{t}]", t = out(reg) _, g = out(reg) gp,
            options(nostack, readonly, preserves_flags))
    };
    gp
}

/// Whether a register may hold an address derived from this thread's thread pointer at `pc`
/// (asynchronous preemption declines there: resumed on another thread, the goroutine would use
/// the old thread's TLS slot; preempt.rs `async_safe_point`). getg is `mrs x, tpidr_el0; ldr g, [x]`, and mcall and systemstack keep the slot's address
/// in a register until they have made g0 current: any of the last instructions reading
/// TPIDR_EL0 (`mrs Xt, tpidr_el0`) makes the window.
///
/// # Safety
/// `pc` is an interrupted instruction's address in mapped code.
pub unsafe fn thread_pointer_live(pc: usize) -> bool {
    // SAFETY: as the contract.
    unsafe { crate::preempt::read_recently(pc, 4, |w| w & 0xffff_ffe0 == 0xd53b_d040, super::code_mapped) }
}

/// Assembly that leaves the address of the current g's TLS slot in register `$r` (`$t` is
/// scratch): TPIDR_EL0 = &m.tls, whose word 0 is the slot.
macro_rules! g_slot {
    ($r:literal, $t:literal) => {
        concat!("mrs ", $r, ", tpidr_el0")
    };
}
/// Loads the address of symbol operand `$s` into register `$r` (ELF relocation syntax).
macro_rules! adr_sym {
    ($r:literal, $s:literal) => {
        concat!("adrp ", $r, ", ", $s, "\n", "add ", $r, ", ", $r, ", :lo12:", $s)
    };
}
pub(crate) use crate::sys::unix::switch_hooks::{os_naked_asm, stack_switched};
pub(crate) use {adr_sym, g_slot};

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

/// Linux system call numbers used by the runtime (arm64: the asm-generic table).
#[allow(missing_docs)]
pub mod nr {
    pub const READ: usize = 63;
    pub const WRITE: usize = 64;
    pub const OPENAT: usize = 56;
    pub const CLOSE: usize = 57;
    pub const LSEEK: usize = 62;
    pub const MMAP: usize = 222;
    pub const MPROTECT: usize = 226;
    pub const MUNMAP: usize = 215;
    pub const MADVISE: usize = 233;
    pub const PROCESS_MADVISE: usize = 440;
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
    #[cfg(gort_pprof)]
    pub const SETITIMER: usize = 103;
    pub const PPOLL: usize = 73;
    pub const FUTEX: usize = 98;
    pub const SCHED_GETAFFINITY: usize = 123;
    pub const CLOCK_GETTIME: usize = 113;
    pub const EXIT_GROUP: usize = 94;
    pub const EXECVE: usize = 221;
    pub const WAIT4: usize = 260;
    pub const READLINKAT: usize = 78;
    pub const GETCPU: usize = 168;
    // The netpoller and gort::net.
    pub const EVENTFD2: usize = 19;
    pub const EPOLL_CREATE1: usize = 20;
    pub const EPOLL_CTL: usize = 21;
    pub const EPOLL_PWAIT: usize = 22;
    pub const SOCKET: usize = 198;
    pub const BIND: usize = 200;
    pub const LISTEN: usize = 201;
    pub const CONNECT: usize = 203;
    pub const GETSOCKNAME: usize = 204;
    pub const GETPEERNAME: usize = 205;
    pub const SENDTO: usize = 206;
    pub const RECVFROM: usize = 207;
    pub const SETSOCKOPT: usize = 208;
    pub const GETSOCKOPT: usize = 209;
    pub const SHUTDOWN: usize = 210;
    pub const ACCEPT4: usize = 242;
    pub const FSYNC: usize = 82;
    pub const FTRUNCATE: usize = 46;
    pub const UNLINKAT: usize = 35;
    pub const RENAMEAT: usize = 38;
    pub const MKDIRAT: usize = 34;
    pub const GETDENTS64: usize = 61;
    pub const STATX: usize = 291;
    pub const FCNTL: usize = 25;
    pub const PIPE2: usize = 59;
}

/// `O_DIRECTORY` of this arch's open flags (arm and arm64 differ from x86).
pub const O_DIRECTORY: usize = 0o40000;
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

/// Reads TPIDR_EL0 (for boottrace: proves TLS points at m0.tls).
pub fn tls_base() -> usize {
    let base: usize;
    // SAFETY: reads a register.
    unsafe { asm!("mrs {}, tpidr_el0", out(reg) base, options(nomem, nostack, preserves_flags)) };
    base
}

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

/// The signal-return trampoline installed as sa_restorer.
///
/// # Safety
/// Only the kernel returns here, at the end of a signal handler.
#[unsafe(naked)]
pub unsafe extern "C" fn sigreturn() {
    naked_asm!("mov x8, #{n}", "svc #0", "brk #0", n = const nr::RT_SIGRETURN)
}

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

/// Where a signal frame starts relative to the ucontext the handler gets: rt_sigframe is
/// {siginfo (128), ucontext} on arm64.
pub const SIGFRAME_UC_OFFSET: usize = 128;
/// The stack pointer rt_sigreturn wants, relative to the frame's start (it reads the frame at
/// sp).
pub const SIGRETURN_SP_OFFSET: usize = 0;

/// Moves the absolute pointers of a signal frame copied from `[lo, hi)` by `delta` bytes: the
/// datap of an extra_context record (large SVE state), if the frame has one.
///
/// # Safety
/// `uc` is the ucontext inside the copy.
pub unsafe fn sigframe_relocate(uc: *mut u8, lo: usize, hi: usize, delta: usize) {
    const EXTRA_MAGIC: u32 = 0x4558_5401;
    // sigcontext.__reserved: uc_mcontext at uc+176, __reserved at +288 of it, 4096 bytes of
    // {magic u32, size u32} records ended by magic 0.
    let base = uc as usize + 176 + 288;
    let mut off = 0;
    while off + 8 <= 4096 {
        // SAFETY: inside __reserved, as the kernel laid it out.
        let (magic, size) = unsafe { (*((base + off) as *const u32), *((base + off + 4) as *const u32)) };
        if magic == 0 || size == 0 {
            break;
        }
        if magic == EXTRA_MAGIC {
            let datap = (base + off + 8) as *mut usize;
            // SAFETY: extra_context {head, datap u64, size u32, ...}.
            unsafe {
                if (lo..hi).contains(&*datap) {
                    *datap = (*datap).wrapping_add(delta);
                }
            }
        }
        off += size as usize;
    }
}

/// Makes the interrupted context call `f(arg)` on the stack whose top is `sp` (lr 0) when the
/// handler returns.
///
/// # Safety
/// `uc` is the running handler's ucontext.
pub unsafe fn sigctxt_set_call(uc: *mut u8, f: usize, sp: usize, arg: usize) {
    let regs = (uc as usize + 184) as *mut usize;
    // SAFETY: layout as in sigctxt_pc_sp: regs[31] at 184, sp 432, pc 440, pstate 448.
    unsafe {
        *regs = arg;
        *regs.add(29) = 0;
        *regs.add(30) = 0;
        *((uc as usize + 432) as *mut usize) = sp & !15;
        *((uc as usize + 440) as *mut usize) = f;
        *((uc as usize + 448) as *mut usize) &= !(3 << 10); // PSTATE.BTYPE clear
    }
}

/// Entered by gogo for a goroutine preempted asynchronously: sp is its saved signal frame and
/// x0 that frame's ucontext. Fixes the frame for this thread (`fixup`), then rt_sigreturn
/// restores every register as the signal found them.
///
/// # Safety
/// Only through gogo with the gobuf preempt.rs prepared.
#[unsafe(naked)]
pub unsafe extern "C" fn sigreturn_resume() {
    naked_asm!(
        "mov x19, sp",
        "bl {fixup}",
        "mov sp, x19",
        "mov x8, #{n}",
        "svc #0",
        "brk #0",
        fixup = sym crate::preempt::resume_fixup,
        n = const nr::RT_SIGRETURN,
    )
}

/// The qemu-user emulator of this arch (the test harness runs a foreign binary through it).
pub const QEMU_USER: &str = "qemu-aarch64";

/// Name of clock_gettime in the arm64 vDSO.
pub const VDSO_CLOCK_GETTIME: &[u8] = b"__kernel_clock_gettime";

/// compiler_builtins' outline-atomics constructor (`init_have_lse_atomics`) references libc's
/// getauxval. gort links no libc and runs no constructors, so this is never really called; it
/// answers 0 (no LSE: the LL/SC fallbacks are used).
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn getauxval(_type: core::ffi::c_ulong) -> core::ffi::c_ulong {
    0
}

/// Per-arch setup at the end of osinit (Go's osArchInit): nothing on arm64.
pub fn os_arch_init() {}

/// The least guard below a goroutine stack (stack_guard_size): arm64 probes large frames, so one
/// page is enough.
pub const MIN_STACK_GUARD: usize = 0;
