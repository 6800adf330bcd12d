//! e2e: prints to both streams, then os::exit(7): the status comes through and nothing after
//! the call runs.
#![no_std]
#![no_main]
gort::main!(main);
fn main() {
    gort::println!("about to exit 7");
    gort::eprintln!("stderr before exit");
    gort::os::exit(7);
}
