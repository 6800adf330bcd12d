// Links this crate's programs (bins, tests, examples) as gort programs.
fn main() {
    // The flags gort's build script publishes for the target (gort's `links = "gort"`).
    let args = std::env::var("DEP_GORT_LINK_ARGS").expect("gort's build script sets DEP_GORT_LINK_ARGS");
    for a in args.split_whitespace() {
        println!("cargo::rustc-link-arg={a}");
    }
    // Tells gort::main! and gort::test_main! the flags are forwarded (they refuse to compile without).
    println!("cargo::rustc-check-cfg=cfg(gort_link_args)");
    println!("cargo::rustc-cfg=gort_link_args");
}
