//! Per-architecture code (Go's `asm_<arch>.s`, `sys_<arch>.go`, internal/cpu): the context switches
//! (gogo, mcall, systemstack, goexit), frame setup (gostartcall, getsp) and cpuinit, one file per
//! arch picked with `cfg_attr(path)`. Nothing here knows the OS: the TLS mechanism (getg, the g
//! slot the switch code reads and writes), system calls, clone, signal contexts and the windows
//! TEB live under `src/sys/<os>/<arch>.rs`, which hands the switch code the few instructions that
//! differ per OS as macros (see each arch file's module doc). Arch-neutral code uses only the
//! names re-exported here, Go's names.

/// The global label at the end of `gogo` (`in_gogo`), as the OS's assembler spells a C symbol.
#[cfg(target_vendor = "apple")]
macro_rules! gogo_end_label {
    () => {
        "_gort_gogo_end"
    };
}
#[cfg(not(target_vendor = "apple"))]
macro_rules! gogo_end_label {
    () => {
        "gort_gogo_end"
    };
}

#[cfg_attr(target_arch = "x86_64", path = "amd64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "arm64.rs")]
#[cfg_attr(target_arch = "arm", path = "arm.rs")]
mod imp;
pub use imp::*;

// arm and arm64 set up frames alike (Go's sys_arm.go = sys_arm64.go); amd64 pushes goexit.
#[cfg(any(target_arch = "arm", target_arch = "aarch64"))]
mod lr;
#[cfg(any(target_arch = "arm", target_arch = "aarch64"))]
pub use lr::*;

extern "C" {
    /// The label at the end of `gogo`'s code (each arch's gogo ends with it).
    static gort_gogo_end: u8;
}

/// Whether `pc` lies in `gogo`. Between its switch to the new stack and its jump, gogo still
/// reads the gobuf it was given; a goroutine preempted asynchronously there would be saved with
/// that read still to come, and by then its own `g.sched` holds the preemption's context, which
/// the read would resume a second time (fanin/preempt-storm: a SIGSEGV at rt_sigreturn, about
/// 1 run in 10 on linux 6.18). The preemption check declines these pcs.
pub fn in_gogo(pc: usize) -> bool {
    let end = core::ptr::addr_of!(gort_gogo_end) as usize;
    let start = gogo as *const () as usize;
    #[cfg(target_arch = "arm")]
    let (start, end) = (start & !1, end & !1); // a Thumb bit, if any
    (start..end).contains(&pc)
}

/// The current g (Go's getg), read through the OS's TLS mechanism (`sys/<os>/<arch>.rs`): named
/// here because it is the one TLS access the scheduler makes, next to gogo and mcall.
pub use crate::sys::getg;

/// Spins `cycles` pause/yield hints (Go's procyield).
#[inline(always)]
pub fn procyield(cycles: u32) {
    for _ in 0..cycles {
        core::hint::spin_loop();
    }
}

/// Writes ` +name` for each feature that is on (`on[i]` for `names[i]`): the tail of every
/// arch's `CpuFeatures` Display. The names are a static table and the pieces plain `write_str`s:
/// a slice of (name, flag) pairs built at the call and a `write!` per flag were 1.1 KB of every
/// program (boottrace's only use; issue 22).
#[inline(never)]
fn fmt_flags(f: &mut core::fmt::Formatter<'_>, names: &[&str], on: &[bool]) -> core::fmt::Result {
    // black_box: with the tables' lengths known, LLVM unrolled the loop (11 copies of its body).
    for (name, &on) in core::hint::black_box(names).iter().zip(on) {
        if on {
            f.write_str(" +")?;
            f.write_str(name)?;
        }
    }
    Ok(())
}
