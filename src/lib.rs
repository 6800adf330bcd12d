//! gort: Go's runtime, rebuilt in Rust. A `no_std` runtime that becomes the process entry point
//! (asm/rt0_<os>_<arch>.S), walks Go's startup sequence (see `proc`) and runs the program's `main`
//! as goroutine 1 of a GMP scheduler.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! gort::main!(main);
//! fn main() {
//!     gort::println!("hello from goroutine 1 of {}", gort::gomaxprocs(0));
//! }
//! ```
#![cfg_attr(not(test), no_std)]
#![allow(clippy::missing_safety_doc)] // every unsafe fn carries a `# Safety` section; see HACKING.md

extern crate alloc;
#[cfg(not(test))]
extern crate gort_mem;

pub mod alg;
pub mod arch;
pub mod chan;
#[cfg(test)]
mod fuzz;
pub mod lock_futex;
pub mod malloc;
pub mod mheap;
pub mod offsets;
#[doc(hidden)]
pub mod print;
pub mod proc;
pub mod runq;
pub mod runtime1;
pub mod runtime2;
#[cfg(unix)]
pub mod signal_unix;
pub mod stack;
pub mod sync;
pub mod sys;
pub mod time;

pub use chan::{chan, Receiver, SendError, Sender};

pub use print::throw;

/// Declares the program's entry goroutine: `gort::main!(main);` in a `#![no_main]` binary.
///
/// The runtime calls it as goroutine 1 once the scheduler runs; when it returns the process exits
/// with status 0, whatever other goroutines are doing (as in Go).
#[macro_export]
macro_rules! main {
    ($main:path) => {
        #[no_mangle]
        #[doc(hidden)]
        pub fn gort_user_main() {
            let f: fn() = $main;
            f()
        }
    };
}

/// Starts a goroutine running `f` (Go's `go` statement).
pub fn go<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    go_with_stack(stack::stack_size(), f)
}

/// Starts `f` as a new goroutine with a stack of `stack_size` bytes instead of the default
/// (GORT_STACK_SIZE, else 64 KB): rounded up to a power of two within 2 KB ..= 256 MB (4 KB ..=
/// 256 MB on windows). Small stacks hold more parked goroutines in less memory; overflow is
/// detected as for any stack (stacks below a page have no guard page: their canary and the word
/// above them are checked at every switch, see stack.rs).
pub fn go_with_stack<F>(stack_size: usize, f: F)
where
    F: FnOnce() + Send + 'static,
{
    /// Entry of a spawned goroutine: takes its closure back from the heap and runs it.
    extern "C" fn gostart<F: FnOnce()>(ctx: usize) {
        // SAFETY: ctx is the Box<F> leaked below, consumed exactly once here.
        let f = unsafe { alloc::boxed::Box::from_raw(ctx as *mut F) };
        f();
    }
    proc::preempt_check();
    let ctx = alloc::boxed::Box::into_raw(alloc::boxed::Box::new(f)) as usize;
    proc::newproc_stack(gostart::<F> as *const () as usize, ctx, stack_size);
}

/// Yields the processor, letting other goroutines run (Go's runtime.Gosched).
pub fn gosched() {
    proc::gosched();
}

/// Queries (n = 0) or sets (n > 0) the number of Ps; returns the previous value
/// (Go's runtime.GOMAXPROCS). Setting stops the world briefly.
pub fn gomaxprocs(n: i32) -> i32 {
    proc::preempt_check();
    proc::set_gomaxprocs(n)
}

/// Sets the most OS threads (Ms) the program may use, default 10000, and returns the previous
/// limit (Go's runtime/debug.SetMaxThreads). Going past the limit is fatal: "thread exhaustion".
pub fn set_max_threads(n: i32) -> i32 {
    proc::set_max_threads(n)
}

/// Puts the goroutine to sleep for at least `d` (Go's time.Sleep). Other goroutines run meanwhile.
pub fn sleep(d: core::time::Duration) {
    proc::preempt_check();
    let ns = d.as_nanos().min(i64::MAX as u128 / 2) as i64;
    if ns <= 0 {
        return;
    }
    let when = time::nanotime().saturating_add(ns);
    /// gopark hook: arms the timer once the goroutine is parked (so it cannot fire early).
    unsafe fn reset_for_sleep(gp: *mut runtime2::G, _: usize) -> bool {
        // SAFETY: on g0 of an M holding a P; gp is parked and its timer.when was set below.
        let when = unsafe { (*gp).timer.when };
        // SAFETY: as above.
        unsafe { time::addtimer(proc::getp(), when, gp) };
        proc::timer_added(when);
        true
    }
    // SAFETY: the running goroutine's own timer field.
    unsafe { (*arch::getg()).timer.when = when };
    proc::gopark(Some(reset_for_sleep), 0, runtime2::WaitReason::Sleep);
}

/// Blocking system calls: while one runs, the goroutine's P is handed to another M, so other
/// goroutines keep running (Go's entersyscall/exitsyscall).
/// On windows there is no raw system call: wrap the Win32 call in `blocking` (as
/// tests/e2e/src/lib.rs does for ReadFile and Sleep).
pub mod syscall {
    /// Runs `f`, which may block in the kernel, outside the scheduler: the P can be taken by
    /// another M meanwhile. `f` must not use channels, spawn, sleep or other runtime services;
    /// allocation and printing are fine.
    pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
        crate::proc::preempt_check();
        crate::proc::entersyscall();
        let r = f();
        crate::proc::exitsyscall();
        r
    }

    #[cfg(target_os = "linux")]
    /// Raw Linux system call `nr` with six arguments, run as a blocking call. Returns the
    /// kernel's result (negative errno on failure).
    ///
    /// # Safety
    /// The arguments must be valid for system call `nr` (pointers to live memory etc.).
    pub unsafe fn syscall6(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> isize {
        // SAFETY: forwarded to the caller.
        blocking(|| unsafe { crate::arch::syscall6(nr, a1, a2, a3, a4, a5, a6) })
    }
}

pub use malloc::MemStats;

/// The allocator's statistics (the heap part of Go's runtime.ReadMemStats).
pub fn read_mem_stats() -> MemStats {
    malloc::read_mem_stats()
}

/// Gives all free heap memory back to the OS now (Go's runtime/debug.FreeOSMemory): every P's
/// cached objects go back to their spans (a brief stop-the-world), then every free span is
/// released. Returns the bytes released. Without it, sysmon releases spans that stay free for
/// half a second.
pub fn free_os_memory() -> usize {
    proc::preempt_check();
    proc::free_os_memory()
}

/// Number of CPUs the process may use (Go's runtime.NumCPU).
pub fn num_cpu() -> u32 {
    sys::ncpu()
}

/// Number of goroutines that exist (Go's runtime.NumGoroutine).
pub fn num_goroutine() -> i64 {
    proc::num_goroutine()
}

/// Process arguments and environment (Go's os package, the parts gort provides).
pub mod os {
    /// The command-line arguments, argv[0] first, as raw bytes.
    pub fn args() -> &'static [&'static [u8]] {
        crate::runtime1::argslice()
    }

    /// The raw value of environment variable `key`, if set.
    pub fn getenv(key: &str) -> Option<&'static [u8]> {
        crate::runtime1::gogetenv(key)
    }

    /// The whole environment as `KEY=value` byte strings.
    pub fn environ() -> &'static [&'static [u8]] {
        crate::runtime1::envs()
    }

    /// Ends the process at once with `code` (Go's os.Exit): other goroutines do not run on.
    pub fn exit(code: i32) -> ! {
        crate::sys::exit(code)
    }
}

/// MSVC targets reference `_fltused` from any object that uses floating point (the CRT defines it).
#[cfg(all(not(test), windows))]
#[no_mangle]
#[used]
pub static _fltused: i32 = 0;

/// The MSVC C++/SEH personality routine: precompiled `alloc`'s unwind tables name it. Nothing
/// ever unwinds (panic=abort), but the system's frame-based dispatch may consult it while it
/// looks for a handler of an exception gort's vectored handler declined: continue the search.
#[cfg(all(not(test), windows, target_env = "msvc"))]
#[no_mangle]
pub extern "C" fn __CxxFrameHandler3(_: usize, _: usize, _: usize, _: usize) -> i32 {
    1 // ExceptionContinueSearch
}

/// The personality routine that precompiled `core` references even with panic=abort.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

/// Precompiled `alloc` (built with unwinding) references this even though gort programs use
/// panic=abort; nothing can ever unwind into it.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn _Unwind_Resume() -> ! {
    throw("_Unwind_Resume called: gort programs are built with panic=abort")
}
