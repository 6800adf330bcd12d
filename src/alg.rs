//! cpuinit and alginit (Go's internal/cpu and alg.go): CPU features, the process hash seed from
//! AT_RANDOM, and the per-M random numbers the scheduler uses (Go's fastrand, wyrand).

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::{self, CpuFeatures};

/// Process-wide hash key (Go's hashkey), from AT_RANDOM.
static HASHKEY: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Go's cpuinit: reads the CPU's features. Go keeps them for its code paths that branch on
/// them; gort has none yet, so schedinit reads them only when boottrace shows them.
pub fn cpuinit() -> CpuDisplay {
    CpuDisplay(arch::cpuinit())
}

/// Formats CPU features for boottrace.
pub struct CpuDisplay(pub CpuFeatures);

impl fmt::Display for CpuDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", crate::print::Str(arch::GOARCH), self.0)
    }
}

/// Go's alginit: seeds the hash key from the 16 AT_RANDOM bytes (or the clock if absent).
/// Returns the first key word.
///
/// # Safety
/// `random` must be 0 or the AT_RANDOM address from auxv.
pub unsafe fn alginit(random: usize) -> u64 {
    let (a, b) = if random != 0 {
        // SAFETY: AT_RANDOM points at 16 readable bytes.
        unsafe { ((random as *const u64).read_unaligned(), ((random + 8) as *const u64).read_unaligned()) }
    } else {
        let t = crate::time::nanotime() as u64;
        (mix(t, 0x243f_6a88_85a3_08d3), mix(t, 0x1319_8a2e_0370_7344))
    };
    HASHKEY[0].store(a | 1, Ordering::Relaxed);
    HASHKEY[1].store(b | 1, Ordering::Relaxed);
    a | 1
}

/// wyhash's mixing step.
fn mix(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

/// A seed for an M's fastrand state, derived from the hash key and `x`.
pub fn seed_for(x: u64) -> u64 {
    mix(HASHKEY[0].load(Ordering::Relaxed) ^ x, HASHKEY[1].load(Ordering::Relaxed))
}

/// Go's fastrand: a per-M wyrand step (no locking; each M owns its state).
pub fn fastrand() -> u32 {
    // Pinned: a goroutine preempted between the load and the store would write another
    // thread's M.
    let mp = crate::proc::acquirem();
    // SAFETY: fastrand state is only touched by its own M.
    let r = unsafe {
        (*mp).fastrand = (*mp).fastrand.wrapping_add(0xa076_1d64_78bd_642f);
        mix((*mp).fastrand, (*mp).fastrand ^ 0xe703_7ed1_a0b4_28db) as u32
    };
    crate::proc::releasem(mp);
    r
}
