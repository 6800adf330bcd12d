//! The smallest gort program: prints its arguments from goroutine 1.
#![no_std]
#![no_main]

gort::main!(main);

fn main() {
    gort::println!("hello, world from goroutine 1 (gomaxprocs={}, ncpu={})", gort::gomaxprocs(0), gort::num_cpu());
    for (i, a) in gort::os::args().iter().enumerate().skip(1) {
        gort::println!("arg {}: {}", i, core::str::from_utf8(a).unwrap_or("<not utf-8>"));
    }
}
