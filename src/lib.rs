//! gort is Go's runtime rebuilt in Rust: a `no_std` crate plus a hand-written assembly entry
//! point (`asm/rt0_<os>_<arch>.S`) that becomes the process entry point of your program, walks
//! the startup sequence of Go's runtime, and runs your `main` as goroutine 1 of a real GMP
//! scheduler: per-P run queues with work stealing, spinning Ms, system-call hand-off, sysmon,
//! timers, channels, select, and a Go-style allocator. No libc on Linux.
//!
//! A complete program:
//!
//! ```
//! #![no_std]
//! #![no_main]
//! gort::main!(main);
//!
//! fn main() {
//!     let (tx, rx) = gort::chan::<u64>(0);
//!     for i in 0..10 {
//!         let tx = tx.clone();
//!         gort::go(move || tx.send(i * i).unwrap());
//!     }
//!     drop(tx); // the channel closes when the last Sender is gone
//!     let sum: u64 = rx.sum();
//!     assert_eq!(sum, 285);
//!     gort::println!("sum={} gomaxprocs={}", sum, gort::gomaxprocs(0));
//! }
//! ```
//!
//! # What is here
//!
//! - Goroutines: [`go`], [`go_with_stack`], [`gosched`], [`sleep`], [`num_goroutine`];
//!   [`lock_os_thread`] / [`unlock_os_thread`] wire one to its OS thread.
//! - Channels: [`chan()`] makes a ([`Sender`], [`Receiver`]) pair (`send`, `try_send`, `recv`,
//!   `try_recv`, `iter`, `try_iter`, `close`, `len`, `capacity`; [`Receiver::never`] is Go's nil
//!   channel); [`select!`] waits on several, as Go's `select`.
//! - [`sync`]: `Mutex`, `WaitGroup`, `Once` whose waiters park instead of spinning.
//! - [`time`]: the monotonic [`time::Instant`], the wall clock [`time::SystemTime`], sleeps,
//!   timers and tickers ([`time::after`], [`time::Timer`], [`time::Ticker`], ...), all on the
//!   runtime's per-P timer heaps; channel operations with a timeout
//!   ([`Receiver::recv_timeout`], [`Sender::send_timeout`]).
//! - [`context`]: cancellation and deadlines across goroutines (Go's context package).
//! - The scheduler's knobs: [`gomaxprocs`], [`num_cpu`], [`set_max_threads`].
//! - Memory: `alloc` (`Box`, `Vec`, `Arc`, ...) works through gort's allocator;
//!   [`read_mem_stats`] and [`free_os_memory`] look at and trim its heap.
//! - [`fs`]: files and directories (Go's os file functions, std::fs-shaped); [`io`]: the one
//!   I/O error type. Files and the standard streams implement `embedded-io`'s traits.
//! - [`os`]: arguments, environment, standard input and output, exit. [`syscall`]: blocking calls that hand the P to
//!   another thread while they block, and raw Linux system calls.
//! - [`print!`], [`println!`], [`eprint!`], [`eprintln!`]: formatted output without allocation.
//!
//! # Linking
//!
//! A gort program is a `#![no_std] #![no_main]` binary built with `panic = "abort"` for an
//! explicit `--target`, linked with the flags gort's build script publishes: forward them from
//! your crate's `build.rs` (and say so with `cfg(gort_link_args)`, which [`main!`] checks):
//!
//! ```text
//! fn main() {
//!     let args = std::env::var("DEP_GORT_LINK_ARGS").expect("gort's build script sets DEP_GORT_LINK_ARGS");
//!     for a in args.split_whitespace() {
//!         println!("cargo::rustc-link-arg={a}");
//!     }
//!     println!("cargo::rustc-check-cfg=cfg(gort_link_args)");
//!     println!("cargo::rustc-cfg=gort_link_args");
//! }
//! ```
//!
//! Tests: [`test_main!`] in a `harness = false` test target runs each `#[test]` as a goroutine
//! in a child process of its own.
//!
//! The README ("Your first gort program") has the whole recipe per target, the environment
//! variables the runtime reads (`GOMAXPROCS`, `GODEBUG`, `GORT_STACK_SIZE`) and every failure
//! message and exit code ("Messages and exit codes"); they follow Go's.
#![cfg_attr(not(test), no_std)]
#![warn(missing_docs)]
#![warn(missing_debug_implementations)]
// Host unit tests build the crate without the runtime (no rt0, the system allocator), so the
// scheduler paths they do not exercise are unused there; the target builds report dead code.
#![cfg_attr(test, allow(dead_code))]

extern crate alloc;
#[cfg(not(test))]
extern crate gort_mem;

mod alg;
mod arch;
mod args;
mod chan;
pub mod context;
#[cfg(gort_pprof)]
mod cpuprof;
#[cfg(target_os = "linux")]
mod demangle;
pub mod fs;
#[cfg(test)]
mod fuzz;
mod gmp;
pub mod io;
mod lock_futex;
mod malloc;
mod mheap;
#[cfg(gort_pprof)]
mod mprof;
#[cfg(any(unix, windows))]
pub mod net;
mod netpoll;
mod offsets;
mod overflow;
mod pipe;
#[cfg(gort_pprof)]
mod pprof_proto;
mod preempt;
mod print;
mod proc;
mod runq;
#[cfg(unix)]
mod signal_unix;
mod spinning;
mod stack;
mod stdio;
mod sudog;
#[cfg(target_os = "linux")]
mod symtab;
pub mod sync;
mod sys;
mod testmain;
pub mod time;
mod timer;
pub mod trace;
#[cfg(gort_traceback)]
mod traceback;

pub use chan::{
    chan, Iter, Receiver, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryIter, TryRecvError, TrySendError,
};

use print::throw;

/// What the exported macros expand to. Not part of the API: names and signatures change
/// without notice. Everything here is as safe as the rest of the crate: no function can break a
/// runtime invariant whatever it is called with.
#[doc(hidden)]
pub mod __private {
    pub use crate::chan::{selectgo, Case, RecvCase, SelectRecv, SelectSend, SendCase};
    pub use crate::print::print;
    pub use crate::testmain::{main as test_main, Test, TestResult};
}

/// Refuses to compile a program whose crate's build.rs does not forward gort's link flags (it sets
/// `cfg(gort_link_args)` when it does): without them the link fails later with `undefined symbol:
/// main` and `__libc_start_main`, which says nothing about the cause. Not part of the API.
#[doc(hidden)]
#[macro_export]
macro_rules! __link_check {
    () => {
        #[allow(unexpected_cfgs)]
        const _: () = {
            #[cfg(not(gort_link_args))]
            ::core::compile_error!(
                "gort: this crate's build.rs does not forward gort's link flags: add the build.rs of gort's README \"Your first gort program\" (it prints cargo::rustc-link-arg for DEP_GORT_LINK_ARGS and cargo::rustc-cfg=gort_link_args)"
            );
        };
        #[doc(hidden)]
        #[export_name = "gort: no gort::main!(main) in this program (or gort::test_main! in this harness = false test)"]
        pub extern "C" fn __gort_main_hint() {}
    };
}

/// Declares the program's entry goroutine: `gort::main!(main);` in a `#![no_main]` binary.
///
/// The runtime calls it as goroutine 1 once the scheduler runs; when it returns the process exits
/// with status 0, whatever other goroutines are doing (as in Go).
///
/// ```
/// #![no_std]
/// #![no_main]
/// gort::main!(start);
///
/// fn start() {
///     gort::println!("hello from goroutine 1");
/// }
/// ```
#[macro_export]
macro_rules! main {
    ($main:path) => {
        $crate::__link_check!();
        #[no_mangle]
        #[doc(hidden)]
        pub fn gort_user_main() {
            // black_box keeps `main` a frame of its own (not inlined here), so a traceback shows
            // it by name; gort_user_main itself is hidden as runtime glue (traceback/).
            let f: fn() = ::core::hint::black_box($main as fn());
            f()
        }
    };
}

/// Declares a test target's tests and runs them, one goroutine in a child process each, the way
/// `go test` runs a package's tests: `cargo test` in a crate whose `[[test]]` target has
/// `harness = false` (README "Your first gort program").
///
/// The macro takes the whole test file: every `fn` marked `#[test]` (with no parameters,
/// returning `()` or a `Result<(), E: Debug>`) is a test, `#[ignore]` after `#[test]` marks it
/// ignored, and every other item (`use`, helper functions, statics, modules) is passed through
/// as it is. Tests inside nested modules are not found. Each item is one step of the macro's
/// recursion: past about 120 items, raise `#![recursion_limit]`.
///
/// The harness prints libtest's lines (`running N tests`, `test NAME ... ok` / `FAILED`,
/// `test result: ok. P passed; F failed; ...`), takes libtest's name filters, `--exact`,
/// `--skip`, `--list`, `--ignored`, `--include-ignored`, and exits 101 when a test failed. Each
/// test runs as a goroutine in a child process of its own (the same executable, started again:
/// fork and execve on linux, through `qemu-<arch>` when run under qemu-user, CreateProcessW on
/// windows), so a panic, a fatal error or a stack overflow fails that test and the others still
/// run. Output is not captured.
///
/// ```text
/// #![no_std]
/// #![no_main]
/// extern crate alloc;
///
/// gort::test_main! {
///     use alloc::vec::Vec;
///
///     #[test]
///     fn squares_over_a_channel() {
///         let (tx, rx) = gort::chan::<u64>(0);
///         for i in 0..10u64 {
///             let tx = tx.clone();
///             gort::go(move || tx.send(i * i).unwrap());
///         }
///         drop(tx);
///         let mut v: Vec<u64> = rx.iter().collect();
///         v.sort();
///         assert_eq!(v[9], 81);
///     }
/// }
/// ```
#[macro_export]
macro_rules! test_main {
    ($($body:tt)*) => {
        $crate::__test_main_items! { [] $($body)* }
    };
}

/// test_main!'s muncher: takes one item at a time, collecting the `#[test]` functions' names
/// (and whether each is ignored) in the bracket. Not part of the API.
#[doc(hidden)]
#[macro_export]
macro_rules! __test_main_items {
    ([$(($name:ident $ign:literal))*]) => {
        $crate::main!(__gort_test_main);
        fn __gort_test_main() {
            $crate::__private::test_main(&[$($crate::__private::Test {
                name: ::core::stringify!($name),
                f: || $crate::__private::TestResult::check($name()),
                ignore: $ign,
            }),*])
        }
    };
    ([$($acc:tt)*] #[test] #[ignore $(= $why:literal)?] $(#[$m:meta])* $v:vis fn $name:ident () $(-> $r:ty)? $body:block $($rest:tt)*) => {
        $(#[$m])* $v fn $name() $(-> $r)? $body
        $crate::__test_main_items! { [$($acc)* ($name true)] $($rest)* }
    };
    ([$($acc:tt)*] #[test] $(#[$m:meta])* $v:vis fn $name:ident () $(-> $r:ty)? $body:block $($rest:tt)*) => {
        $(#[$m])* $v fn $name() $(-> $r)? $body
        $crate::__test_main_items! { [$($acc)* ($name false)] $($rest)* }
    };
    ([$($acc:tt)*] $item:item $($rest:tt)*) => {
        $item
        $crate::__test_main_items! { [$($acc)*] $($rest)* }
    };
}

/// Starts a goroutine running `f` (Go's `go` statement) on a stack of the default size
/// (`GORT_STACK_SIZE`, else 64 KB; 32 KB on 32-bit targets).
///
/// The goroutine runs concurrently with its caller, on any of the program's threads; when
/// `main` returns the process exits whether or not it has finished.
///
/// ```
/// use alloc::sync::Arc;
/// # extern crate alloc;
/// let wg = Arc::new(gort::sync::WaitGroup::new());
/// for i in 0..4 {
///     wg.add(1);
///     let wg = wg.clone();
///     gort::go(move || {
///         gort::println!("goroutine {}", i);
///         wg.done();
///     });
/// }
/// wg.wait();
/// ```
#[inline(always)]
#[track_caller]
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
#[inline(always)]
#[track_caller]
pub fn go_with_stack<F>(stack_size: usize, f: F)
where
    F: FnOnce() + Send + 'static,
{
    // Inlined into the caller (inline(always)), so this pc lies in the function with the `go`
    // call: Go's gopc, named by a goroutine dump's `created by` line.
    go_at(stack_size, f, arch::pc_here(), core::panic::Location::caller())
}

/// go_with_stack's body, with the creating call's pc and location (newproc's gopc).
fn go_at<F>(stack_size: usize, f: F, gopc: usize, loc: &'static core::panic::Location<'static>)
where
    F: FnOnce() + Send + 'static,
{
    proc::preempt_check();
    let ng = proc::newproc_begin(stack_size);
    // Into the g or onto the new goroutine's stack where the closure fits (no allocation),
    // else to the heap.
    let (entry, ctx, top) = match ng.closure_slot(core::alloc::Layout::new::<F>()) {
        Some((at, top)) => {
            // SAFETY: closure_slot's address lies in the dead g's closure buffer or at the top of
            // its own stack, unused, aligned for F.
            unsafe { core::ptr::write(at as *mut F, f) };
            (gostart::<F> as *const () as usize, at, top)
        }
        None => (
            gostart_boxed::<F> as *const () as usize,
            alloc::boxed::Box::into_raw(alloc::boxed::Box::new(f)) as usize,
            0,
        ),
    };
    // SAFETY: gostart::<F> finds its F at `at` (top: closure_slot's), gostart_boxed::<F>
    // takes its Box back; F is Send + 'static, so the goroutine may run anywhere, any time.
    unsafe { proc::newproc_end(ng, entry, ctx, top, gopc, Some(loc), true) };
}

/// Entry of a spawned goroutine whose closure go_at moved into its g or to the top of its stack:
/// takes it from there and runs it.
extern "C" fn gostart<F: FnOnce()>(ctx: usize) {
    // SAFETY: ctx is the closure's copy made by go_at for this goroutine (in its g, or above
    // its frames; aligned for F), read exactly once here; the bytes stay but are never used
    // again.
    let f = unsafe { core::ptr::read(ctx as *const F) };
    f();
}

/// Entry of a spawned goroutine whose closure is on the heap: takes it back and runs it.
extern "C" fn gostart_boxed<F: FnOnce()>(ctx: usize) {
    // SAFETY: ctx is a block of Layout::new::<F>() from the global allocator holding the
    // closure (go_at, spawn_from_runtime), consumed exactly once here.
    let f = unsafe { alloc::boxed::Box::from_raw(ctx as *mut F) };
    f();
}

/// Starts `f` as a goroutine from the scheduler's own context (a timer firing on g0, Go's goFunc
/// timers): newproc without the checks a user goroutine's call passes. Needs a P.
pub(crate) fn spawn_from_runtime<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    let ctx = alloc::boxed::Box::into_raw(alloc::boxed::Box::new(f)) as usize;
    proc::newproc_timer(gostart_boxed::<F> as *const () as usize, ctx);
}

/// Yields the processor, letting other goroutines run (Go's runtime.Gosched).
pub fn gosched() {
    proc::gosched();
}

/// Wires the calling goroutine to its current OS thread (Go's runtime.LockOSThread): from now on
/// it runs only on this thread, and no other goroutine runs on it, until it has called
/// [`unlock_os_thread`] as many times as this. For code that depends on per-thread state (thread
/// ids, signal masks, namespaces, thread-affine system or GUI APIs).
///
/// If the goroutine exits while still locked, its thread exits too (Go's behaviour: the thread
/// may be in a state no other goroutine should inherit); the initial thread is parked for good
/// instead. Called as the first thing `main` does (before it parks, yields or blocks), it locks
/// `main` to the process's initial thread. Each park, yield or blocking call of a locked
/// goroutine costs a hand-off between two threads.
///
/// ```
/// gort::lock_os_thread();
/// gort::lock_os_thread(); // nested: two unlocks needed
/// let (tx, rx) = gort::chan::<u32>(0);
/// gort::go(move || tx.send(7).unwrap());
/// assert_eq!(rx.recv(), Some(7)); // parks; resumes on the same thread
/// gort::unlock_os_thread();
/// gort::unlock_os_thread(); // free to move again
/// ```
pub fn lock_os_thread() {
    proc::lock_os_thread();
}

/// Undoes one [`lock_os_thread`] (Go's runtime.UnlockOSThread); when the count reaches zero the
/// goroutine may move between threads again. Without a matching lock it does nothing.
pub fn unlock_os_thread() {
    proc::unlock_os_thread();
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
/// The same as [`time::sleep`].
pub fn sleep(d: core::time::Duration) {
    time::sleep(d)
}

/// Blocking system calls: while one runs, the goroutine's P is handed to another M, so other
/// goroutines keep running (Go's entersyscall/exitsyscall).
/// On windows there is no raw system call: wrap the Win32 call in `blocking` (as
/// tests/e2e/src/lib.rs does for ReadFile and Sleep).
pub mod syscall {
    /// Runs `f`, which may block in the kernel, outside the scheduler: the P can be taken by
    /// another M meanwhile. Allocation and printing work inside `f`; the services that need a P
    /// (channels, spawning, sleeping, waiting for a lock, yielding) panic there. Nested calls
    /// just run `f`.
    ///
    /// ```
    /// let n = gort::syscall::blocking(|| 6 * 7); // stands for a read(2) that may block
    /// assert_eq!(n, 42);
    /// ```
    pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
        if crate::proc::in_syscall() {
            return f(); // nested: the P is handed off already
        }
        crate::proc::preempt_check();
        crate::proc::entersyscall();
        let r = f();
        crate::proc::exitsyscall();
        r
    }

    /// Raw Linux system call `nr` with six arguments, run as a blocking call (Go's
    /// syscall.Syscall6): the P is handed off while the kernel blocks. Returns the kernel's result
    /// (negative errno on failure). The numbers are the target's own (`linux-raw-sys` has them).
    ///
    /// # Safety
    /// The arguments must be valid for system call `nr` (pointers to live memory etc.), and the
    /// call must not disturb what the runtime owns: its threads, signal handlers and stacks,
    /// its memory mappings, the thread pointer.
    #[cfg(target_os = "linux")]
    pub unsafe fn syscall6(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> isize {
        // SAFETY: forwarded to the caller.
        blocking(|| unsafe { crate::sys::syscall6(nr, a1, a2, a3, a4, a5, a6) })
    }

    /// Raw Linux system call `nr` with six arguments, made directly (Go's syscall.RawSyscall6):
    /// the goroutine keeps its P, so use it only for calls that never block (a futex wake, an
    /// execve that replaces the process).
    ///
    /// # Safety
    /// As for [`syscall6`].
    #[cfg(target_os = "linux")]
    pub unsafe fn raw_syscall6(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> isize {
        // SAFETY: forwarded to the caller.
        unsafe { crate::sys::syscall6(nr, a1, a2, a3, a4, a5, a6) }
    }
}

/// Go's runtime package functions about the program's own goroutines.
pub mod runtime {
    /// Go's `runtime.Stack`: the calling goroutine's `goroutine N [running]:` header and call
    /// chain, as a panic prints it, and with `all` every other goroutine's too (each with its
    /// wait reason, frames and `created by` line), the world stopped while they are read.
    /// Frames are listed on linux amd64 and arm64; elsewhere only the headers.
    ///
    /// ```no_run
    /// gort::go(|| gort::sleep(core::time::Duration::from_secs(1)));
    /// gort::println!("{}", gort::runtime::stack(true));
    /// ```
    pub fn stack(all: bool) -> alloc::string::String {
        crate::print::stack(all)
    }
}

pub use malloc::MemStats;

/// CPU and heap profiles in pprof's format (Go's runtime/pprof), for `go tool pprof`, with
/// gort's `pprof` cargo feature on linux (amd64, arm64, arm); without it, or elsewhere, the
/// functions return `Unsupported` (and the heap is not sampled). README
/// "Debugging" says how to take and read them; GODEBUG=cpuprofile=PATH and memprofile=PATH do
/// the same for a whole run.
///
/// ```no_run
/// gort::pprof::start_cpu("cpu.prof").unwrap();
/// // ... the work to profile ...
/// gort::pprof::stop().unwrap();
/// gort::pprof::write_heap("heap.prof").unwrap();
/// ```
pub mod pprof {
    use crate::io::Error;
    #[cfg(not(gort_pprof))]
    use crate::io::ErrorKind;

    /// Starts sampling the CPU at 100 Hz (SIGPROF); the profile goes to `path` at [`stop`]
    /// (Go's pprof.StartCPUProfile). The file is created now. AlreadyExists if a profile runs.
    pub fn start_cpu(path: impl AsRef<[u8]>) -> Result<(), Error> {
        #[cfg(gort_pprof)]
        return crate::cpuprof::start(path.as_ref());
        #[cfg(not(gort_pprof))]
        {
            let _ = path;
            Err(Error::new(ErrorKind::Unsupported, "CPU profiles need gort's `pprof` feature (linux)"))
        }
    }

    /// Stops the CPU profile and writes it (Go's pprof.StopCPUProfile); Ok if none runs.
    pub fn stop() -> Result<(), Error> {
        #[cfg(gort_pprof)]
        return crate::cpuprof::stop();
        #[cfg(not(gort_pprof))]
        Ok(())
    }

    /// Writes the heap profile of the allocations sampled so far (Go's
    /// pprof.WriteHeapProfile): in-use and allocated objects and bytes per allocation site.
    pub fn write_heap(path: impl AsRef<[u8]>) -> Result<(), Error> {
        #[cfg(gort_pprof)]
        return crate::mprof::write_heap(path.as_ref());
        #[cfg(not(gort_pprof))]
        {
            let _ = path;
            Err(Error::new(ErrorKind::Unsupported, "heap profiles need gort's `pprof` feature (linux)"))
        }
    }

    /// Sets the mean number of bytes allocated between heap samples (Go's
    /// runtime.MemProfileRate; 512 KiB by default, 0 stops sampling, 1 samples every
    /// allocation). Set it before the allocations it should see.
    pub fn set_mem_profile_rate(rate: usize) {
        #[cfg(gort_pprof)]
        crate::mprof::set_rate(rate);
        #[cfg(not(gort_pprof))]
        let _ = rate;
    }
}

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

/// Process arguments, environment, standard streams and exit (Go's os package, the parts gort
/// provides; its file functions are [`crate::fs`]).
pub mod os {
    pub use crate::pipe::{pipe, PipeReader, PipeWriter};

    /// The command-line arguments, `argv[0]` first, as raw bytes.
    pub fn args() -> &'static [&'static [u8]] {
        crate::args::argslice()
    }

    /// The raw value of environment variable `key`, if set.
    pub fn getenv(key: &str) -> Option<&'static [u8]> {
        crate::args::gogetenv(key)
    }

    /// The whole environment as `KEY=value` byte strings.
    pub fn environ() -> &'static [&'static [u8]] {
        crate::args::envs()
    }

    /// Standard output as a [`core::fmt::Write`] that reports failures: `write!(gort::os::stdout(),
    /// ...)` is `print!` (one write per call, see README "Output") returning `Err` when the write
    /// failed instead of dropping the output. A closed pipe ends the process by SIGPIPE, as in
    /// Go.
    ///
    /// ```
    /// use core::fmt::Write;
    /// let mut out = gort::os::stdout();
    /// writeln!(out, "{} goroutines", gort::num_goroutine()).expect("stdout failed");
    /// ```
    pub fn stdout() -> Stdout {
        Stdout { fd: 1 }
    }

    /// Standard error as a [`core::fmt::Write`] that reports failures, as [`stdout`].
    pub fn stderr() -> Stdout {
        Stdout { fd: 2 }
    }

    /// Standard output or standard error, from [`stdout`] or [`stderr`]: a `core::fmt::Write`
    /// and an `embedded_io::Write`.
    #[derive(Debug)]
    pub struct Stdout {
        fd: usize,
    }

    impl core::fmt::Write for Stdout {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            self.write_fmt(format_args!("{}", s))
        }
        fn write_fmt(&mut self, args: core::fmt::Arguments<'_>) -> core::fmt::Result {
            crate::print::print_to(self.fd, args).map_err(|_| core::fmt::Error)
        }
    }

    impl Stdout {
        /// Writes all of `buf` as one write under the print lock (so it never lands inside a
        /// print); a closed pipe ends the process by SIGPIPE, as a print does.
        pub fn write_all(&self, buf: &[u8]) -> Result<(), crate::io::Error> {
            crate::print::write_bytes(self.fd, buf).map_err(|e| crate::io::Error::from_raw_os_error(e as i32))
        }
    }

    impl embedded_io::ErrorType for Stdout {
        type Error = crate::io::Error;
    }

    impl embedded_io::Write for Stdout {
        /// Writes all of `buf` (see [`Stdout::write_all`]): the count is always `buf.len()`.
        fn write(&mut self, buf: &[u8]) -> Result<usize, crate::io::Error> {
            Stdout::write_all(self, buf).map(|()| buf.len())
        }
        /// Nothing is buffered: a no-op.
        fn flush(&mut self) -> Result<(), crate::io::Error> {
            Ok(())
        }
    }

    /// Standard input (Go's os.Stdin). Reads block the goroutine's thread inside
    /// [`crate::syscall::blocking`], so the P goes on running other goroutines: as Go does for an
    /// inherited stdin that is not non-blocking (Go never sets O_NONBLOCK on inherited stdio). A
    /// stdin that already is non-blocking (a pipe or terminal) goes to the network poller, as in
    /// Go: a read that finds nothing parks the goroutine, never the thread (linux). Lines read
    /// ahead by [`Stdin::read_line`] are kept in one buffer for the process, which later reads
    /// take first, so mixing the methods loses nothing.
    ///
    /// ```no_run
    /// let mut line = alloc::string::String::new();
    /// while gort::os::stdin().read_line(&mut line).unwrap() > 0 {
    ///     gort::print!("> {line}");
    ///     line.clear();
    /// }
    /// ```
    pub fn stdin() -> Stdin {
        Stdin { _private: () }
    }

    /// Standard input, from [`stdin`]. Implements `embedded_io::Read`.
    #[derive(Debug)]
    pub struct Stdin {
        _private: (),
    }

    /// Bytes read from stdin beyond what `read_line` returned (shared by every `Stdin`).
    static STDIN_BUF: crate::sync::Mutex<alloc::vec::Vec<u8>> = crate::sync::Mutex::new(alloc::vec::Vec::new());

    impl Stdin {
        /// Reads up to `buf.len()` bytes: the count, 0 at the end of input.
        pub fn read(&self, buf: &mut [u8]) -> Result<usize, crate::io::Error> {
            let mut pending = STDIN_BUF.lock();
            if !pending.is_empty() {
                let n = buf.len().min(pending.len());
                buf[..n].copy_from_slice(&pending[..n]);
                pending.drain(..n);
                return Ok(n);
            }
            drop(pending);
            crate::stdio::read_stdin(buf)
        }

        /// Reads up to and including the next `\n` (or to the end of input), appending it to
        /// `line`: the number of bytes read, 0 at the end. `InvalidData` if the line is not UTF-8
        /// (the line is consumed, `line` is left as it was).
        pub fn read_line(&self, line: &mut alloc::string::String) -> Result<usize, crate::io::Error> {
            let mut pending = STDIN_BUF.lock();
            let mut searched = 0;
            let end = loop {
                if let Some(i) = pending[searched..].iter().position(|&b| b == b'\n') {
                    break searched + i + 1;
                }
                searched = pending.len();
                let len = pending.len();
                pending.resize(len + 4096, 0);
                let r = crate::stdio::read_stdin(&mut pending[len..]);
                match r {
                    Ok(0) => {
                        pending.truncate(len);
                        break len;
                    }
                    Ok(n) => pending.truncate(len + n),
                    Err(e) => {
                        pending.truncate(len);
                        return Err(e);
                    }
                }
            };
            let taken: alloc::vec::Vec<u8> = pending.drain(..end).collect();
            drop(pending);
            let s = core::str::from_utf8(&taken).map_err(|_| {
                crate::io::Error::new(crate::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8")
            })?;
            line.push_str(s);
            Ok(end)
        }

        /// Reads everything up to the end of input, appending it to `out`: the count.
        pub fn read_to_end(&self, out: &mut alloc::vec::Vec<u8>) -> Result<usize, crate::io::Error> {
            crate::fs::read_to_end_with(out, |b| self.read(b))
        }

        /// Reads everything up to the end of input into `out` (`InvalidData` if it is not UTF-8,
        /// and `out` is left as it was).
        pub fn read_to_string(&self, out: &mut alloc::string::String) -> Result<usize, crate::io::Error> {
            let mut v = alloc::vec::Vec::new();
            let n = self.read_to_end(&mut v)?;
            let s = core::str::from_utf8(&v).map_err(|_| {
                crate::io::Error::new(crate::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8")
            })?;
            out.push_str(s);
            Ok(n)
        }
    }

    impl embedded_io::ErrorType for Stdin {
        type Error = crate::io::Error;
    }

    impl embedded_io::Read for Stdin {
        fn read(&mut self, buf: &mut [u8]) -> Result<usize, crate::io::Error> {
            Stdin::read(self, buf)
        }
    }

    /// Ends the process at once with `code` (Go's os.Exit): other goroutines do not run on.
    pub fn exit(code: i32) -> ! {
        crate::proc::profiles_at_exit();
        crate::sys::exit(code)
    }
}

/// Hooks for gort's own tests and benchmarks (cargo feature `testing`, off by default): views of
/// runtime state a program has no business depending on. Described in HACKING.md "Tests".
#[cfg(feature = "testing")]
pub mod testing {
    /// The default goroutine stack size in bytes (GORT_STACK_SIZE, else the target's default).
    pub fn default_stack_size() -> usize {
        crate::stack::stack_size()
    }

    /// The stack size a goroutine asking for `n` bytes gets (rounded and clamped).
    pub fn round_stack_size(n: usize) -> usize {
        crate::stack::round_size(n)
    }

    /// The running goroutine's stack bounds `(lo, hi)`.
    pub fn stack_bounds() -> (usize, usize) {
        crate::stack::current_bounds()
    }

    /// Panics with the heap lock held and never released, as a failure inside the allocator
    /// would leave it: the report (and its tracebacks) must still print.
    pub fn panic_in_allocator() -> ! {
        crate::malloc::panic_holding_heap_lock()
    }

    /// Makes every goroutine waiting right now look as if it had waited `d` already (a dump then
    /// shows `, N minutes` in its header without the test waiting that long).
    pub fn age_waiting_goroutines(d: core::time::Duration) {
        crate::proc::stamp_waiting(crate::time::nanotime(), d.as_nanos() as i64)
    }

    /// Makes the CPU profiler's sample ring hold at most `slots` samples (2 ..= 1024; its writer
    /// drains it at half): a short profile then needs the writer to drain while it runs, which
    /// at the full size only a profile of several CPU-seconds does. Without the `pprof` feature
    /// (or off linux), nothing.
    pub fn set_cpu_profile_ring(slots: usize) {
        #[cfg(gort_pprof)]
        crate::cpuprof::set_ring_limit(slots);
        #[cfg(not(gort_pprof))]
        let _ = slots;
    }

    /// Number of goroutines parked right now (channel, sleep, lock...): lets a test wait until
    /// a goroutine is really parked instead of sleeping and hoping.
    pub fn parked_goroutines() -> usize {
        crate::proc::num_waiting()
    }

    /// Bytes of free goroutine stacks given back to the OS so far.
    pub fn stacks_scavenged() -> usize {
        crate::stack::scavenged()
    }

    /// Number of armed timers in every P's heap (sleeps, timers, tickers, timeouts): a stopped
    /// or dropped timer is not counted, though its entry may stay a while as a zombie
    /// ([`timer_heap_entries`](self::timer_heap_entries) counts those too).
    pub fn timers_pending() -> usize {
        crate::timer::count_all()
    }

    /// Number of entries in every P's timer heap: the armed timers and the stopped ones not yet
    /// cleaned (zombies, Go's lazy deletion: timer.rs). Bounded by about 4/3 of the most timers
    /// ever armed at once, however many are started and stopped.
    pub fn timer_heap_entries() -> usize {
        crate::timer::count_entries()
    }

    /// Goroutines preempted by signal so far, and signals that found no async-safe point (or no
    /// room for the frame) and were declined: `(done, declined)`. Zeros where preemption is
    /// synchronous only.
    pub fn async_preemptions() -> (u64, u64) {
        use core::sync::atomic::Ordering::Relaxed;
        let p = &crate::preempt::ASYNC_PREEMPTS;
        (p.load(Relaxed), crate::preempt::DECLINED.load(Relaxed) + crate::preempt::DECLINED_FRAME.load(Relaxed))
    }

    /// The OS thread id of the calling thread (linux: gettid; windows: GetCurrentThreadId;
    /// darwin: pthread_threadid_np).
    pub fn os_thread_id() -> u64 {
        crate::sys::gettid()
    }

    /// The OS thread id of the process's initial thread (m0's, recorded by minit at startup).
    pub fn main_thread_id() -> u64 {
        crate::proc::m0_procid()
    }

    /// Number of Ms (OS threads the scheduler counts: not the ones that exited with their
    /// locked goroutine), Go's mcount().
    pub fn mcount() -> i32 {
        crate::proc::mcount()
    }

    /// Go's throw: reports `fatal error: msg` the way a broken runtime invariant is reported,
    /// and exits 2.
    pub fn throw(msg: &str) -> ! {
        crate::throw(msg)
    }
}

/// MSVC targets reference `_fltused` from any object that uses floating point (the CRT defines it).
#[cfg(all(not(test), windows))]
#[no_mangle]
#[used]
static _fltused: i32 = 0;

/// The MSVC C++/SEH personality routine: precompiled `alloc`'s unwind tables name it. Nothing
/// ever unwinds (panic=abort), but the system's frame-based dispatch may consult it while it
/// looks for a handler of an exception gort's vectored handler declined: continue the search.
#[cfg(all(not(test), windows, target_env = "msvc"))]
#[no_mangle]
extern "C" fn __CxxFrameHandler3(_: usize, _: usize, _: usize, _: usize) -> i32 {
    1 // ExceptionContinueSearch
}

/// The personality routine that precompiled `core` references even with panic=abort.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

/// Precompiled `alloc` (built with unwinding) references this even though gort programs use
/// panic=abort; nothing can ever unwind into it.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn _Unwind_Resume() -> ! {
    throw("_Unwind_Resume called: gort programs are built with panic=abort")
}
