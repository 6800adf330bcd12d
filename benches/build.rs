//! Links the test programs as gort programs: the flags come from gort's build script.
fn main() {
    for a in std::env::var("DEP_GORT_LINK_ARGS").unwrap_or_default().split_whitespace() {
        println!("cargo::rustc-link-arg-bins={a}");
    }
}
