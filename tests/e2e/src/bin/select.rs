//! select over several channels: default arm, ready arms chosen at random, send arms, closed.
#![no_std]
#![no_main]
gort::main!(main);

fn main() {
    let (a_tx, a_rx) = gort::chan::<u32>(1);
    let (b_tx, b_rx) = gort::chan::<u32>(1);
    // Nothing ready: default.
    gort::select! {
        recv(a_rx) -> v => gort::println!("unexpected a {:?}", v),
        recv(b_rx) -> v => gort::println!("unexpected b {:?}", v),
        default => gort::println!("default taken"),
    }
    // Both ready many times: both arms must be chosen sometimes.
    let (mut na, mut nb) = (0, 0);
    for i in 0..1000 {
        a_tx.send(i).unwrap();
        b_tx.send(i).unwrap();
        gort::select! {
            recv(a_rx) -> _v => { na += 1; b_rx.recv(); }
            recv(b_rx) -> _v => { nb += 1; a_rx.recv(); }
        }
    }
    gort::println!("both arms chosen: {}", na > 100 && nb > 100 && na + nb == 1000);
    // Blocking select woken by another goroutine's send.
    let (c_tx, c_rx) = gort::chan::<&'static str>(0);
    gort::go(move || {
        gort::sleep(core::time::Duration::from_millis(20));
        c_tx.send("late").unwrap();
    });
    gort::select! {
        recv(a_rx) -> v => gort::println!("unexpected a {:?}", v),
        recv(c_rx) -> v => gort::println!("blocking select got {:?}", v),
    }
    // A send arm to a waiting receiver.
    let (d_tx, d_rx) = gort::chan::<u32>(0);
    let (done_tx, done_rx) = gort::chan::<u32>(0);
    gort::go(move || done_tx.send(d_rx.recv().unwrap()).unwrap());
    gort::select! {
        send(d_tx, 42) -> r => gort::println!("send arm: {:?}", r.is_ok()),
    }
    gort::println!("receiver got {}", done_rx.recv().unwrap());
    // The same channel in two arms (Go allows it): it is locked once, ready or blocking.
    let (f_tx, f_rx) = gort::chan::<u32>(1);
    f_tx.send(5).unwrap();
    let ready = gort::select! {
        recv(f_rx) -> v => v,
        recv(f_rx) -> v => v,
    };
    gort::go(move || {
        gort::sleep(core::time::Duration::from_millis(5));
        f_tx.send(7).unwrap();
    });
    let blocked = gort::select! {
        recv(f_rx) -> v => v,
        recv(a_rx) -> v => v,
        recv(f_rx) -> v => v,
    };
    gort::println!("same channel twice: {:?} {:?}", ready, blocked);
    // Closed channel: recv arm gets None.
    let (e_tx, e_rx) = gort::chan::<u32>(0);
    e_tx.close();
    gort::select! {
        recv(e_rx) -> v => gort::println!("closed recv: {:?}", v),
    }
}
