#![no_std]
#![no_main]

gort::main!(main);

fn main() {
    let v = gort_app::squares(10);
    gort::println!("squares={:?} sum={} gomaxprocs={}", v, v.iter().sum::<u64>(), gort::gomaxprocs(0));
}
