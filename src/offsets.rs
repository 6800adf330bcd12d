//! Struct offsets used by assembly and naked functions, generated from asm/offsets.def (the one
//! source of truth) and checked against `core::mem::offset_of!` at compile time.
include!(concat!(env!("OUT_DIR"), "/asm_offsets.rs"));
