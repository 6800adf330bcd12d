//! The program's logic, as a no_std library the program and the tests share.
#![no_std]
extern crate alloc;

use alloc::vec::Vec;

/// Squares every number in its own goroutine and collects the results over a channel, in order.
pub fn squares(n: u64) -> Vec<u64> {
    let (tx, rx) = gort::chan::<(u64, u64)>(0);
    for i in 0..n {
        let tx = tx.clone();
        gort::go(move || tx.send((i, i * i)).unwrap());
    }
    drop(tx); // the channel closes when the last Sender is gone
    let mut v: Vec<(u64, u64)> = rx.iter().collect();
    v.sort_unstable();
    v.into_iter().map(|(_, sq)| sq).collect()
}
