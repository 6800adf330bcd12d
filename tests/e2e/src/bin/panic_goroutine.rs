//! A goroutine other than main panics: `panic: ...`, `goroutine N [running]:`, exit 2.
#![no_std]
#![no_main]
gort::main!(main);

fn main() {
    let (tx, rx) = gort::chan::<()>(0);
    gort::go(move || {
        let v: alloc::vec::Vec<u32> = alloc::vec![1, 2, 3];
        let i = v.len() + 4;
        if i > 3 {
            panic!("goroutine failed at {}", i);
        }
        tx.send(()).unwrap();
    });
    rx.recv();
    gort::println!("unreachable");
}
extern crate alloc;
