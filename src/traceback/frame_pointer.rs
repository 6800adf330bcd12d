//! traceback's unwinder on darwin (amd64 and arm64): the frame-pointer chain. Both darwin ABIs
//! keep frame pointers (rustc's apple targets and Apple's own libraries build with them, the
//! precompiled `core`/`alloc` included), so each frame starts with a record `[caller's fp,
//! return address]` at fp (rbp / x29) and the caller's sp is fp + 16. Go's twin is its
//! frame-pointer unwinder (tracefpunwindoff / fpTracebackPCs in traceback.go), which reads the
//! same records.
//!
//! **Output.** No names (no reader for the Mach-O symbol table is built in): every frame prints
//! as `?()` + `\tEXE+0xADDR`, EXE the program's argv[0], ADDR the call's link-time address (pc −
//! the ASLR slide, which is `__mh_execute_header`'s address minus the `__TEXT` segment's
//! link-time vmaddr, read from the Mach-O header in memory); `atos -o EXE 0xADDR` resolves it.
//!
//! **Limits.** NEVER RUN: darwin is built and linked here but no Mac is reachable, so this walk
//! is unverified. The records must lie inside the goroutine's stack, 8-aligned, and the chain
//! must grow; a function without a frame record (gort's assembly, a leaf) breaks the chain and
//! the walk stops at the first record outside those rules.

use super::arch::{RA, SP};
use super::Regs;

/// The frame-pointer register's number (DWARF: rbp, x29).
#[cfg(target_arch = "x86_64")]
const FP: usize = 6;
/// The frame-pointer register's number (DWARF: rbp, x29).
#[cfg(target_arch = "aarch64")]
const FP: usize = 29;

extern "C" {
    /// The executable's Mach-O header, as loaded (ld64 and rust-lld define it).
    #[link_name = "_mh_execute_header"]
    static MH_EXECUTE_HEADER: u8;
}

/// The running image: its ASLR slide.
#[derive(Clone, Copy)]
pub struct Image {
    /// Runtime address minus link-time address.
    pub bias: usize,
}

/// The running executable's image: the slide from its Mach-O header's `__TEXT` segment; None
/// if the header has no such segment.
pub fn image() -> Option<Image> {
    let mh = core::ptr::addr_of!(MH_EXECUTE_HEADER) as usize;
    // SAFETY: the mach_header_64 and its load commands (sizeofcmds bytes after its 32) are
    // mapped with the image for the life of the program.
    let cmds = unsafe {
        let sizeofcmds = *((mh + 20) as *const u32) as usize;
        core::slice::from_raw_parts((mh + 32) as *const u8, sizeofcmds)
    };
    let u32_at = |o: usize| cmds.get(o..o + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut off = 0;
    while let (Some(cmd), Some(size)) = (u32_at(off), u32_at(off + 4)) {
        // LC_SEGMENT_64: segname[16] at 8, vmaddr at 24.
        if cmd == 0x19 && cmds.get(off + 8..off + 15) == Some(b"__TEXT\0") {
            let v = cmds.get(off + 24..off + 32)?;
            let vmaddr = u64::from_le_bytes(v.try_into().ok()?) as usize;
            return Some(Image { bias: mh.wrapping_sub(vmaddr) });
        }
        if size < 8 {
            return None;
        }
        off += size as usize;
    }
    None
}

/// The path traceback prints before `+0xADDR`: argv[0] (the path the program was run by), or
/// `?` before goargs has run.
pub fn exe_path() -> &'static [u8] {
    crate::args::argslice().first().copied().unwrap_or(b"?")
}

/// The walker: a frame-pointer walk needs no state.
pub struct Walker;

impl Walker {
    /// The walker.
    ///
    /// # Safety
    /// Only the thread writing the fatal report may call it (as the other unwinders).
    pub unsafe fn get() -> Walker {
        Walker
    }

    /// One step of a walk: the frame at `regs`' pc, and the registers of its caller from the
    /// frame record at fp. `bounds` is the stack `[lo, hi)` memory may be read from. None ends
    /// the walk.
    pub fn step(
        &mut self,
        _img: &Image,
        regs: &Regs,
        bounds: (usize, usize),
        read: &impl Fn(usize) -> usize,
    ) -> Option<Regs> {
        let fp = regs.get(FP as u16)?;
        let sp = regs.get(SP as u16)?;
        if fp < sp || fp < bounds.0 || fp.checked_add(16)? > bounds.1 || !fp.is_multiple_of(8) {
            return None;
        }
        let mut next = Regs::new();
        next.r[FP] = read(fp);
        next.r[RA] = read(fp + 8);
        next.r[SP] = fp + 16;
        next.known = 1 << FP | 1 << RA | 1 << SP;
        Some(next)
    }
}
