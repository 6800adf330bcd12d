#![no_std]
#![no_main]
gort::main!(main);
fn main() {
    gort::println!("hello, world");
}
