// A channel moves values between goroutines on any thread: its element type must be Send.
// An `Rc` sent through one would have its count updated from two threads at once.
// expect: cannot be sent between threads safely
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;
use alloc::rc::Rc;

gort::main!(main);

fn main() {
    let (tx, rx) = gort::chan::<Rc<u32>>(1);
    let rc = Rc::new(1);
    tx.send(rc.clone()).unwrap();
    drop(rx);
}
