//! bench hello: startup cost. Prints one line and exits; the harness times whole runs.
#![no_std]
#![no_main]
gort::main!(main);

fn main() {
    gort::println!("hello, world");
}
