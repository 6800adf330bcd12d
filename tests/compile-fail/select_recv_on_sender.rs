// select!'s misuse is caught at compile time with a message naming the arm: a `recv` arm on a
// Sender is not a channel end the arm can wait on (a `send` arm on a Receiver likewise).
// expect: `recv(Sender<u32>)` in select!: the channel must be a Receiver
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

gort::main!(main);

fn main() {
    let (tx, rx) = gort::chan::<u32>(1);
    gort::select! {
        recv(tx) -> _ => (),
        recv(rx) -> _ => (),
    }
}
