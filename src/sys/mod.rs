//! The OS layer (Go's `os_<GOOS>.go`), one file per OS chosen by `cfg`. (The public `gort::os` is the
//! program-facing API in lib.rs.)

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;
#[cfg(target_os = "linux")]
mod vdso_linux;
#[cfg(target_os = "linux")]
pub use vdso_linux::{nanotime, vdso_clock_found, vdsoinit};
#[cfg(target_os = "macos")]
mod darwin;
#[cfg(target_os = "macos")]
pub use darwin::*;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;
#[cfg(any(windows, test))]
pub mod winargs;

/// How long `write_all` waits for a full non-blocking fd (EAGAIN) to drain.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum WriteWait {
    /// Until it drains (user output: nothing is dropped).
    Forever,
    /// A second at most, then the rest is dropped (runtime and crash messages: a dying process
    /// must not hang on a pipe nobody reads).
    Bounded,
}
