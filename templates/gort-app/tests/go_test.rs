//! `cargo test`: each #[test] runs as a goroutine, in a child process of its own.
#![no_std]
#![no_main]

gort::test_main! {
    use core::time::Duration;

    #[test]
    fn squares_in_order() {
        assert_eq!(gort_app::squares(5), [0, 1, 4, 9, 16]);
    }

    #[test]
    fn a_timeout_fires() {
        let (_tx, rx) = gort::chan::<()>(0);
        assert!(rx.recv_timeout(Duration::from_millis(10)).is_err());
    }
}
