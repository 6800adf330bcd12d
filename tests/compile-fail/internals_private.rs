// The scheduler's internals are not part of the API: safe code once reached them through
// `gort::proc` (`goready(0x1000 as *mut _)` faulted, `casgstatus(null_mut(), 0, 1)` panicked,
// `schedule()` from a goroutine killed the process with a bogus checkdead report).
// expect: module `proc` is private
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

gort::main!(main);

fn main() {
    gort::proc::goready(0x1000 as *mut _);
}
