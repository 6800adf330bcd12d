//! e2e: the smallest program. Prints one line from goroutine 1 and returns (exit 0).
#![no_std]
#![no_main]
gort::main!(main);
fn main() {
    gort::println!("hello, world");
}
