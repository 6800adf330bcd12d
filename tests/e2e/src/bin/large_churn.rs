//! Large allocations (past the size classes, mapped one by one) allocated and freed 2 000
//! times, 1 MB each: the memory goes back to the OS every time (munmap; on windows decommit, then
//! release of the whole allocation), so neither memory nor address space nor mappings run out.
#![no_std]
#![no_main]
gort::main!(main);
extern crate alloc;

fn main() {
    let mut sum = 0u64;
    for i in 0..2_000usize {
        // Allocate then write (not vec![0; n], which takes alloc_zeroed's path).
        #[allow(clippy::slow_vector_initialization)]
        let mut v: alloc::vec::Vec<u8> = alloc::vec::Vec::with_capacity(1 << 20);
        v.resize(1 << 20, 0);
        let at = (i * 4099) % (1 << 20);
        v[at] = 1;
        let v = core::hint::black_box(v);
        sum += v[at] as u64 + v[(at + 1) % (1 << 20)] as u64;
    }
    gort::println!("2000 x 1 MB: sum={} rss_below_200MB={}", sum, gort_e2e::rss_kb() < 200_000);
}
