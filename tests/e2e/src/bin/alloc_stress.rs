//! e2e: allocation across Ps. `alloc_stress [OBJECTS [WORKERS]]`: WORKERS producer goroutines
//! (default 8) allocate OBJECTS objects in all (default 400 000) of sizes from 1 byte to 48 KB
//! (size classes and large objects), fill each with a pattern derived from its id, grow some in
//! place (realloc), and send them over a buffered channel to WORKERS consumers that check the
//! pattern and free them: most objects are freed by another goroutine, and with GOMAXPROCS > 1
//! on another P and M than the one that allocated them. Any corruption (a lost, doubled or
//! overlapping object) shows as a pattern mismatch; the sums must match exactly. With a third
//! argument `scavenge`, a goroutine calls free_os_memory every millisecond meanwhile.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

fn arg(i: usize, default: u64) -> u64 {
    gort::os::args().get(i).and_then(|a| core::str::from_utf8(a).ok()).and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// splitmix64 of the object id: its size and fill byte.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn size_of_obj(id: u64) -> usize {
    let r = mix(id);
    match r % 100 {
        0..=59 => 1 + (r >> 8) as usize % 256,     // small classes
        60..=94 => 257 + (r >> 8) as usize % 8000, // mid classes
        _ => 8192 + (r >> 8) as usize % 40000,     // up to 48 KB: the largest classes and large objects
    }
}

fn main() {
    let objects = arg(1, 400_000);
    let workers = arg(2, 8);
    let (tx, rx) = gort::chan::<(u64, Vec<u8>)>(64);
    let expected: u64 = (0..objects).map(|id| size_of_obj(id) as u64 + 16).sum();
    let freed = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = gort::chan::<()>(0);
    for w in 0..workers {
        let tx = tx.clone();
        gort::go(move || {
            let mut id = w;
            while id < objects {
                let n = size_of_obj(id);
                let fill = mix(id) as u8;
                let mut v: Vec<u8> = Vec::with_capacity(n);
                v.resize(n, fill);
                // Grow in place where the class allows it (realloc), then by a full reallocation.
                v.extend_from_slice(&[fill; 16]);
                tx.send((id, v)).unwrap();
                id += workers;
            }
        });
    }
    drop(tx);
    for _ in 0..workers {
        let rx = rx.clone();
        let (freed, bad, done) = (freed.clone(), bad.clone(), done_tx.clone());
        gort::go(move || {
            while let Some((id, v)) = rx.recv() {
                let fill = mix(id) as u8;
                if v.len() != size_of_obj(id) + 16 || v.iter().any(|&b| b != fill) {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
                freed.fetch_add(v.len() as u64, Ordering::Relaxed);
                drop(v);
            }
            done.send(()).unwrap();
        });
    }
    // `alloc_stress N W scavenge`: one more goroutine gives all free memory back to the OS every
    // millisecond meanwhile (free_os_memory: flush every P's cache, then release every free span
    // while the others allocate and free), so released pages are reused all the time.
    let scavenging = gort::os::args().get(3).is_some_and(|a| *a == b"scavenge");
    let stop = Arc::new(core::sync::atomic::AtomicBool::new(false));
    let (sc_tx, sc_rx) = gort::chan::<u64>(1);
    if scavenging {
        let stop = stop.clone();
        gort::go(move || {
            let mut rounds = 0u64;
            while !stop.load(Ordering::Relaxed) {
                gort::free_os_memory();
                rounds += 1;
                gort::sleep(core::time::Duration::from_millis(1));
            }
            sc_tx.send(rounds).unwrap();
        });
    }
    for _ in 0..workers {
        done_rx.recv().unwrap();
    }
    if scavenging {
        stop.store(true, Ordering::Relaxed);
        let rounds = sc_rx.recv().unwrap();
        gort::println!("scavenger rounds > 10: {}", rounds > 10);
    }
    gort::println!("objects={} bytes match: {}", objects, freed.load(Ordering::Relaxed) == expected);
    gort::println!("corrupted objects: {}", bad.load(Ordering::Relaxed));
}
