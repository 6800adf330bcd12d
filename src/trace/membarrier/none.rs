//! No process-wide memory barrier here (windows has FlushProcessWriteBuffers, but the wine
//! that tests it, 8.0, implements it as a stub that does nothing, so it is not used yet;
//! darwin has none): the tracer keeps its RMW seqlock (seqlock.rs).

/// Whether `barrier` is available: never here.
pub fn register() -> bool {
    false
}

/// Never called (`register` is false).
pub fn barrier() -> bool {
    false
}
