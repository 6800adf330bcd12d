//! select! in every form, and the channel API around it (README "API", chan.rs):
//! temporaries in arms, select! as an expression, default, arms switched off with `None` or
//! `Receiver::never()`, source-order evaluation, 64 and 100 arms (uniform choice among 64 ready
//! arms, each arm dispatching to its own body), a 64-arm fan-in whose arms switch off as their
//! channels close, try_send/try_recv errors, iter/try_iter/IntoIterator, capacity, Debug and
//! Display of the public types. Modes `never`, `select-never`, `select-one-never` and
//! `select-empty` block for good: Go's deadlock report with Go's wait reason.
//! (The 64- and 100-arm selects are written out arm by arm, as a user would.)
#![no_std]
#![no_main]
extern crate alloc;
use alloc::format;
use alloc::vec::Vec;
use gort::{Receiver, Sender, TryRecvError, TrySendError};

gort::main!(main);

fn make_rx(v: u32) -> Receiver<u32> {
    let (tx, rx) = gort::chan(1);
    tx.send(v).unwrap();
    rx
}

fn is_error<E: core::error::Error>(e: &E) -> alloc::string::String {
    format!("{}", e)
}

fn main() {
    match gort::os::args().get(1).copied().unwrap_or(b"") {
        b"" => forms(),
        b"fanin64" => fanin64(),
        b"never" => {
            gort::println!("blocking");
            Receiver::<u32>::never().recv();
        }
        b"select-never" => {
            gort::println!("blocking");
            let (tx, _rx) = gort::chan::<u32>(0);
            let off: Option<&Sender<u32>> = None;
            let _ = &tx;
            gort::select! {
                recv(Receiver::<u32>::never()) -> _ => (),
                send(off, 1) -> _ => (),
            }
        }
        b"select-one-never" => {
            gort::println!("blocking");
            gort::select! {
                recv(Receiver::<u32>::never()) -> _ => (),
            }
        }
        b"select-empty" => {
            gort::println!("blocking");
            gort::select! {}
        }
        _ => gort::println!("usage: select_forms [fanin64|never|select-never|select-one-never|select-empty]"),
    }
}

fn forms() {
    // Temporaries in arms: a channel made in the arm (its Sender, a temporary too, lives until
    // the select ends: not ready, not closed), a receiver returned by a call.
    let v = gort::select! {
        recv(gort::chan::<u32>(1).1) -> v => v,
        default => Some(0),
    };
    gort::println!("temporary channel: {:?}", v);
    let v = gort::select! {
        recv(make_rx(5)) -> v => v,
        recv(Receiver::<u32>::never()) -> _ => None,
    };
    gort::println!("temporary from a call: {:?}", v);

    // The select is an expression; its value is the chosen body's.
    let (tx, rx) = gort::chan::<u32>(1);
    let done = gort::select! { recv(rx) -> r => r.is_none(), send(tx, 1) -> _ => false };
    gort::println!("expression: done={} len={}", done, rx.len());
    assert_eq!(rx.recv(), Some(1));
    let only_default: u32 = gort::select! { default => 9 };
    gort::println!("only default: {}", only_default);

    // default when nothing is ready, with a None arm and a never arm around.
    let off_rx: Option<&Receiver<u32>> = None;
    let off_tx: Option<&Sender<u32>> = None;
    let never = Receiver::<u32>::never();
    let (full_tx, _keep) = gort::chan::<u32>(0);
    let got = gort::select! {
        recv(off_rx) -> _ => "off recv",
        send(off_tx, 1) -> _ => "off send",
        recv(never) -> _ => "never",
        send(full_tx, 2) -> _ => "unbuffered, no receiver",
        default => "default",
    };
    gort::println!("nothing ready: {}", got);

    // A None arm is never chosen, even in a loop against a ready arm.
    let mut chosen_off = 0;
    for _ in 0..200 {
        tx.send(3).unwrap();
        gort::select! {
            recv(off_rx) -> _ => chosen_off += 1,
            recv(never) -> _ => chosen_off += 1,
            recv(Some(&rx)) -> v => assert_eq!(v, Some(3)),
        }
    }
    gort::println!("switched-off arms chosen: {}", chosen_off);

    // A body may reassign the channel of its own arm (the cases are gone when bodies run).
    let (a_tx, a_rx) = gort::chan::<u32>(0);
    let (b_tx, b_rx) = gort::chan::<u32>(0);
    gort::go(move || (1..=3).for_each(|i| a_tx.send(i).unwrap()));
    gort::go(move || (10..=30).step_by(10).for_each(|i| b_tx.send(i).unwrap()));
    let (mut a, mut b) = (Some(&a_rx), Some(&b_rx));
    let mut sum = 0;
    while a.is_some() || b.is_some() {
        gort::select! {
            recv(a) -> v => match v {
                Some(v) => sum += v,
                None => a = None,
            },
            recv(b) -> v => match v {
                Some(v) => sum += v,
                None => b = None,
            },
        }
    }
    gort::println!("drained both: sum={}", sum);

    // Channel and value expressions are evaluated once, in source order.
    let mut order = Vec::new();
    let (c_tx, c_rx) = gort::chan::<u32>(1);
    let r = gort::select! {
        recv({ order.push(1); &c_rx }) -> _ => "recv",
        send({ order.push(2); &c_tx }, { order.push(3); 4 }) -> r => if r.is_ok() { "send" } else { "send failed" },
        recv({ order.push(4); &c_rx }) -> _ => "recv",
    };
    gort::println!("order: {:?} chose {} (buffered {:?})", order, r, c_rx.try_recv());

    // 64 ready arms: each chosen, uniformly (chi-square, 63 degrees of freedom, mean 63,
    // standard deviation 11.2: the bound 190 is 11 deviations out).
    let chans: Vec<(Sender<u32>, Receiver<u32>)> = (0..100).map(|_| gort::chan(1)).collect();
    let rx: Vec<&Receiver<u32>> = chans.iter().map(|c| &c.1).collect();
    for (t, _) in &chans[..64] {
        t.send(0).unwrap();
    }
    let rounds = 100;
    let mut counts = [0u32; 64];
    for _ in 0..64 * rounds {
        let i: usize = gort::select! {
        recv(rx[0]) -> _ => 0,
        recv(rx[1]) -> _ => 1,
        recv(rx[2]) -> _ => 2,
        recv(rx[3]) -> _ => 3,
        recv(rx[4]) -> _ => 4,
        recv(rx[5]) -> _ => 5,
        recv(rx[6]) -> _ => 6,
        recv(rx[7]) -> _ => 7,
        recv(rx[8]) -> _ => 8,
        recv(rx[9]) -> _ => 9,
        recv(rx[10]) -> _ => 10,
        recv(rx[11]) -> _ => 11,
        recv(rx[12]) -> _ => 12,
        recv(rx[13]) -> _ => 13,
        recv(rx[14]) -> _ => 14,
        recv(rx[15]) -> _ => 15,
        recv(rx[16]) -> _ => 16,
        recv(rx[17]) -> _ => 17,
        recv(rx[18]) -> _ => 18,
        recv(rx[19]) -> _ => 19,
        recv(rx[20]) -> _ => 20,
        recv(rx[21]) -> _ => 21,
        recv(rx[22]) -> _ => 22,
        recv(rx[23]) -> _ => 23,
        recv(rx[24]) -> _ => 24,
        recv(rx[25]) -> _ => 25,
        recv(rx[26]) -> _ => 26,
        recv(rx[27]) -> _ => 27,
        recv(rx[28]) -> _ => 28,
        recv(rx[29]) -> _ => 29,
        recv(rx[30]) -> _ => 30,
        recv(rx[31]) -> _ => 31,
        recv(rx[32]) -> _ => 32,
        recv(rx[33]) -> _ => 33,
        recv(rx[34]) -> _ => 34,
        recv(rx[35]) -> _ => 35,
        recv(rx[36]) -> _ => 36,
        recv(rx[37]) -> _ => 37,
        recv(rx[38]) -> _ => 38,
        recv(rx[39]) -> _ => 39,
        recv(rx[40]) -> _ => 40,
        recv(rx[41]) -> _ => 41,
        recv(rx[42]) -> _ => 42,
        recv(rx[43]) -> _ => 43,
        recv(rx[44]) -> _ => 44,
        recv(rx[45]) -> _ => 45,
        recv(rx[46]) -> _ => 46,
        recv(rx[47]) -> _ => 47,
        recv(rx[48]) -> _ => 48,
        recv(rx[49]) -> _ => 49,
        recv(rx[50]) -> _ => 50,
        recv(rx[51]) -> _ => 51,
        recv(rx[52]) -> _ => 52,
        recv(rx[53]) -> _ => 53,
        recv(rx[54]) -> _ => 54,
        recv(rx[55]) -> _ => 55,
        recv(rx[56]) -> _ => 56,
        recv(rx[57]) -> _ => 57,
        recv(rx[58]) -> _ => 58,
        recv(rx[59]) -> _ => 59,
        recv(rx[60]) -> _ => 60,
        recv(rx[61]) -> _ => 61,
        recv(rx[62]) -> _ => 62,
        recv(rx[63]) -> _ => 63,
        };
        counts[i] += 1;
        chans[i].0.send(0).unwrap();
    }
    let e = rounds as f64;
    let chi2: f64 = counts.iter().map(|&c| (c as f64 - e) * (c as f64 - e) / e).sum();
    gort::println!("64 arms: every arm chosen: {}", counts.iter().all(|&c| c > 0));
    gort::println!("64 arms: uniform (chi2 < 190): {}", chi2 < 190.0);
    if chi2 >= 190.0 {
        gort::println!("chi2={} counts={:?}", chi2, counts);
    }
    for (_, r) in &chans[..64] {
        r.recv().unwrap();
    }
    // 100 arms: with only arm k ready, arm k's body runs and gets k's value.
    let mut right = 0;
    for (k, (t, _)) in chans.iter().enumerate() {
        t.send(k as u32).unwrap();
        let (i, v): (usize, Option<u32>) = gort::select! {
        recv(rx[0]) -> v => (0, v),
        recv(rx[1]) -> v => (1, v),
        recv(rx[2]) -> v => (2, v),
        recv(rx[3]) -> v => (3, v),
        recv(rx[4]) -> v => (4, v),
        recv(rx[5]) -> v => (5, v),
        recv(rx[6]) -> v => (6, v),
        recv(rx[7]) -> v => (7, v),
        recv(rx[8]) -> v => (8, v),
        recv(rx[9]) -> v => (9, v),
        recv(rx[10]) -> v => (10, v),
        recv(rx[11]) -> v => (11, v),
        recv(rx[12]) -> v => (12, v),
        recv(rx[13]) -> v => (13, v),
        recv(rx[14]) -> v => (14, v),
        recv(rx[15]) -> v => (15, v),
        recv(rx[16]) -> v => (16, v),
        recv(rx[17]) -> v => (17, v),
        recv(rx[18]) -> v => (18, v),
        recv(rx[19]) -> v => (19, v),
        recv(rx[20]) -> v => (20, v),
        recv(rx[21]) -> v => (21, v),
        recv(rx[22]) -> v => (22, v),
        recv(rx[23]) -> v => (23, v),
        recv(rx[24]) -> v => (24, v),
        recv(rx[25]) -> v => (25, v),
        recv(rx[26]) -> v => (26, v),
        recv(rx[27]) -> v => (27, v),
        recv(rx[28]) -> v => (28, v),
        recv(rx[29]) -> v => (29, v),
        recv(rx[30]) -> v => (30, v),
        recv(rx[31]) -> v => (31, v),
        recv(rx[32]) -> v => (32, v),
        recv(rx[33]) -> v => (33, v),
        recv(rx[34]) -> v => (34, v),
        recv(rx[35]) -> v => (35, v),
        recv(rx[36]) -> v => (36, v),
        recv(rx[37]) -> v => (37, v),
        recv(rx[38]) -> v => (38, v),
        recv(rx[39]) -> v => (39, v),
        recv(rx[40]) -> v => (40, v),
        recv(rx[41]) -> v => (41, v),
        recv(rx[42]) -> v => (42, v),
        recv(rx[43]) -> v => (43, v),
        recv(rx[44]) -> v => (44, v),
        recv(rx[45]) -> v => (45, v),
        recv(rx[46]) -> v => (46, v),
        recv(rx[47]) -> v => (47, v),
        recv(rx[48]) -> v => (48, v),
        recv(rx[49]) -> v => (49, v),
        recv(rx[50]) -> v => (50, v),
        recv(rx[51]) -> v => (51, v),
        recv(rx[52]) -> v => (52, v),
        recv(rx[53]) -> v => (53, v),
        recv(rx[54]) -> v => (54, v),
        recv(rx[55]) -> v => (55, v),
        recv(rx[56]) -> v => (56, v),
        recv(rx[57]) -> v => (57, v),
        recv(rx[58]) -> v => (58, v),
        recv(rx[59]) -> v => (59, v),
        recv(rx[60]) -> v => (60, v),
        recv(rx[61]) -> v => (61, v),
        recv(rx[62]) -> v => (62, v),
        recv(rx[63]) -> v => (63, v),
        recv(rx[64]) -> v => (64, v),
        recv(rx[65]) -> v => (65, v),
        recv(rx[66]) -> v => (66, v),
        recv(rx[67]) -> v => (67, v),
        recv(rx[68]) -> v => (68, v),
        recv(rx[69]) -> v => (69, v),
        recv(rx[70]) -> v => (70, v),
        recv(rx[71]) -> v => (71, v),
        recv(rx[72]) -> v => (72, v),
        recv(rx[73]) -> v => (73, v),
        recv(rx[74]) -> v => (74, v),
        recv(rx[75]) -> v => (75, v),
        recv(rx[76]) -> v => (76, v),
        recv(rx[77]) -> v => (77, v),
        recv(rx[78]) -> v => (78, v),
        recv(rx[79]) -> v => (79, v),
        recv(rx[80]) -> v => (80, v),
        recv(rx[81]) -> v => (81, v),
        recv(rx[82]) -> v => (82, v),
        recv(rx[83]) -> v => (83, v),
        recv(rx[84]) -> v => (84, v),
        recv(rx[85]) -> v => (85, v),
        recv(rx[86]) -> v => (86, v),
        recv(rx[87]) -> v => (87, v),
        recv(rx[88]) -> v => (88, v),
        recv(rx[89]) -> v => (89, v),
        recv(rx[90]) -> v => (90, v),
        recv(rx[91]) -> v => (91, v),
        recv(rx[92]) -> v => (92, v),
        recv(rx[93]) -> v => (93, v),
        recv(rx[94]) -> v => (94, v),
        recv(rx[95]) -> v => (95, v),
        recv(rx[96]) -> v => (96, v),
        recv(rx[97]) -> v => (97, v),
        recv(rx[98]) -> v => (98, v),
        recv(rx[99]) -> v => (99, v),
        };
        if i == k && v == Some(k as u32) {
            right += 1;
        }
    }
    gort::println!("100 arms: right arm {} of 100", right);

    // try_send / try_recv.
    let (tx, rx) = gort::chan::<u32>(1);
    gort::println!("try_recv empty: {:?}", rx.try_recv());
    gort::println!("try_send: {:?} then {:?}", tx.try_send(1), tx.try_send(2));
    gort::println!("try_recv: {:?}", rx.try_recv());
    let (utx, urx) = gort::chan::<u32>(0);
    gort::println!("try_send unbuffered, nobody waiting: {:?}", utx.try_send(7));
    let (done_tx, done_rx) = gort::chan::<Option<u32>>(0);
    gort::go(move || done_tx.send(urx.recv()).unwrap());
    // try_send succeeds once the receiver is parked waiting.
    let mut v = 8;
    loop {
        match utx.try_send(v) {
            Ok(()) => break,
            Err(TrySendError::Full(back)) => {
                v = back;
                gort::gosched();
            }
            Err(e) => panic!("unexpected {:?}", e),
        }
    }
    gort::println!("parked receiver got {:?}", done_rx.recv().unwrap());
    utx.close();
    gort::println!("try_send to a closed channel: {:?}", utx.try_send(9));
    tx.close();
    gort::println!("try_recv closed: {:?}", rx.try_recv());
    gort::println!("never try_recv: {:?}", Receiver::<u32>::never().try_recv());

    // Iterators.
    let (tx, rx) = gort::chan::<u32>(8);
    for i in 1..=5 {
        tx.send(i).unwrap();
    }
    let first: Vec<u32> = rx.try_iter().take(2).collect();
    let rest: Vec<u32> = rx.try_iter().collect();
    gort::println!("try_iter: {:?} {:?} (then stops: {:?})", first, rest, rx.try_iter().next());
    gort::go(move || {
        for i in 6..=8 {
            tx.send(i).unwrap();
        }
    });
    let mut by_ref = Vec::new();
    for v in &rx {
        by_ref.push(v);
    }
    gort::println!("for v in &rx: {:?}", by_ref);
    let (tx, rx) = gort::chan::<u32>(2);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    gort::println!(
        "rx.iter(): {:?}, into_iter: {:?}",
        rx.clone().iter().take(1).collect::<Vec<_>>(),
        rx.into_iter().collect::<Vec<_>>()
    );

    // capacity, len.
    let (tx, rx) = gort::chan::<u32>(3);
    tx.send(1).unwrap();
    gort::println!(
        "capacity {} {} len {} {} unbuffered {} never {}",
        tx.capacity(),
        rx.capacity(),
        tx.len(),
        rx.len(),
        gort::chan::<u8>(0).0.capacity(),
        Receiver::<u8>::never().capacity()
    );

    // Debug and Display.
    gort::println!("{:?} {:?} {:?}", tx, rx, Receiver::<u8>::never());
    gort::println!("{:?} {:?}", rx.iter(), rx.try_iter());
    gort::println!("{:?} {:?} {:?}", gort::SendError(1), TrySendError::Full(1), TrySendError::Disconnected(1));
    gort::println!("{:?} {:?}", TryRecvError::Empty, TryRecvError::Disconnected);
    gort::println!(
        "{} | {} | {} | {} | {}",
        is_error(&gort::SendError(1)),
        is_error(&TrySendError::Full(1)),
        is_error(&TrySendError::Disconnected(1)),
        is_error(&TryRecvError::Empty),
        is_error(&TryRecvError::Disconnected)
    );
    let m = gort::sync::Mutex::new(5);
    gort::println!("{:?}", m);
    let g = m.lock();
    gort::println!("{:?} guard {:?}", m, g);
    drop(g);
    let wg = gort::sync::WaitGroup::new();
    wg.add(2);
    let once = gort::sync::Once::new();
    once.call_once(|| ());
    gort::println!("{:?} {:?} {:?}", wg, once, gort::os::stdout());
    wg.add(-2);
}

/// 64 producers on unbuffered channels, one consumer selecting over all 64; each arm switches
/// off (None) when its channel closes, which happens when its producer returns.
fn fanin64() {
    const PER: u32 = 50;
    let mut rxs: Vec<Receiver<u32>> = Vec::new();
    for i in 0..64u32 {
        let (tx, rx) = gort::chan::<u32>(0);
        rxs.push(rx);
        gort::go(move || {
            for k in 0..PER {
                tx.send(i * 1000 + k).unwrap();
            }
        });
    }
    let mut live: Vec<Option<&Receiver<u32>>> = rxs.iter().map(Some).collect();
    let mut next = [0u32; 64];
    let mut open = 64;
    let mut got = 0;
    while open > 0 {
        let (i, v): (usize, Option<u32>) = gort::select! {
            recv(live[0]) -> v => (0, v),
            recv(live[1]) -> v => (1, v),
            recv(live[2]) -> v => (2, v),
            recv(live[3]) -> v => (3, v),
            recv(live[4]) -> v => (4, v),
            recv(live[5]) -> v => (5, v),
            recv(live[6]) -> v => (6, v),
            recv(live[7]) -> v => (7, v),
            recv(live[8]) -> v => (8, v),
            recv(live[9]) -> v => (9, v),
            recv(live[10]) -> v => (10, v),
            recv(live[11]) -> v => (11, v),
            recv(live[12]) -> v => (12, v),
            recv(live[13]) -> v => (13, v),
            recv(live[14]) -> v => (14, v),
            recv(live[15]) -> v => (15, v),
            recv(live[16]) -> v => (16, v),
            recv(live[17]) -> v => (17, v),
            recv(live[18]) -> v => (18, v),
            recv(live[19]) -> v => (19, v),
            recv(live[20]) -> v => (20, v),
            recv(live[21]) -> v => (21, v),
            recv(live[22]) -> v => (22, v),
            recv(live[23]) -> v => (23, v),
            recv(live[24]) -> v => (24, v),
            recv(live[25]) -> v => (25, v),
            recv(live[26]) -> v => (26, v),
            recv(live[27]) -> v => (27, v),
            recv(live[28]) -> v => (28, v),
            recv(live[29]) -> v => (29, v),
            recv(live[30]) -> v => (30, v),
            recv(live[31]) -> v => (31, v),
            recv(live[32]) -> v => (32, v),
            recv(live[33]) -> v => (33, v),
            recv(live[34]) -> v => (34, v),
            recv(live[35]) -> v => (35, v),
            recv(live[36]) -> v => (36, v),
            recv(live[37]) -> v => (37, v),
            recv(live[38]) -> v => (38, v),
            recv(live[39]) -> v => (39, v),
            recv(live[40]) -> v => (40, v),
            recv(live[41]) -> v => (41, v),
            recv(live[42]) -> v => (42, v),
            recv(live[43]) -> v => (43, v),
            recv(live[44]) -> v => (44, v),
            recv(live[45]) -> v => (45, v),
            recv(live[46]) -> v => (46, v),
            recv(live[47]) -> v => (47, v),
            recv(live[48]) -> v => (48, v),
            recv(live[49]) -> v => (49, v),
            recv(live[50]) -> v => (50, v),
            recv(live[51]) -> v => (51, v),
            recv(live[52]) -> v => (52, v),
            recv(live[53]) -> v => (53, v),
            recv(live[54]) -> v => (54, v),
            recv(live[55]) -> v => (55, v),
            recv(live[56]) -> v => (56, v),
            recv(live[57]) -> v => (57, v),
            recv(live[58]) -> v => (58, v),
            recv(live[59]) -> v => (59, v),
            recv(live[60]) -> v => (60, v),
            recv(live[61]) -> v => (61, v),
            recv(live[62]) -> v => (62, v),
            recv(live[63]) -> v => (63, v),
        };
        match v {
            Some(v) => {
                assert_eq!(v, i as u32 * 1000 + next[i], "arm {} out of order", i);
                next[i] += 1;
                got += 1;
            }
            None => {
                live[i] = None;
                open -= 1;
            }
        }
    }
    gort::println!("fanin64: {} values, all in order, every arm off: {}", got, live.iter().all(|l| l.is_none()));
}
