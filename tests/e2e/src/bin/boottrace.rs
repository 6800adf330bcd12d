//! e2e: a hello program run with and without GODEBUG=boottrace=1 (the trace goes to stderr).
#![no_std]
#![no_main]
gort::main!(main);
fn main() {
    gort::println!("hello, world");
}
