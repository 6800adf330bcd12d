//! e2e: the heap gives memory back to the OS. `scavenge [MB]` (default 256):
//! 1. four producers allocate MB megabytes of small objects (16 B .. 4 KB, a pattern in each) and
//!    hand them to four other goroutines, which hold them until all are made, then check and free
//!    them (most on another P);
//! 2. with nothing live, the heap's in-use bytes fall back near zero: the spans emptied by the
//!    frees went back to the page heap;
//! 3. within a few seconds sysmon's scavenger gives those free spans back to the OS: the heap's
//!    released count covers them and the process's resident memory (kernel's count) drops;
//! 4. allocating the same again reuses the released memory (the heap does not grow) and reads
//!    back correctly; freeing it and calling free_os_memory releases everything at once.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::time::Duration;

const MB: usize = 1 << 20;

fn arg(i: usize, default: usize) -> usize {
    gort::os::args().get(i).and_then(|a| core::str::from_utf8(a).ok()).and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn rss() -> usize {
    gort_e2e::rss_kb() as usize * 1024
}

fn size_of_obj(i: usize) -> usize {
    let x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
    16 + (x as usize % 4080)
}

/// Allocates and frees `total` bytes of small objects across eight goroutines. Returns how many
/// objects had a wrong pattern.
fn churn(total: usize) -> usize {
    let producers = 4;
    let (tx, rx) = gort::chan::<Vec<Box<[u8]>>>(producers);
    let (done_tx, done_rx) = gort::chan::<usize>(producers);
    for p in 0..producers {
        let tx = tx.clone();
        gort::go(move || {
            let mut bytes = 0;
            let mut i = p;
            let mut batch: Vec<Box<[u8]>> = Vec::new();
            while bytes < total / producers {
                let n = size_of_obj(i);
                batch.push(alloc::vec![i as u8; n].into_boxed_slice());
                bytes += n;
                i += producers;
                if batch.len() == 4096 {
                    tx.send(core::mem::take(&mut batch)).unwrap();
                }
            }
            tx.send(batch).unwrap();
        });
    }
    drop(tx);
    for _ in 0..producers {
        let rx = rx.clone();
        let done_tx = done_tx.clone();
        gort::go(move || {
            // Keep everything until the producers are done (the peak is then `total` in every
            // round), then check and free it.
            let mut held: Vec<Vec<Box<[u8]>>> = Vec::new();
            while let Some(batch) = rx.recv() {
                held.push(batch);
            }
            let mut bad = 0;
            for batch in held {
                for b in batch {
                    let want = b[0];
                    if b.len() < 16 || b.iter().any(|&x| x != want) {
                        bad += 1;
                    }
                }
            }
            done_tx.send(bad).unwrap();
        });
    }
    (0..producers).map(|_| done_rx.recv().unwrap()).sum()
}

fn main() {
    let total = arg(1, 256) * MB;
    let base = gort::read_mem_stats();
    let rss0 = rss();
    let bad = churn(total);
    let after = gort::read_mem_stats();
    let rss_freed = rss();
    gort::println!("corrupted objects: {}", bad);
    gort::println!(
        "heap_sys={} MB inuse={} KB idle={} MB released={} MB rss={} MB",
        after.heap_sys / MB,
        after.heap_inuse / 1024,
        after.heap_idle / MB,
        after.heap_released / MB,
        rss_freed / MB
    );
    gort::println!("in use after free near zero: {}", after.heap_inuse < base.heap_inuse + 8 * MB);
    // Sysmon releases spans free for 0.5 s; wait up to 5 s for it.
    let mut released = false;
    let mut st = after;
    for _ in 0..100 {
        gort::sleep(Duration::from_millis(50));
        st = gort::read_mem_stats();
        if st.heap_idle - st.heap_released < 4 * MB {
            released = true;
            break;
        }
    }
    let rss1 = rss();
    gort::println!("released={} MB idle={} MB rss={} MB", st.heap_released / MB, st.heap_idle / MB, rss1 / MB);
    gort::println!("released by sysmon: {}", released);
    // The churn had `total` resident at its peak; once released, the resident memory is back
    // near where it started (rss0 is before the churn). Measured against the start, not against
    // rss_freed: on a slow machine (qemu under load) sysmon releases old spans while the churn
    // still runs, so little is left to drop by the time rss_freed is read.
    let touched = rss_freed.saturating_sub(rss0);
    let dropped = rss_freed.saturating_sub(rss1);
    gort::println!("touched={} MB dropped={} MB", touched / MB, dropped / MB);
    gort::println!("resident memory dropped: {}", rss1.saturating_sub(rss0) <= total / 4);

    // Again: the released spans are reused, the heap does not grow, the contents are right.
    let sys_before = st.heap_sys;
    let bad = churn(total);
    let st = gort::read_mem_stats();
    gort::println!("second round corrupted objects: {}", bad);
    gort::println!("heap_sys={} MB (was {} MB)", st.heap_sys / MB, sys_before / MB);
    gort::println!("heap reused without growing: {}", st.heap_sys <= sys_before);
    let got = gort::free_os_memory();
    let st = gort::read_mem_stats();
    gort::println!(
        "free_os_memory released {} MB, idle-released={} KB",
        got / MB,
        (st.heap_idle - st.heap_released) / 1024
    );
    gort::println!("everything free is released: {}", st.heap_idle - st.heap_released < MB);

    // alloc_zeroed: from released pages (no clearing needed) and from dirty reused ones.
    let mut ok = true;
    for round in 0..4 {
        let mut v = alloc::vec![0u8; 2 * MB + round * 4096];
        ok &= v.iter().all(|&b| b == 0);
        v.iter_mut().for_each(|b| *b = 0xa5);
        core::hint::black_box(&v);
        drop(v);
        if round == 2 {
            gort::free_os_memory();
        }
    }
    gort::println!("zeroed allocations read zero: {}", ok);
}
