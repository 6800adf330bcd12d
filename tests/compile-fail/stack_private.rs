// The stack allocator is not part of the API: with `gort::stack::stackfree(&Stack { lo, hi }, ..)`
// and public fields, safe code could make the runtime madvise or reuse any memory.
// expect: module `stack` is private
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

gort::main!(main);

fn main() {
    let s = gort::stack::Stack { lo: 0x1000, hi: 0x2000 };
    gort::stack::stackfree(&s, false);
}
