//! The vDSO (Go's vdso_linux.go): finds clock_gettime in the image the kernel maps at
//! AT_SYSINFO_EHDR, so nanotime needs no system call.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super as os;

const CLOCK_REALTIME: usize = 0;
const CLOCK_MONOTONIC: usize = 1;

/// The vDSO's clock_gettime: 0 while not looked up yet, NONE if the vDSO has none (or the
/// process has no vDSO), else its address. Looked up at the first clock read (`resolve`), not at
/// startup: a program that never reads the clock (a hello) does not touch the vDSO's image or
/// its data page (two page faults and the symbol walk, issue 22).
static VDSO_CLOCK_GETTIME: AtomicUsize = AtomicUsize::new(0);

/// VDSO_CLOCK_GETTIME's "looked, not there".
const NONE: usize = 1;

/// AT_SYSINFO_EHDR (0: no vDSO), recorded by vdsoinit during args.
static VDSO_BASE: AtomicUsize = AtomicUsize::new(0);

/// Monotonic time in nanoseconds (Go's nanotime).
// Out of line (issue 22): inlined, the vDSO call and its system-call fallback were ~26 copies in
// a hello; a call is nothing next to the clock read itself.
#[inline(never)]
pub fn nanotime() -> i64 {
    clock_gettime(CLOCK_MONOTONIC)
}

/// Wall-clock time in nanoseconds since the Unix epoch (Go's walltime: CLOCK_REALTIME).
pub fn walltime() -> i64 {
    clock_gettime(CLOCK_REALTIME)
}

/// clock_gettime(clock) in nanoseconds, through the vDSO when it has the function.
#[inline]
fn clock_gettime(clock: usize) -> i64 {
    let f = vdso_clock();
    if f != NONE {
        let mut ts = os::Timespec::default();
        // SAFETY: f is the vDSO's clock_gettime, which has the C signature
        // int(clockid_t, struct timespec *); ts is writable.
        let f: extern "C" fn(isize, *mut os::Timespec) -> i32 = unsafe { core::mem::transmute(f) };
        if f(clock as isize, &mut ts) == 0 {
            return ts.sec as i64 * 1_000_000_000 + ts.nsec as i64;
        }
    }
    os::clock_gettime_syscall(clock)
}

/// VDSO_CLOCK_GETTIME, looked up first if no clock was read yet.
#[inline]
fn vdso_clock() -> usize {
    let f = VDSO_CLOCK_GETTIME.load(Ordering::Relaxed);
    if f == 0 {
        resolve()
    } else {
        f
    }
}

/// Looks clock_gettime up in the vDSO (the first clock read) and records what it found.
/// Threads that race here compute and store the same value; Relaxed suffices because the
/// value is an address in an image the kernel mapped before the process started, not memory
/// another thread initialised.
#[cold]
#[inline(never)]
fn resolve() -> usize {
    let base = VDSO_BASE.load(Ordering::Relaxed);
    let f = if base == 0 {
        0
    } else {
        // SAFETY: base is this process's AT_SYSINFO_EHDR: the kernel maps a well-formed ELF
        // image there.
        unsafe { vdso_lookup(base, os::VDSO_CLOCK_GETTIME) }
    };
    let f = if f == 0 { NONE } else { f };
    VDSO_CLOCK_GETTIME.store(f, Ordering::Relaxed);
    f
}

/// Whether the vDSO has clock_gettime (looked up now if no clock was read yet; boottrace).
pub fn vdso_clock_found() -> bool {
    vdso_clock() != NONE
}

/// Whether vdsoinit has run (found or not): nanotime is as cheap as it will get.
static LOOKED: AtomicBool = AtomicBool::new(false);

/// The OS contract's clock_ready: vdsoinit has recorded where the vDSO is (its clock_gettime is
/// looked up by the first read).
pub fn clock_ready() -> bool {
    LOOKED.load(Ordering::Relaxed)
}

/// Records the vDSO image at `base` (Go's vdsoauxv); its clock_gettime is looked up at the
/// first clock read (Go's vdsoInitFromSysinfoEhdr, done lazily).
///
/// # Safety
/// `base` must be 0 or the AT_SYSINFO_EHDR value of this process.
pub unsafe fn vdsoinit(base: usize) {
    VDSO_BASE.store(base, Ordering::Relaxed);
    LOOKED.store(true, Ordering::Relaxed);
}

/// Reads a `T` at byte offset `off` from `base`.
///
/// # Safety
/// The address must be readable and aligned for T.
unsafe fn rd<T: Copy>(base: usize, off: usize) -> T {
    // SAFETY: forwarded to the caller.
    unsafe { ((base + off) as *const T).read() }
}

/// Looks a symbol up by name in the vDSO's dynamic symbol table (ELF32 or ELF64 by target).
///
/// # Safety
/// `base` must be the vDSO's ELF header.
unsafe fn vdso_lookup(base: usize, name: &[u8]) -> usize {
    const PT_LOAD: u32 = 1;
    const PT_DYNAMIC: u32 = 2;
    const DT_NULL: usize = 0;
    const DT_HASH: usize = 4;
    const DT_STRTAB: usize = 5;
    const DT_SYMTAB: usize = 6;
    const DT_GNU_HASH: usize = 0x6fff_fef5;
    let w = core::mem::size_of::<usize>();
    let is64 = w == 8;
    // SAFETY: all reads stay within the vDSO image described by its own headers.
    unsafe {
        if rd::<[u8; 4]>(base, 0) != *b"\x7fELF" {
            return 0;
        }
        let (phoff, phentsize, phnum) = if is64 {
            (rd::<u64>(base, 32) as usize, rd::<u16>(base, 54) as usize, rd::<u16>(base, 56) as usize)
        } else {
            (rd::<u32>(base, 28) as usize, rd::<u16>(base, 42) as usize, rd::<u16>(base, 44) as usize)
        };
        let mut load_bias = None;
        let mut dynv = 0usize;
        for i in 0..phnum {
            let ph = base + phoff + i * phentsize;
            let ptype = rd::<u32>(ph, 0);
            let (offset, vaddr) = if is64 {
                (rd::<u64>(ph, 8) as usize, rd::<u64>(ph, 16) as usize)
            } else {
                (rd::<u32>(ph, 4) as usize, rd::<u32>(ph, 8) as usize)
            };
            if ptype == PT_LOAD && load_bias.is_none() {
                load_bias = Some(base.wrapping_add(offset).wrapping_sub(vaddr));
            } else if ptype == PT_DYNAMIC {
                dynv = vaddr;
            }
        }
        let (Some(bias), true) = (load_bias, dynv != 0) else { return 0 };
        let dynp = bias.wrapping_add(dynv);
        let (mut symtab, mut strtab, mut hash, mut gnuhash) = (0, 0, 0, 0);
        let mut i = 0;
        loop {
            let tag = rd::<usize>(dynp, i * 2 * w);
            let val = rd::<usize>(dynp, i * 2 * w + w);
            match tag {
                DT_NULL => break,
                DT_SYMTAB => symtab = bias.wrapping_add(val),
                DT_STRTAB => strtab = bias.wrapping_add(val),
                DT_HASH => hash = bias.wrapping_add(val),
                DT_GNU_HASH => gnuhash = bias.wrapping_add(val),
                _ => {}
            }
            i += 1;
        }
        if symtab == 0 || strtab == 0 {
            return 0;
        }
        let nsym = if hash != 0 {
            rd::<u32>(hash, 4) as usize // nchain
        } else if gnuhash != 0 {
            gnu_hash_symcount(gnuhash, w)
        } else {
            return 0;
        };
        let symsize = if is64 { 24 } else { 16 };
        for s in 0..nsym {
            let sym = symtab + s * symsize;
            let st_name = rd::<u32>(sym, 0) as usize;
            let (value, info, shndx) = if is64 {
                (rd::<u64>(sym, 8) as usize, rd::<u8>(sym, 4), rd::<u16>(sym, 6))
            } else {
                (rd::<u32>(sym, 4) as usize, rd::<u8>(sym, 12), rd::<u16>(sym, 14))
            };
            // STT_FUNC (2), defined (shndx != SHN_UNDEF).
            if info & 0xf != 2 || shndx == 0 {
                continue;
            }
            let nm = core::ffi::CStr::from_ptr((strtab + st_name) as *const core::ffi::c_char).to_bytes();
            if nm == name {
                return bias.wrapping_add(value);
            }
        }
        0
    }
}

/// Number of dynamic symbols according to a DT_GNU_HASH table.
///
/// # Safety
/// `gh` must point at a valid GNU hash table.
unsafe fn gnu_hash_symcount(gh: usize, w: usize) -> usize {
    // SAFETY: layout of the GNU hash section: nbuckets, symoffset, bloom_size, bloom_shift,
    // bloom[bloom_size] (words), buckets[nbuckets] (u32), chains (u32).
    unsafe {
        let nbuckets = rd::<u32>(gh, 0) as usize;
        let symoffset = rd::<u32>(gh, 4) as usize;
        let bloom_size = rd::<u32>(gh, 8) as usize;
        let buckets = gh + 16 + bloom_size * w;
        let chains = buckets + nbuckets * 4;
        let mut last = 0;
        for b in 0..nbuckets {
            last = last.max(rd::<u32>(buckets, b * 4) as usize);
        }
        if last < symoffset {
            return symoffset;
        }
        while rd::<u32>(chains, (last - symoffset) * 4) & 1 == 0 {
            last += 1;
        }
        last + 1
    }
}
