//! Assembles asm/rt0_<os>_<arch>.S for the target with clang (the `cc` crate; the C preprocessor
//! pulls in asm/asm_<arch>.h and, on windows, asm/rt0_windows.h from the same folder), generates
//! the struct offsets that assembly uses from asm/offsets.def, and publishes the link flags a gort
//! program needs as DEP_GORT_LINK_ARGS for dependents' build scripts.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap();
    let word: usize = env::var("CARGO_CFG_TARGET_POINTER_WIDTH").unwrap().parse::<usize>().unwrap() / 8;
    println!("cargo::rerun-if-changed=asm");
    println!("cargo::rerun-if-changed=build.rs");

    generate_offsets(&out, word);

    // `gort_traceback`: the target has an unwinder (src/traceback/), so failures print frames:
    // every target but windows/arm.
    println!("cargo::rustc-check-cfg=cfg(gort_traceback)");
    if !(os == "windows" && arch == "arm") {
        println!("cargo::rustc-cfg=gort_traceback");
    }
    // `gort_trace`: the execution tracer (src/trace/) is built: the `trace` feature.
    println!("cargo::rustc-check-cfg=cfg(gort_trace)");
    if env::var_os("CARGO_FEATURE_TRACE").is_some() {
        println!("cargo::rustc-cfg=gort_trace");
    }
    // `gort_pprof`: the profilers (src/cpuprof.rs, src/mprof.rs) are built: the `pprof` feature
    // on linux (their stacks come from the traceback unwinder, their names from `.symtab`).
    println!("cargo::rustc-check-cfg=cfg(gort_pprof)");
    if env::var_os("CARGO_FEATURE_PPROF").is_some() && os == "linux" {
        println!("cargo::rustc-cfg=gort_pprof");
    }

    let goarch = match arch.as_str() {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        other => panic!("gort: unsupported target_arch {other}"),
    };
    let goos = match os.as_str() {
        "linux" => "linux",
        "macos" => "darwin",
        "windows" => "windows",
        other => panic!("gort: unsupported target_os {other}"),
    };
    let rt0 = format!("asm/rt0_{goos}_{goarch}.S");
    let entry = format!("_rt0_{goarch}_{goos}");

    // Host unit tests (cfg(test)) never reference the entry symbol, so the archive member is not
    // pulled into them; real programs pull it with `-u <entry>` below.
    let target = env::var("TARGET").unwrap();
    let clang_target = match target.as_str() {
        "x86_64-unknown-linux-gnu" => "x86_64-linux-gnu",
        "aarch64-unknown-linux-gnu" => "aarch64-linux-gnu",
        "armv7-unknown-linux-gnueabihf" => "armv7a-linux-gnueabihf",
        "x86_64-apple-darwin" => "x86_64-apple-macos11",
        "aarch64-apple-darwin" => "arm64-apple-macos11",
        "x86_64-pc-windows-msvc" => "x86_64-pc-windows-msvc",
        "aarch64-pc-windows-msvc" => "aarch64-pc-windows-msvc",
        "thumbv7a-pc-windows-msvc" => "thumbv7a-pc-windows-msvc",
        t => t,
    };
    let mut build = cc::Build::new();
    // MSVC-style archives: cc wants lib.exe; LLVM's llvm-lib speaks its command line.
    if target.ends_with("-msvc") && env::var_os(format!("AR_{}", target.replace('-', "_"))).is_none() {
        build.archiver("llvm-lib");
    }
    build.compiler("clang").flag(format!("--target={clang_target}")).include(&out).file(&rt0).compile("gort_rt0");

    let mut link_args: Vec<String> = match goos {
        "linux" => vec![
            "-nostartfiles".into(),
            "-nostdlib".into(),
            "-static".into(),
            "-no-pie".into(),
            format!("-Wl,-e,{entry}"),
            format!("-Wl,-u,{entry}"),
            "-Wl,-z,noexecstack".into(),
            "-Wl,--build-id=none".into(),
            // PT_GNU_RELRO asks the dynamic loader to make relocated data read-only; a gort
            // program has no loader, so the segment stayed writable anyway and only split the
            // writable data into two mappings at exec (issue 22).
            "-Wl,-z,norelro".into(),
        ],
        // darwin: dyld calls the LC_MAIN entry like main(argc, argv, envp, apple). Mach-O symbols
        // carry a leading underscore. libSystem is the only library (gort's extern blocks name it
        // with #[link]); its stub is linker/libSystem.tbd, found through the search path below.
        // The linker itself is rust-lld (ld64 flavor), chosen with CARGO_TARGET_<TRIPLE>_LINKER.
        // rust-lld in ld64 mode takes the flags bare (no clang -Wl, wrapper).
        "darwin" => vec!["-e".into(), format!("_{entry}"), "-u".into(), format!("_{entry}")],
        // rust-lld in lld-link mode (CARGO_TARGET_<TRIPLE>_LINKER=rust-lld, .cargo/config.toml):
        // no CRT, the rt0 entry, a console program; the main thread commits 128 KB of its 1 MB
        // stack up front so g0 (its top 64 KB) is committed before the TEB is told about it.
        // Imports come from raw-dylib declarations in src/sys/windows/mod.rs.
        "windows" => vec![
            "/NODEFAULTLIB".into(),
            format!("/ENTRY:{entry}"),
            format!("/INCLUDE:{entry}"),
            "/SUBSYSTEM:CONSOLE".into(),
            "/STACK:0x100000,0x20000".into(),
        ],
        _ => vec![],
    };
    if goos == "darwin" {
        let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("linker");
        println!("cargo::rerun-if-changed=linker/libSystem.tbd");
        println!("cargo::rustc-link-search=native={}", dir.display());
    }
    // Cross linux targets link with clang + lld (the host's gcc cannot link them): the linker
    // itself is chosen with CARGO_TARGET_<TRIPLE>_LINKER=clang (xtask sets it), these flags tell
    // clang which target and linker to use.
    if goos == "linux" && goarch != "amd64" {
        link_args.push("-fuse-ld=lld".into());
        link_args.push(format!("--target={clang_target}"));
    }
    // gort's own examples and its harness = false test targets (tests/*.rs) are gort programs;
    // cfg(gort_link_args) tells gort::main! the flags are there (see __link_check! in lib.rs).
    for a in &link_args {
        println!("cargo::rustc-link-arg-examples={a}");
        println!("cargo::rustc-link-arg-tests={a}");
    }
    println!("cargo::rustc-check-cfg=cfg(gort_link_args)");
    println!("cargo::rustc-cfg=gort_link_args");
    println!("cargo::metadata=link_args={}", link_args.join(" "));
    println!("cargo::metadata=entry={entry}");
}

/// Turns asm/offsets.def into asm_offsets.h (for .S files) and asm_offsets.rs (consts plus
/// compile-time `offset_of!` checks), both for this target's word size.
fn generate_offsets(out: &Path, word: usize) {
    let def = fs::read_to_string("asm/offsets.def").expect("asm/offsets.def");
    let mut h = String::from("/* generated by build.rs from asm/offsets.def; do not edit */\n");
    let mut rs = String::from("// generated by build.rs from asm/offsets.def; do not edit\n");
    writeln!(h, "#define PTRSIZE {word}").unwrap();
    for line in def.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 4, "asm/offsets.def: bad row: {line}");
        let (name, ty, field, words) = (f[0], f[1], f[2], f[3].parse::<usize>().expect("words"));
        let bytes = words * word;
        writeln!(h, "#define {name} {bytes}").unwrap();
        let cname = name.to_uppercase();
        writeln!(rs, "/// Offset of `{ty}.{field}` as assembly sees it ({words} words).").unwrap();
        writeln!(rs, "pub const {cname}: usize = {bytes};").unwrap();
        writeln!(
            rs,
            "const _: () = assert!(core::mem::offset_of!(crate::gmp::{ty}, {field}) == {cname}, \"asm/offsets.def: {name} drifted from the Rust struct\");"
        )
        .unwrap();
    }
    fs::write(out.join("asm_offsets.h"), h).unwrap();
    fs::write(out.join("asm_offsets.rs"), rs).unwrap();
}
