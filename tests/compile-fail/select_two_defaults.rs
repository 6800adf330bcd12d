// A select! has at most one `default` arm, as Go's select: a second one is rejected.
// expect: no rules expected `default`
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

gort::main!(main);

fn main() {
    let (_tx, rx) = gort::chan::<u32>(1);
    gort::select! {
        recv(rx) -> _ => (),
        default => (),
        default => (),
    }
}
