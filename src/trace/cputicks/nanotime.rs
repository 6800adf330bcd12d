//! The trace's event clock where gort uses no counter of its own (32-bit arm, whose
//! CNTVCT is only readable with the kernel's consent and needs `mrrc`): nanotime itself; the
//! map `convert` applies is then the identity.

/// The clock's current value.
#[inline(always)]
pub fn cputicks() -> i64 {
    crate::time::nanotime()
}
