//! e2e: gort::fs and standard input. Modes (first argument):
//! - `basic`: create/write/read back/seek/append/truncate/set_len/metadata/rename/remove/read_dir/
//!   create_dir_all/remove_dir in a fresh directory under the temp directory (/tmp; %TEMP% on
//!   windows), a 1 MB file checked byte by byte, and the portable error kinds (NotFound,
//!   AlreadyExists, InvalidInput for a NUL in a path or useless options, DirectoryNotEmpty).
//! - `errors-os`: the kinds whose OS codes differ: reading a directory, removing a directory as a
//!   file, a file used as a directory (prints the kinds; the cases expect each OS's).
//! - `concurrent N SIZE [SHARED]`: N goroutines, each writing SIZE bytes to its own file in uneven
//!   chunks, reading them back, and (unless SHARED is 0) appending fixed-size records to one
//!   shared file through handles of their own; every byte checked.
//! - `generic`: one function generic over `embedded_io::{Read, Write}` used over a File, a
//!   `&File` and stdout.
//! - `stdin-lines`: `read_line` until the end, then `read_to_end` through `embedded_io::Read`.
//! - `pipe`: `gort::os::pipe` between goroutines: 4 MB through it in uneven chunks (the writer
//!   waits on a full pipe, the reader on an empty one), every byte checked, end of file once the
//!   writer drops, `BrokenPipe` (and the process alive) writing after the reader dropped, and
//!   both ends through `embedded_io`.
//! - `stdin-nonblock` (linux): stdin replaced by the read end of a pipe with O_NONBLOCK set (as
//!   if inherited so), written by another goroutine 100 ms later: the reads park on the poller
//!   (Go's kindNonBlock) instead of failing with WouldBlock, and the process keeps one M idle.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use gort::fs::{self, File, OpenOptions};
use gort::io::{ErrorKind, SeekFrom};
use gort::println;

fn main() {
    let args = gort::os::args();
    let mode = args.get(1).copied().unwrap_or(b"basic");
    let num = |i: usize, d: usize| {
        args.get(i).and_then(|a| core::str::from_utf8(a).ok()).and_then(|s| s.parse().ok()).unwrap_or(d)
    };
    match mode {
        b"basic" => basic(),
        b"errors-os" => errors_os(),
        b"concurrent" => concurrent(num(2, 50), num(3, 100_000), num(4, 1) == 1),
        b"generic" => generic(),
        b"stdin-lines" => stdin_lines(),
        b"stdin-nonblock" => stdin_nonblock(),
        b"pipe" => pipe(),
        _ => panic!("unknown mode"),
    }
}

/// A fresh directory for this run: <temp>/gort-fs-<thread id>-<name>.
fn scratch(name: &str) -> String {
    let base = if cfg!(windows) {
        gort::os::getenv("TEMP").and_then(|t| core::str::from_utf8(t).ok()).unwrap_or(".")
    } else {
        "/tmp"
    };
    let sep = if cfg!(windows) { "\\" } else { "/" };
    let dir = format!("{base}{sep}gort-fs-{}-{name}", gort_e2e::tid());
    remove_tree(&dir);
    fs::create_dir_all(&dir).expect("create_dir_all scratch");
    dir
}

/// Removes `dir` and everything under it (files and directories only).
fn remove_tree(dir: &str) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd {
        let e = e.expect("read_dir entry");
        let p = String::from_utf8(e.path()).expect("utf-8 path");
        if e.file_type().is_dir() {
            remove_tree(&p);
        } else {
            fs::remove_file(&p).expect("remove_file in tree");
        }
    }
    fs::remove_dir(dir).expect("remove_dir of tree");
}

fn kind<T: core::fmt::Debug>(r: Result<T, gort::io::Error>) -> ErrorKind {
    r.expect_err("expected an error").kind()
}

fn basic() {
    let dir = scratch("basic");
    let p = |name: &str| format!("{dir}/{name}");

    // create_dir_all: nested, again (exists: Ok), and over a file (NotADirectory).
    fs::create_dir_all(p("a/b/c/")).unwrap();
    fs::create_dir_all(p("a/b/c")).unwrap();
    fs::create_dir_all(p("a//b")).unwrap();
    assert!(fs::metadata(p("a/b/c")).unwrap().is_dir());
    println!("create_dir_all: ok");

    // create, write, metadata, read back.
    let f = File::create(p("f.txt")).unwrap();
    f.write_all(b"hello world\n").unwrap();
    let m = f.metadata().unwrap();
    assert_eq!((m.len(), m.is_file(), m.is_dir()), (12, true, false));
    let since = m.modified().duration_since(gort::time::UNIX_EPOCH).expect("modified after 1970");
    assert!(since.as_secs() > 1_600_000_000, "{m:?}");
    // Written just now: within a minute of the wall clock (either side: clocks and file systems
    // round differently).
    let now = gort::time::SystemTime::now().duration_since(gort::time::UNIX_EPOCH).unwrap();
    assert!(since.as_secs().abs_diff(now.as_secs()) < 60, "{m:?} vs now {now:?}");
    drop(f);
    assert_eq!(fs::read_to_string(p("f.txt")).unwrap(), "hello world\n");
    assert_eq!(fs::metadata(p("f.txt")).unwrap().len(), 12);
    println!("create/write/metadata/read: ok");

    // seek and read, read+write in place.
    let f = OpenOptions::new().read(true).write(true).open(p("f.txt")).unwrap();
    assert_eq!(f.seek(SeekFrom::Start(6)).unwrap(), 6);
    let mut buf = [0u8; 5];
    assert_eq!(f.read(&mut buf).unwrap(), 5);
    assert_eq!(&buf, b"world");
    assert_eq!(f.seek(SeekFrom::End(-1)).unwrap(), 11);
    assert_eq!(f.seek(SeekFrom::Current(-11)).unwrap(), 0);
    assert_eq!(kind(f.seek(SeekFrom::Current(-1))), ErrorKind::InvalidInput);
    f.write_all(b"HELLO").unwrap();
    assert_eq!(f.seek(SeekFrom::Current(0)).unwrap(), 5);
    let mut rest = String::new();
    f.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, " world\n");
    assert_eq!(f.read(&mut buf).unwrap(), 0, "end of file");
    f.sync_all().unwrap();
    drop(f);
    println!("seek/read/write in place: ok");

    // append.
    let f = OpenOptions::new().append(true).open(p("f.txt")).unwrap();
    f.write_all(b"more\n").unwrap();
    drop(f);
    // write + append: still at the end, whatever the offset says.
    let f = OpenOptions::new().read(true).write(true).append(true).open(p("f.txt")).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(b"end\n").unwrap();
    drop(f);
    assert_eq!(fs::read(p("f.txt")).unwrap(), b"HELLO world\nmore\nend\n");
    println!("append: ok");

    // set_len shrinks and grows with zeros; truncate on open.
    let f = OpenOptions::new().read(true).write(true).open(p("f.txt")).unwrap();
    f.set_len(5).unwrap();
    assert_eq!(fs::read(p("f.txt")).unwrap(), b"HELLO");
    f.set_len(8).unwrap();
    assert_eq!(fs::read(p("f.txt")).unwrap(), b"HELLO\0\0\0");
    drop(f);
    OpenOptions::new().write(true).truncate(true).open(p("f.txt")).unwrap();
    assert_eq!(fs::metadata(p("f.txt")).unwrap().len(), 0);
    println!("set_len/truncate: ok");

    // create_new, mode, and the portable error kinds.
    assert_eq!(kind(OpenOptions::new().write(true).create_new(true).open(p("f.txt"))), ErrorKind::AlreadyExists);
    let n = OpenOptions::new().write(true).create_new(true).mode(0o600).open(p("new.txt")).unwrap();
    let want_mode = if cfg!(windows) { 0o666 } else { 0o600 };
    assert_eq!(n.metadata().unwrap().mode(), want_mode);
    drop(n);
    let e = File::open(p("missing")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.raw_os_error().is_some());
    assert_eq!(kind(File::open(p("nul\0inside"))), ErrorKind::InvalidInput);
    assert_eq!(kind(fs::metadata(b"a\0".as_slice())), ErrorKind::InvalidInput);
    assert_eq!(kind(fs::create_dir_all(b"x\0y".as_slice())), ErrorKind::InvalidInput);
    assert_eq!(kind(OpenOptions::new().open(p("f.txt"))), ErrorKind::InvalidInput);
    assert_eq!(kind(OpenOptions::new().read(true).truncate(true).open(p("f.txt"))), ErrorKind::InvalidInput);
    assert_eq!(kind(OpenOptions::new().read(true).create(true).open(p("f.txt"))), ErrorKind::InvalidInput);
    assert_eq!(kind(fs::create_dir(p("a"))), ErrorKind::AlreadyExists);
    assert_eq!(kind(fs::create_dir_all(p("f.txt/sub"))), ErrorKind::NotADirectory);
    assert_eq!(kind(fs::remove_dir(p("a"))), ErrorKind::DirectoryNotEmpty);
    assert_eq!(kind(fs::remove_file(p("missing"))), ErrorKind::NotFound);
    // A path longer than the conversion's stack buffer (256 bytes).
    let long_dir = p(&["d".repeat(60).as_str(); 5].join("/"));
    fs::create_dir_all(&long_dir).unwrap();
    let long = format!("{long_dir}/file");
    assert!(long.len() > 300);
    fs::write(&long, "long").unwrap();
    assert_eq!(fs::read_to_string(&long).unwrap(), "long");
    fs::remove_file(&long).unwrap();
    remove_tree(&p(&"d".repeat(60)));
    println!("error kinds: ok");

    // rename, also over an existing file.
    fs::write(p("f.txt"), "first").unwrap();
    fs::rename(p("f.txt"), p("g.txt")).unwrap();
    assert_eq!(kind(fs::metadata(p("f.txt"))), ErrorKind::NotFound);
    fs::write(p("h.txt"), "second").unwrap();
    fs::rename(p("h.txt"), p("g.txt")).unwrap();
    assert_eq!(fs::read_to_string(p("g.txt")).unwrap(), "second");
    println!("rename: ok");

    // read_dir.
    let mut names: Vec<(String, bool, bool)> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (String::from(e.file_name_str().unwrap()), e.file_type().is_dir(), e.file_type().is_file())
        })
        .collect();
    names.sort();
    println!("read_dir: {names:?}");
    assert_eq!(fs::read_dir(p("a/b/c")).unwrap().count(), 0);
    assert_eq!(kind(fs::read_dir(p("missing"))), ErrorKind::NotFound);

    // 1 MB through read_to_end, every byte checked.
    let big: Vec<u8> = (0..1u32 << 20).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    fs::write(p("big"), &big).unwrap();
    let back = fs::read(p("big")).unwrap();
    assert!(back == big, "1 MB read back differs");
    println!("1 MB file: ok");

    // remove everything.
    fs::remove_file(p("g.txt")).unwrap();
    fs::remove_dir(p("a/b/c")).unwrap();
    remove_tree(&dir);
    assert_eq!(kind(fs::metadata(&dir)), ErrorKind::NotFound);
    println!("remove: ok");
}

fn show(r: Result<impl core::fmt::Debug, gort::io::Error>) -> ErrorKind {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.kind(),
    }
}

fn errors_os() {
    let dir = scratch("errors");
    let file = format!("{dir}/file");
    fs::write(&file, "x").unwrap();
    let read_dir_as_file = File::open(&dir).and_then(|f| {
        let mut b = [0u8; 4];
        f.read(&mut b)
    });
    println!("read a directory: {:?}", show(read_dir_as_file));
    println!("open a directory for writing: {:?}", show(OpenOptions::new().write(true).open(&dir)));
    println!("remove_file on a directory: {:?}", show(fs::remove_file(&dir)));
    println!("remove_dir on a file: {:?}", show(fs::remove_dir(&file)));
    println!("a file as a directory: {:?}", show(File::open(format!("{file}/x"))));
    println!("read_dir of a file: {:?}", show(fs::read_dir(&file)));
    remove_tree(&dir);
}

fn concurrent(n: usize, size: usize, shared_appends: bool) {
    let dir = scratch("concurrent");
    let shared = format!("{dir}/shared");
    File::create(&shared).unwrap();
    const RECORDS: usize = 50;
    const REC: usize = 16; // "gGGGG rRRRR....\n"
    let wg = alloc::sync::Arc::new(gort::sync::WaitGroup::new());
    for g in 0..n {
        wg.add(1);
        let wg = wg.clone();
        let (dir, shared) = (dir.clone(), shared.clone());
        gort::go(move || {
            let path = format!("{dir}/own-{g}");
            let data: Vec<u8> = (0..size).map(|i| (i * 31 + g * 7 + i / 251) as u8).collect();
            let f = OpenOptions::new().read(true).write(true).create_new(true).open(&path).unwrap();
            // Uneven chunks, so writes of different goroutines interleave at every size.
            let mut off = 0;
            let mut step = 1 + g % 97;
            while off < size {
                let end = (off + step).min(size);
                f.write_all(&data[off..end]).unwrap();
                off = end;
                step = step * 3 % 8191 + 1;
            }
            assert_eq!(f.seek(SeekFrom::Start(0)).unwrap(), 0);
            let mut back = Vec::new();
            assert_eq!(f.read_to_end(&mut back).unwrap(), size);
            assert!(back == data, "goroutine {g}: own file differs");
            assert!(fs::read(&path).unwrap() == data, "goroutine {g}: fs::read differs");
            let s = OpenOptions::new().append(true).open(&shared).unwrap();
            for r in 0..if shared_appends { RECORDS } else { 0 } {
                let rec = format!("g{g:04} r{r:04}....\n");
                assert_eq!(rec.len(), REC);
                s.write_all(rec.as_bytes()).unwrap();
            }
            drop(s);
            drop(f);
            fs::remove_file(&path).unwrap();
            wg.done();
        });
    }
    wg.wait();
    let all = fs::read(&shared).unwrap();
    if !shared_appends {
        assert!(all.is_empty());
        remove_tree(&dir);
        println!("{n} goroutines x {size} bytes: every byte checked");
        return;
    }
    assert_eq!(all.len(), n * RECORDS * REC, "shared file length");
    let mut next = alloc::vec![0usize; n];
    for rec in all.chunks(REC) {
        let s = core::str::from_utf8(rec).expect("record is text");
        let g: usize = s[1..5].parse().expect("goroutine number");
        let r: usize = s[7..11].parse().expect("record number");
        assert_eq!(&s[11..], "....\n", "torn record {s:?}");
        assert_eq!(r, next[g], "goroutine {g}'s records out of order");
        next[g] += 1;
    }
    assert!(next.iter().all(|&c| c == RECORDS));
    remove_tree(&dir);
    println!("{n} goroutines x {size} bytes + {RECORDS} appended records each: every byte checked");
}

/// Copies everything from `r` to `w` through a small buffer, then writes a summary line:
/// generic over the embedded-io traits, so it runs over files, stdout, or any no_std I/O.
fn copy_and_report<R: embedded_io::Read, W: embedded_io::Write>(r: &mut R, w: &mut W) -> Result<usize, W::Error>
where
    W::Error: From<R::Error>,
{
    let mut buf = [0u8; 7];
    let mut total = 0;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        w.write_all(&buf[..n])?;
        total += n;
    }
    w.write_all(format!("[{total} bytes copied]\n").as_bytes())?;
    w.flush()?;
    Ok(total)
}

fn generic() {
    use embedded_io::{Read, Seek, Write};
    let dir = scratch("generic");
    let (src, dst) = (format!("{dir}/src"), format!("{dir}/dst"));
    fs::write(&src, "line one\nline two\n").unwrap();
    // File -> File.
    let mut from = File::open(&src).unwrap();
    let mut to = File::create(&dst).unwrap();
    assert_eq!(copy_and_report(&mut from, &mut to).unwrap(), 18);
    assert_eq!(fs::read_to_string(&dst).unwrap(), "line one\nline two\n[18 bytes copied]\n");
    // &File through the Seek trait, then -> stdout.
    let dst_file = File::open(&dst).unwrap();
    let mut r = &dst_file;
    assert_eq!(Seek::seek(&mut r, SeekFrom::Start(9)).unwrap(), 9);
    let mut out = gort::os::stdout();
    copy_and_report(&mut r, &mut out).unwrap();
    // read_exact through the trait.
    let mut f = File::open(&src).unwrap();
    let mut four = [0u8; 4];
    f.read_exact(&mut four).unwrap();
    assert_eq!(&four, b"line");
    // write_fmt through the trait.
    writeln!(gort::os::stdout(), "formatted {}", 42).unwrap();
    Write::write_all(&mut gort::os::stderr(), b"to stderr\n").unwrap();
    drop((from, to, dst_file, f));
    remove_tree(&dir); // windows removes an open file only when its last handle closes
}

fn stdin_lines() {
    let stdin = gort::os::stdin();
    let mut line = String::new();
    let mut n = 0;
    for _ in 0..2 {
        line.clear();
        let got = stdin.read_line(&mut line).unwrap();
        if got == 0 {
            break;
        }
        n += 1;
        println!("line {n}: {got} bytes {:?}", line);
    }
    // The rest through the embedded-io trait (whatever read_line read ahead comes first).
    let mut rest = Vec::new();
    let mut s = gort::os::stdin();
    let mut buf = [0u8; 5];
    loop {
        let k = embedded_io::Read::read(&mut s, &mut buf).unwrap();
        if k == 0 {
            break;
        }
        rest.extend_from_slice(&buf[..k]);
    }
    println!("rest: {} bytes {:?}", rest.len(), String::from_utf8_lossy(&rest));
    let mut tail = Vec::new();
    assert_eq!(stdin.read_to_end(&mut tail).unwrap(), 0);
    println!("eof");
}

#[cfg(target_os = "linux")]
fn stdin_nonblock() {
    use gort::syscall::raw_syscall6;
    use linux_raw_sys::general as g;
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two fds into `fds`; dup3 makes fd 0 the pipe's read end; fcntl sets
    // O_NONBLOCK on it; close releases the duplicate. No memory is shared with the kernel after.
    unsafe {
        assert_eq!(raw_syscall6(g::__NR_pipe2 as usize, fds.as_mut_ptr() as usize, 0, 0, 0, 0, 0), 0);
        assert_eq!(raw_syscall6(g::__NR_dup3 as usize, fds[0] as usize, 0, 0, 0, 0, 0), 0);
        raw_syscall6(g::__NR_close as usize, fds[0] as usize, 0, 0, 0, 0, 0);
        let r = raw_syscall6(g::__NR_fcntl as usize, 0, g::F_SETFL as usize, g::O_NONBLOCK as usize, 0, 0, 0);
        assert_eq!(r, 0);
    }
    let w = fds[1] as usize;
    let (done_tx, done_rx) = gort::chan::<()>(0);
    gort::go(move || {
        gort::time::sleep(core::time::Duration::from_millis(100));
        // SAFETY: w is the pipe's write end, owned by this goroutine; the buffer is valid.
        unsafe {
            let msg = b"late line\nand more\n";
            raw_syscall6(g::__NR_write as usize, w, msg.as_ptr() as usize, msg.len(), 0, 0, 0);
            raw_syscall6(g::__NR_close as usize, w, 0, 0, 0, 0, 0);
        }
        done_tx.send(()).unwrap();
    });
    let stdin = gort::os::stdin();
    let mut line = String::new();
    let n = stdin.read_line(&mut line).expect("read_line on a non-blocking stdin");
    println!("got {n} bytes {:?}", line);
    let mut rest = String::new();
    stdin.read_to_string(&mut rest).unwrap();
    println!("rest {:?}", rest);
    done_rx.recv().unwrap();
}

#[cfg(not(target_os = "linux"))]
fn stdin_nonblock() {
    println!("linux only");
}

fn pipe() {
    const TOTAL: usize = 4 << 20;
    let byte = |i: usize| (i * 7 + i / 4099) as u8;
    let (mut r, mut w) = gort::os::pipe().expect("pipe");
    gort::go(move || {
        let mut sent = 0;
        let mut chunk = 1;
        let mut buf = Vec::new();
        while sent < TOTAL {
            let n = chunk.min(TOTAL - sent);
            buf.clear();
            buf.extend((sent..sent + n).map(byte));
            // Half through the inherent method, half through the embedded-io trait.
            if chunk % 2 == 0 {
                w.write_all(&buf).unwrap();
            } else {
                embedded_io::Write::write_all(&mut w, &buf).unwrap();
            }
            sent += n;
            chunk = chunk * 3 % 70001 + 1;
        }
        // Dropping w: the reader sees end of file.
    });
    let mut got = 0;
    let mut buf = [0u8; 3001];
    loop {
        let n = embedded_io::Read::read(&mut r, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        for (k, &b) in buf[..n].iter().enumerate() {
            assert_eq!(b, byte(got + k), "byte {}", got + k);
        }
        got += n;
    }
    println!("piped {} bytes, then eof", got);
    let (r, mut w) = gort::os::pipe().unwrap();
    drop(r);
    match w.write_all(b"nobody reads this") {
        Err(e) => println!("write to a closed pipe: {:?}", e.kind()),
        Ok(()) => println!("write to a closed pipe succeeded"),
    }
    println!("alive");
}
