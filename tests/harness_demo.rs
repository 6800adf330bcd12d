//! A test target whose tests fail on purpose, in every way a gort test can: xtask runs it
//! (`cargo xtask test`, row "test harness") and checks the harness's report: the panicking,
//! erroring and overflowing tests are FAILED, the others still run and pass, the ignored one is
//! ignored, the counts line is right and the exit status is 101. Not run by `cargo test`
//! (`test = false` in Cargo.toml): it is meant to fail.
#![no_std]
#![no_main]

gort::test_main! {
    #[test]
    fn passes_before() {
        let (tx, rx) = gort::chan::<u8>(1);
        tx.send(1).unwrap();
        assert_eq!(rx.recv().unwrap(), 1);
    }

    #[test]
    fn panics_in_a_goroutine() {
        let (tx, rx) = gort::chan::<()>(0);
        gort::go(move || {
            let v: [u8; 0] = [];
            let i = core::hint::black_box(3);
            let _ = tx.send(());
            let _ = v[i];
        });
        let _ = rx.recv();
        gort::sleep(core::time::Duration::from_secs(5));
    }

    #[test]
    fn returns_an_error() -> Result<(), &'static str> {
        Err("on purpose")
    }

    #[test]
    fn deadlocks() {
        let (_tx, rx) = gort::chan::<()>(0);
        let _ = rx.recv();
    }

    #[test]
    fn overflows_its_stack() {
        // The case: a 100 KB local array on a 64 KB goroutine stack. linux/arm has no
        // stack probes and refuses frames above 16 KB at startup (README "Large frames"): there
        // 1 KB frames recurse until the stack is gone.
        let (tx, rx) = gort::chan::<u8>(0);
        gort::go_with_stack(64 << 10, move || {
            #[cfg(not(target_arch = "arm"))]
            let a = core::hint::black_box([7u8; 100 << 10]);
            #[cfg(target_arch = "arm")]
            let a = [deep(0)];
            let _ = tx.send(a[core::hint::black_box(0)]);
        });
        let _ = rx.recv();
    }

    #[cfg(target_arch = "arm")]
    fn deep(n: u32) -> u8 {
        let a = core::hint::black_box([n as u8; 1024]);
        a[5].wrapping_add(deep(n + 1))
    }

    #[test]
    #[ignore]
    fn ignored_one() {
        panic!("never run");
    }

    #[test]
    fn passes_after() {
        gort::sleep(core::time::Duration::from_millis(1));
    }
}
