//! e2e: an unrecovered panic prints the panicking goroutine's call chain (Go's traceback), on
//! linux amd64 and arm64 (traceback.rs, symtab.rs). Modes (first argument):
//!
//! - none: goroutine 1 panics in `level_c`, called through `level_a → level_b`;
//! - `goroutine`: goroutine 2 panics in `g_level_b` (through its closure and `g_level_a`) while
//!   main waits; its chain ends at its entry;
//! - `deep`: a 150-call recursion panics: 100 frames, then `...additional frames elided...`;
//! - `stack`: prints `gort::runtime::stack(false)`, `----`, then `stack(true)` while goroutine 2
//!   waits in `parked_in_recv`, and exits 0;
//! - `in-allocator`: panics in `in_allocator_level_b` holding the heap lock (what a failure
//!   inside the allocator leaves): the report must print all the same;
//! - `fault`: reads through a null pointer in `fault_level_b` (called from `fault_level_a`): the
//!   signal's report shows the chain from the faulting instruction;
//! - `stripped` (linux): copies itself to /tmp with its `.symtab` section header turned into
//!   SHT_NULL (what `strip` leaves to a reader of section headers: no symbol table), and
//!   re-executes the copy as `stripped-child`, which unlinks its file and panics: no names, only
//!   `?()` and `EXE+0xADDR` lines.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;

#[inline(never)]
fn level_c(x: u32) -> u32 {
    if core::hint::black_box(x) > 2 {
        panic!("boom in level_c ({})", x);
    }
    x
}

#[inline(never)]
fn level_b(x: u32) -> u32 {
    level_c(core::hint::black_box(x) + 1) + 1
}

#[inline(never)]
fn level_a(x: u32) -> u32 {
    level_b(core::hint::black_box(x) + 1) + 1
}

#[inline(never)]
fn g_level_b(x: u32) -> u32 {
    if core::hint::black_box(x) > 0 {
        panic!("boom in a goroutine ({})", x);
    }
    x
}

#[inline(never)]
fn g_level_a(x: u32) -> u32 {
    g_level_b(core::hint::black_box(x) + 1) + 1
}

#[inline(never)]
fn recurse(n: u32) -> u32 {
    if core::hint::black_box(n) == 0 {
        panic!("boom at the bottom");
    }
    recurse(n - 1) + 1
}

fn main() {
    let args = gort::os::args();
    let mode = args.get(1).copied().unwrap_or(b"");
    match mode {
        b"" => {
            gort::println!("{}", level_a(1));
        }
        b"goroutine" => {
            let (tx, rx) = gort::chan::<u32>(0);
            gort::go(move || {
                // Panic once goroutine 1 waits in its receive (GOTRACEBACK=all shows it there).
                while gort::testing::parked_goroutines() < 1 {
                    gort::gosched();
                }
                let v = g_level_a(core::hint::black_box(0));
                tx.send(v).unwrap();
            });
            gort::println!("{:?}", rx.recv());
        }
        b"deep" => {
            gort::println!("{}", recurse(150));
        }
        b"stack" => {
            let (tx, rx) = gort::chan::<u32>(0);
            let (done_tx, done_rx) = gort::chan::<u32>(0);
            gort::go(move || {
                let v = parked_in_recv(rx);
                done_tx.send(v).unwrap();
            });
            // Let goroutine 2 reach its receive.
            while gort::testing::parked_goroutines() < 1 {
                gort::gosched();
            }
            stack_printer();
            tx.send(1).unwrap();
            gort::println!("done {:?}", done_rx.recv());
        }
        b"in-allocator" => {
            gort::println!("{}", in_allocator_level_a());
        }
        b"fault" => {
            gort::println!("{}", fault_level_a());
        }
        b"stripped" => stripped(),
        b"stripped-child" => {
            unlink_self();
            gort::println!("{}", level_a(1));
        }
        _ => {
            gort::eprintln!("traceback: unknown mode");
            gort::os::exit(1);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn stripped() {
    gort::eprintln!("traceback: stripped runs on linux only");
    gort::os::exit(1);
}

#[cfg(not(target_os = "linux"))]
fn unlink_self() {}

/// The stripped copy's path, NUL-terminated.
#[cfg(target_os = "linux")]
fn copy_path() -> alloc::vec::Vec<u8> {
    // SAFETY: getpid takes no arguments.
    let pid = unsafe { gort::syscall::syscall6(gort_e2e::nr::GETPID, 0, 0, 0, 0, 0, 0) };
    alloc::format!("/tmp/gort-e2e-traceback-stripped-{}\0", pid).into_bytes()
}

#[cfg(target_os = "linux")]
fn unlink_self() {
    const AT_FDCWD: isize = -100;
    let path = gort::os::args()[0];
    let mut p = alloc::vec::Vec::from(path);
    p.push(0);
    // SAFETY: unlinkat reads only the NUL-terminated path.
    unsafe { gort::syscall::syscall6(gort_e2e::nr::UNLINKAT, AT_FDCWD as usize, p.as_ptr() as usize, 0, 0, 0, 0) };
}

/// Writes a copy of this program without a symbol table and executes it (see the module doc).
#[cfg(target_os = "linux")]
fn stripped() {
    use gort::syscall::syscall6;
    use gort_e2e::nr;
    const AT_FDCWD: isize = -100;
    const O_WRONLY_CREAT_TRUNC_CLOEXEC: usize = 0o1 | 0o100 | 0o1000 | 0o2000000;
    let mut exe: alloc::vec::Vec<u8> = alloc::vec::Vec::new();
    // SAFETY: NUL-terminated path; reads into the spare capacity it reserved; our own fd.
    unsafe {
        let fd = syscall6(nr::OPENAT, AT_FDCWD as usize, c"/proc/self/exe".as_ptr() as usize, 0, 0, 0, 0);
        assert!(fd >= 0, "open /proc/self/exe: {}", fd);
        loop {
            exe.reserve(1 << 20);
            let spare = exe.capacity() - exe.len();
            let r = syscall6(nr::READ, fd as usize, exe.as_mut_ptr().add(exe.len()) as usize, spare, 0, 0, 0);
            assert!(r >= 0, "read /proc/self/exe: {}", r);
            if r == 0 {
                break;
            }
            exe.set_len(exe.len() + r as usize);
        }
        syscall6(nr::CLOSE, fd as usize, 0, 0, 0, 0, 0);
    }
    // Elf64_Ehdr: e_shoff at 0x28, e_shentsize at 0x3a, e_shnum at 0x3c; Elf32_Ehdr (arm): at
    // 0x20, 0x2e, 0x30. Elf_Shdr.sh_type at +4 in both.
    let rd = |exe: &[u8], o: usize, w: usize| exe[o..o + w].iter().rev().fold(0usize, |a, &b| a << 8 | b as usize);
    let (shoff, shentsize, shnum) = if exe[4] == 2 {
        (rd(&exe, 0x28, 8), rd(&exe, 0x3a, 2), rd(&exe, 0x3c, 2))
    } else {
        (rd(&exe, 0x20, 4), rd(&exe, 0x2e, 2), rd(&exe, 0x30, 2))
    };
    let mut found = false;
    for i in 0..shnum {
        let t = shoff + i * shentsize + 4;
        if rd(&exe, t, 4) == 2 {
            exe[t..t + 4].copy_from_slice(&0u32.to_le_bytes());
            found = true;
        }
    }
    assert!(found, "no .symtab to strip");
    let path = copy_path();
    // SAFETY: NUL-terminated path; the buffer is valid for its length; our own fd.
    unsafe {
        let fd =
            syscall6(nr::OPENAT, AT_FDCWD as usize, path.as_ptr() as usize, O_WRONLY_CREAT_TRUNC_CLOEXEC, 0o700, 0, 0);
        assert!(fd >= 0, "create {:?}: {}", core::str::from_utf8(&path), fd);
        let mut off = 0;
        while off < exe.len() {
            let w = syscall6(nr::WRITE, fd as usize, exe.as_ptr().add(off) as usize, exe.len() - off, 0, 0, 0);
            assert!(w > 0, "write: {}", w);
            off += w as usize;
        }
        syscall6(nr::CLOSE, fd as usize, 0, 0, 0, 0, 0);
    }
    let child = b"stripped-child\0";
    let argv: [*const u8; 3] = [path.as_ptr(), child.as_ptr(), core::ptr::null()];
    let envp: [*const u8; 1] = [core::ptr::null()];
    // SAFETY: execve(2) reads only the NUL-terminated path and the NULL-terminated arrays, which
    // outlive the call; on success it does not return.
    let ret = unsafe {
        gort::syscall::raw_syscall6(
            nr::EXECVE,
            path.as_ptr() as usize,
            argv.as_ptr() as usize,
            envp.as_ptr() as usize,
            0,
            0,
            0,
        )
    };
    gort::eprintln!("traceback: execve failed: errno {}", -ret);
    gort::os::exit(1);
}

#[inline(never)]
fn parked_in_recv(rx: gort::Receiver<u32>) -> u32 {
    rx.recv().unwrap_or(0) + 1
}

#[inline(never)]
fn stack_printer() {
    gort::println!("{}", gort::runtime::stack(false));
    gort::println!("----");
    gort::println!("{}", gort::runtime::stack(true));
}

#[inline(never)]
fn fault_level_b(p: *const u32) -> u32 {
    // SAFETY: none: p is null and this read faults on purpose.
    unsafe { core::ptr::read_volatile(core::hint::black_box(p)) + 1 }
}

#[inline(never)]
fn fault_level_a() -> u32 {
    fault_level_b(core::hint::black_box(core::ptr::null())) + 1
}

#[inline(never)]
fn in_allocator_level_b() -> u32 {
    gort::testing::panic_in_allocator()
}

#[inline(never)]
fn in_allocator_level_a() -> u32 {
    in_allocator_level_b() + core::hint::black_box(1)
}
