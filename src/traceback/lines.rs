//! File and line of a frame from the program's DWARF line tables (Go's funcline), behind the
//! `traceback-lines` cargo feature: `addr2line` over the `.debug_*` sections of the executable
//! file, which symtab.rs maps. A default build leaves it out (it adds about 150 KB and needs
//! debug info in the binary); frames then print `EXE+0xADDR`, which `addr2line -e` resolves.
//!
//! **Memory.** addr2line allocates (it parses compilation units lazily). A fatal report must
//! print even when the failure is inside the allocator, so `die` calls [`divert`] first: from
//! then on every allocation of the process comes from an arena mapped for the report (a bump
//! pointer, freed never: the process is ending) and frees of arena memory are ignored; malloc.rs
//! asks [`arena_alloc`] and [`arena_owns`] first. `runtime::stack` uses the heap, and the parsed
//! tables it builds are kept for later calls (as Go keeps its pclntab).

use core::alloc::Layout;
use core::fmt::Write;
use core::sync::atomic::{AtomicUsize, Ordering};

use gimli::{EndianSlice, LittleEndian, SectionId};

use crate::gmp::Global;

type R = EndianSlice<'static, LittleEndian>;

/// Address space reserved for the report's arena (pages are touched only as used).
const ARENA_SIZE: usize = 256 << 20;

/// The arena: [lo, end) once `divert` mapped it, next the bump pointer. end 0: not diverting.
static ARENA_LO: AtomicUsize = AtomicUsize::new(0);
static ARENA_NEXT: AtomicUsize = AtomicUsize::new(0);
static ARENA_END: AtomicUsize = AtomicUsize::new(0);

/// Sends every later allocation of the process to the report's arena (see the module doc).
/// Called once, by the dying thread; a failed mapping leaves the heap in use.
pub fn divert() {
    if ARENA_END.load(Ordering::Acquire) != 0 {
        return;
    }
    let p = crate::sys::sys_alloc(ARENA_SIZE) as usize;
    if p == 0 {
        return;
    }
    ARENA_LO.store(p, Ordering::Relaxed);
    ARENA_NEXT.store(p, Ordering::Relaxed);
    // Release: a thread that sees `end` sees lo and next.
    ARENA_END.store(p + ARENA_SIZE, Ordering::Release);
}

/// An allocation from the arena while diverting (None when not diverting; null when the arena
/// is full, which the caller reports as out of memory).
#[inline]
pub fn arena_alloc(layout: Layout) -> Option<*mut u8> {
    let end = ARENA_END.load(Ordering::Acquire);
    if end == 0 {
        return None;
    }
    let size = layout.size().max(1);
    let mut cur = ARENA_NEXT.load(Ordering::Relaxed);
    loop {
        let start = cur.checked_add(layout.align() - 1)? & !(layout.align() - 1);
        let Some(next) = start.checked_add(size).filter(|&n| n <= end) else {
            return Some(core::ptr::null_mut());
        };
        match ARENA_NEXT.compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return Some(start as *mut u8),
            Err(now) => cur = now,
        }
    }
}

/// Whether `p` was allocated from the arena (its frees are ignored).
#[inline]
pub fn arena_owns(p: *mut u8) -> bool {
    let end = ARENA_END.load(Ordering::Acquire);
    end != 0 && (p as usize) >= ARENA_LO.load(Ordering::Relaxed) && (p as usize) < end
}

/// The parsed line tables: None until the first lookup, then Some(None) if the program has no
/// usable DWARF.
static CONTEXT: Global<Option<Option<addr2line::Context<R>>>> = Global::new(None);

/// The section `id` of `file`, or an empty one.
fn load(file: &'static [u8], id: SectionId) -> Result<R, ()> {
    let data = crate::symtab::section(file, id.name().as_bytes()).unwrap_or(&[]);
    Ok(EndianSlice::new(data, LittleEndian))
}

/// Writes `\tfile:line` for the link-time address `addr` of the program whose file is `file`;
/// false (nothing written) if the line tables do not cover it.
///
/// # Safety
/// Only the thread holding the traceback (traceback::print_frames' contract) may call it.
pub unsafe fn write_location(w: &mut dyn Write, file: &'static [u8], addr: usize) -> bool {
    // SAFETY: the caller is the only thread using CONTEXT.
    let slot = unsafe { &mut *CONTEXT.get() };
    let ctx = slot.get_or_insert_with(|| {
        let dwarf = gimli::Dwarf::load(|id| load(file, id)).ok()?;
        addr2line::Context::from_dwarf(dwarf).ok()
    });
    let Some(ctx) = ctx else { return false };
    let Ok(Some(loc)) = ctx.find_location(addr as u64) else { return false };
    let (Some(f), Some(line)) = (loc.file, loc.line) else { return false };
    let _ = write!(w, "\t{}:{}", f, line);
    true
}

/// File and line of addresses for a profile (pprof_proto's Line; mprof.rs writes it): line tables
/// parsed for this one use, from the heap, and dropped with it. Not `CONTEXT`: that belongs to the
/// thread holding a traceback, and the profile's writer is an ordinary goroutine.
#[cfg(gort_pprof)]
use alloc::{string::String, vec::Vec};

#[cfg(gort_pprof)]
pub struct Lines<'a> {
    ctx: Option<addr2line::Context<EndianSlice<'a, LittleEndian>>>,
}

#[cfg(gort_pprof)]
impl<'a> Lines<'a> {
    /// The line tables of the executable whose bytes are `file` (none if it has no usable DWARF:
    /// every `at` is then None).
    pub fn new(file: &'a [u8]) -> Self {
        let section = |id: SectionId| -> Result<EndianSlice<'a, LittleEndian>, ()> {
            Ok(EndianSlice::new(crate::symtab::section(file, id.name().as_bytes()).unwrap_or(&[]), LittleEndian))
        };
        let ctx = gimli::Dwarf::load(section).ok().and_then(|d| addr2line::Context::from_dwarf(d).ok());
        Lines { ctx }
    }

    /// The frames at link-time address `addr`, innermost first: a function inlined there, the
    /// one it was inlined into, … and last the function the symbol table names, each with its
    /// source file and line (the inlined call's, for all but the first). Empty if the tables do
    /// not cover `addr`. The names of inlined functions come from DWARF, demangled; the last
    /// frame's name is left empty (the caller has the symbol table's).
    pub fn frames(&self, addr: usize) -> Vec<(String, Option<(String, u32)>)> {
        let mut out = Vec::new();
        let Some(ctx) = &self.ctx else { return out };
        let Ok(mut it) = ctx.find_frames(addr as u64).skip_all_loads() else { return out };
        while let Ok(Some(f)) = it.next() {
            let mut name = String::new();
            if let Some(Ok(raw)) = f.function.as_ref().map(|n| n.raw_name()) {
                let _ = crate::demangle::write(&mut name, &raw);
            }
            let line = f.location.and_then(|l| Some((String::from(l.file?), l.line?)));
            out.push((name, line));
        }
        if let Some(last) = out.last_mut() {
            last.0.clear();
        }
        out
    }
}
