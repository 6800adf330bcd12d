//! Per-architecture code, one file per arch chosen by `cfg`. Arch-neutral code uses only the names
//! re-exported here (Go's names: getg, gogo, mcall, systemstack, ...).

#[cfg(target_arch = "x86_64")]
mod amd64;
#[cfg(target_arch = "x86_64")]
pub use amd64::*;
#[cfg(all(target_arch = "x86_64", windows))]
mod amd64_windows;
#[cfg(all(target_arch = "x86_64", windows))]
pub use amd64_windows::*;
#[cfg(target_arch = "aarch64")]
mod arm64;
#[cfg(target_arch = "aarch64")]
pub use arm64::*;
#[cfg(all(target_arch = "aarch64", windows))]
mod arm64_windows;
#[cfg(all(target_arch = "aarch64", windows))]
pub use arm64_windows::*;
#[cfg(target_arch = "arm")]
mod arm;
#[cfg(target_arch = "arm")]
pub use arm::*;
#[cfg(all(target_arch = "arm", windows))]
mod arm_windows;
#[cfg(all(target_arch = "arm", windows))]
pub use arm_windows::*;
#[cfg(any(test, all(target_arch = "arm", target_os = "linux")))]
mod arm_frames;
#[cfg(any(test, all(target_arch = "arm", windows)))]
mod half;
#[cfg(all(target_arch = "arm", target_os = "linux", not(test)))]
pub use arm_frames::{check_frames, MAX_FRAME};
