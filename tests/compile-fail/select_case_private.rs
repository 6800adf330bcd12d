// select's building blocks live in `__private` and hold no raw pointer a caller could set: a
// `Case` (the view selectgo writes through) can only be made from a `RecvCase`/`SendCase` it
// borrows, never from an arbitrary address.
// expect: field `ops` of struct `gort::__private::Case` is private
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

gort::main!(main);

fn main() {
    let (_tx, rx) = gort::chan::<u32>(1);
    let mut recv = gort::__private::RecvCase::new(&rx);
    let _ = gort::__private::Case { ops: &mut recv };
}
