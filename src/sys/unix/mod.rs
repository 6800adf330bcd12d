//! What linux and darwin share (Go's signal_unix.go and the common parts of os_linux.go and
//! os_darwin.go): the synchronous signal numbers both use, the signal set, the thread signal mask
//! kept across minit, si_code, and the no-op forms of the context-switch hooks (only windows has
//! something to do when a thread changes stacks). Each OS supplies `sigprocmask`, `SIG_SETMASK`,
//! `NSIG` and `signalstack`, which this file builds on; signal_unix.rs is the handler on top.

#[cfg(target_arch = "x86_64")]
pub(crate) mod amd64;
// Sockets (gort::net) on every unix.
pub mod sockaddr;

/// The values of open(2)'s flags on one OS (linux and darwin number them differently).
pub struct OpenFlags {
    /// O_WRONLY.
    pub wronly: u32,
    /// O_RDWR.
    pub rdwr: u32,
    /// O_APPEND.
    pub append: u32,
    /// O_CREAT.
    pub creat: u32,
    /// O_TRUNC.
    pub trunc: u32,
    /// O_EXCL.
    pub excl: u32,
}

impl OpenFlags {
    /// Go's os.OpenFile mapping of `how` to open(2) flags (without O_CLOEXEC and the OS's own):
    /// the access mode from read/write/append, then O_APPEND, O_TRUNC, O_CREAT(|O_EXCL).
    pub fn of(&self, how: &super::OpenHow) -> u32 {
        let mut flags = match (how.read, how.write || how.append) {
            (true, true) => self.rdwr,
            (false, true) => self.wronly,
            _ => 0,
        };
        if how.append {
            flags |= self.append;
        }
        if how.truncate {
            flags |= self.trunc;
        }
        if how.create_new {
            flags |= self.creat | self.excl;
        } else if how.create {
            flags |= self.creat;
        }
        flags
    }
}

/// SIGQUIT.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // darwin keeps its default action
pub const SIGQUIT: i32 = 3;
/// SIGSEGV.
pub const SIGSEGV: i32 = 11;
/// SIGFPE.
pub const SIGFPE: i32 = 8;
/// SIGILL.
pub const SIGILL: i32 = 4;

/// A signal set, bit sig-1 for signal sig: the kernel's sigset_t on linux (64 signals); darwin's
/// sigset_t is 32 bits, kept in a 64-bit word so signal_unix.rs treats both OSes alike.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SigSet(pub u64);

impl SigSet {
    /// No signals.
    pub const fn empty() -> Self {
        SigSet(0)
    }
    /// Every signal the OS has (`NSIG` of them).
    pub const fn all() -> Self {
        SigSet(u64::MAX >> (64 - super::NSIG))
    }
}

/// Returns the current thread's signal mask.
pub fn getsigmask() -> SigSet {
    let mut s = SigSet::empty();
    super::sigprocmask(super::SIG_SETMASK, None, Some(&mut s));
    s
}

/// Sets the current thread's signal mask.
pub fn setsigmask(s: &SigSet) {
    super::sigprocmask(super::SIG_SETMASK, Some(s), None);
}

/// si_code from a siginfo.
///
/// # Safety
/// `info` must be the siginfo the kernel passed to the handler.
pub unsafe fn siginfo_code(info: *const u8) -> i32 {
    // SAFETY: si_code is the third int on both OSes.
    unsafe { *((info as usize + 8) as *const i32) }
}

/// The signal mask the process started with (Go's initSigmask).
static INIT_SIGMASK: crate::gmp::Global<SigSet> = crate::gmp::Global::new(SigSet::empty());

/// Saves the initial signal mask (schedinit); returns it for boottrace.
pub fn save_initsigmask() -> u64 {
    let m = getsigmask();
    // SAFETY: single-threaded boot.
    unsafe { *INIT_SIGMASK.get() = m };
    m.0
}

/// Go's minit: thread id, the signal stack (gsignal's), the signal mask.
pub fn minit(mp: *mut crate::gmp::M) {
    // SAFETY: mp is the calling thread's M; gsignal was allocated by mpreinit.
    unsafe {
        (*mp).procid = super::gettid();
        // darwin signals a thread by its pthread_t (asynchronous preemption).
        #[cfg(target_os = "macos")]
        (*mp).pthread.store(super::pthread_self(), core::sync::atomic::Ordering::Release);
        let gs = (*mp).gsignal;
        super::signalstack((*gs).stack.lo, (*gs).stack.hi - (*gs).stack.lo);
        let init = *INIT_SIGMASK.get();
        let mut mask = init;
        crate::signal_unix::unblock_fatal(&mut mask);
        // m0's mask is still the one save_initsigmask read on this thread: nothing to set when
        // no fatal signal was blocked (the usual start; one system call less). Every other M
        // starts with all signals blocked (newosproc) and always sets it.
        if mask != init || !core::ptr::eq(mp, crate::proc::m0()) {
            setsigmask(&mask);
        }
    }
}

/// Go's initsig: m0 installs the handlers for the synchronous signals.
pub fn initsig() {
    crate::signal_unix::initsig();
}

/// The no-op context-switch hooks (see `arch/<arch>.rs`): a unix thread's stack bounds are nobody's
/// business, and the switch code needs no operands beyond its own.
pub(crate) mod switch_hooks {
    /// Nothing to tell the OS after a switch onto another stack.
    macro_rules! stack_switched {
        ($($t:tt)*) => {
            ""
        };
    }
    /// `naked_asm!` as it is: the hooks name no operands.
    macro_rules! os_naked_asm {
        ($($t:tt)*) => {
            core::arch::naked_asm!($($t)*)
        };
    }
    pub(crate) use {os_naked_asm, stack_switched};
}

/// The kind of file from `st_mode`'s S_IFMT bits (the same on linux and darwin).
pub(crate) fn kind_of_mode(mode: u32) -> crate::sys::FileKind {
    use crate::sys::FileKind;
    match mode & 0o170000 {
        0o100000 => FileKind::File,
        0o040000 => FileKind::Dir,
        0o120000 => FileKind::Symlink,
        _ => FileKind::Other,
    }
}
