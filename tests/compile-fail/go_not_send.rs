// A goroutine may run on another thread: what its closure captures must be Send.
// expect: cannot be sent between threads safely
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;
use alloc::rc::Rc;

gort::main!(main);

fn main() {
    let rc = Rc::new(1);
    let other = rc.clone();
    gort::go(move || drop(other));
    drop(rc);
}
