//! Runs long enough under GODEBUG=schedtrace=10 for sysmon to print SCHED lines.
#![no_std]
#![no_main]
gort::main!(main);

fn main() {
    gort::sleep(core::time::Duration::from_millis(60));
    gort::println!("done");
}
