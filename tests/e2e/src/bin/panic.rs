//! e2e: a panic in goroutine 1 prints Go's report (`panic: ...`, `goroutine 1 [running]:`,
//! the location) on stderr and exits 2.
#![no_std]
#![no_main]
gort::main!(main);
fn main() {
    gort::println!("before panic");
    let n = core::hint::black_box(42);
    panic!("boom {}", n);
}
