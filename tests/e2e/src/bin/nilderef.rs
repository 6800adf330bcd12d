//! A nil pointer dereference in user code: Go's runtime error report with the signal line, exit 2.
#![no_std]
#![no_main]
gort::main!(main);

fn main() {
    let p: *const u64 = core::hint::black_box(core::ptr::null());
    // SAFETY: deliberately not safe: this is the test.
    let v = unsafe { core::ptr::read_volatile(p) };
    gort::println!("unreachable {}", v);
}
