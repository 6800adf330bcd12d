//! Per-architecture code, one file per arch chosen by `cfg`. Arch-neutral code uses only the names
//! re-exported here (Go's names: getg, gogo, mcall, systemstack, ...).

#[cfg(target_arch = "x86_64")]
mod amd64;
#[cfg(target_arch = "x86_64")]
pub use amd64::*;
