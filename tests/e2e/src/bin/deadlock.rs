//! main blocks forever on a channel nobody sends on: Go's deadlock error, exit 2.
#![no_std]
#![no_main]
gort::main!(main);

fn main() {
    let (tx, rx) = gort::chan::<u32>(0);
    gort::go(move || {
        let _keep = &tx; // holds the sender but never sends
        gort::sleep(core::time::Duration::from_millis(10));
        let (_t2, r2) = gort::chan::<u32>(0);
        r2.recv();
    });
    gort::println!("waiting");
    rx.recv();
    gort::println!("unreachable");
}
