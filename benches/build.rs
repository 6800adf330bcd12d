//! Links the test programs as gort programs: the flags come from gort's build script.
fn main() {
    for a in std::env::var("DEP_GORT_LINK_ARGS").unwrap_or_default().split_whitespace() {
        println!("cargo::rustc-link-arg-bins={a}");
    }
    // Tells gort::main! the flags are forwarded (it refuses to compile without).
    println!("cargo::rustc-check-cfg=cfg(gort_link_args)");
    println!("cargo::rustc-cfg=gort_link_args");
}
