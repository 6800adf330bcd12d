//! Channels (Go's chan.go): placeholder types until the GMP issue lands the real hchan.

/// A goroutine waiting on a channel (Go's sudog).
pub struct Sudog {
    /// The waiting goroutine.
    pub g: *mut crate::runtime2::G,
}
