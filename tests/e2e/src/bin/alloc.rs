//! e2e: the global allocator through `alloc`: Box, a growing Vec, format!, a BTreeMap, and
//! freeing/reallocating in a loop. Prints results that do not depend on addresses.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

fn main() {
    let b = Box::new(0x1234_5678_u64);
    gort::println!("box={:#x}", *b);

    let mut v: Vec<u64> = Vec::new();
    for i in 0..100_000u64 {
        v.push(i);
    }
    let sum: u64 = v.iter().sum();
    gort::println!("vec len={} sum={}", v.len(), sum);
    drop(v);

    let s = format!("{}-{:05}-{:x}-{:?}", "gort", 42, 255, Some("x"));
    gort::println!("format={}", s);

    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for w in "the quick brown fox jumps over the lazy dog the end".split(' ') {
        *counts.entry(String::from(w)).or_insert(0) += 1;
    }
    let mut line = String::new();
    for (k, n) in &counts {
        line.push_str(&format!("{}:{} ", k, n));
    }
    gort::println!("btree={}", line.trim_end());

    // Churn: many short-lived allocations of assorted sizes, freed in between.
    let mut total = 0usize;
    for round in 0..200usize {
        let mut boxes: Vec<Box<[u8]>> = Vec::new();
        for size in [1usize, 8, 24, 100, 1000, 4096, 33000] {
            let mut buf = alloc::vec![0u8; size + round].into_boxed_slice();
            buf[size + round - 1] = 1;
            total += buf.iter().map(|&x| x as usize).sum::<usize>();
            boxes.push(buf);
        }
    }
    gort::println!("churn={}", total);
}
