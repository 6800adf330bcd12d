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
pub mod lock_futex;
pub mod malloc;
pub mod offsets;
pub mod sys;
#[doc(hidden)]
pub mod print;
pub mod proc;
pub mod runq;
pub mod runtime1;
pub mod runtime2;
pub mod signal;
pub mod stack;
pub mod time;

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
    /// Entry of a spawned goroutine: takes its closure back from the heap and runs it.
    extern "C" fn gostart<F: FnOnce()>(ctx: usize) {
        // SAFETY: ctx is the Box<F> leaked by `go` below, consumed exactly once here.
        let f = unsafe { alloc::boxed::Box::from_raw(ctx as *mut F) };
        f();
    }
    proc::preempt_check();
    let ctx = alloc::boxed::Box::into_raw(alloc::boxed::Box::new(f)) as usize;
    proc::newproc(gostart::<F> as *const () as usize, ctx);
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

/// The personality routine that precompiled `core` references even with panic=abort.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
