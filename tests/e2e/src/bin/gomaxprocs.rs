//! e2e: GOMAXPROCS from the environment. Prints `gomaxprocs=N ncpu=M`, then `default=true` or
//! `default=false` (gomaxprocs(0) == num_cpu()) so that cases for the default do not depend on
//! the machine's CPU count.
#![no_std]
#![no_main]
gort::main!(main);
fn main() {
    let procs = gort::gomaxprocs(0);
    let ncpu = gort::num_cpu();
    gort::println!("gomaxprocs={} ncpu={}", procs, ncpu);
    gort::println!("default={}", procs > 0 && procs as u32 == ncpu);
}
