// Go's throw (a broken runtime invariant) is the runtime's, not the program's: programs panic.
// (gort's own tests reach it through the `testing` feature.)
// expect: function `throw` is private
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

gort::main!(main);

fn main() {
    gort::throw("not yours");
}
