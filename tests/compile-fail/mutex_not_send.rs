// A Mutex shared between goroutines hands its value to each in turn, across threads: a static
// `Mutex<Rc<_>>` would let two threads own clones of one `Rc`.
// expect: cannot be sent between threads safely
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;
use alloc::rc::Rc;

gort::main!(main);

static M: gort::sync::Mutex<Option<Rc<u32>>> = gort::sync::Mutex::new(None);

fn main() {
    *M.lock() = Some(Rc::new(1));
}
