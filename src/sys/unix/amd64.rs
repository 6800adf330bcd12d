//! The System V x86-64 C ABI as the context switches of arch/amd64.rs need it on linux and darwin
//! (the non-windows side of the `GOOS_windows` blocks in Go's asm_amd64.s): the first argument in
//! rdi, no shadow space, a tail call is a jump. sys/windows/amd64.rs has the Win64 forms.

/// SysV: nothing is reserved above the return address.
macro_rules! shadow_space {
    () => {
        ""
    };
}
/// SysV: the register of a C function's first argument.
macro_rules! cabi_arg0 {
    () => {
        "rdi"
    };
}
/// Calls the C function in register `$r` as the last act of a frameless function: a jump.
macro_rules! tail_call {
    ($r:literal) => {
        concat!("jmp ", $r)
    };
}
pub(crate) use {cabi_arg0, shadow_space, tail_call};

/// SysV: gostartcall leaves no shadow space above a fresh goroutine's return address.
pub const SHADOW_SPACE: usize = 0;
