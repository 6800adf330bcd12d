//! traceback's unwinder on linux/arm: the ARM EHABI tables `.ARM.exidx`/`.ARM.extab` (the ARM
//! "Exception Handling ABI", §6-§10), which is what rustc and LLVM emit for armv7 (gimli reads
//! only DWARF CFI, and armv7 binaries carry no `.eh_frame`). Go has no twin: its arm frames carry
//! pcsp tables (traceback.go's `unwinder.next`); this file plays the part of libgcc's
//! `__gnu_unwind_execute` / LLVM libunwind's `_Unwind_VRS_Interpret`, for walking only.
//!
//! **Why not frame pointers.** armv7-unknown-linux-gnueabihf code is built without them by
//! default, and so are the precompiled `core`/`alloc` a panic goes through; `.ARM.exidx` is
//! emitted for every function, even with `panic = "abort"` (the target keeps unwind tables), so
//! it describes every frame, ours and the standard library's, without a rebuild.
//!
//! **The table.** PT_ARM_EXIDX (symtab.rs) locates `.ARM.exidx`: pairs of words sorted by
//! function start, the first a prel31 offset to the function, the second either
//! EXIDX_CANTUNWIND (1: the walk stops; rt0, the context switches, clone), an inline compact
//! entry (bit 31 set: personality routine 0, three opcode bytes), or a prel31 offset to the
//! function's `.ARM.extab` entry: compact personality 1 or 2 (`0x8N`, a count of extra words,
//! then opcodes), or a generic personality routine (rustc's `rust_eh_personality` for a few
//! compiler-builtins functions) followed by the same word-count + opcodes layout as libgcc's
//! `__gnu_unwind_frame` reads. The extab entry must lie in a loaded segment.
//!
//! **The opcodes** are run by ehabi.rs (pure, unit-tested on the host: every opcode, including
//! the VFP pops and the long vsp add that gort's own binaries do not exercise). Every word
//! popped must lie inside the goroutine's stack, the caller's sp must be above ours (equal only
//! for an interrupted leaf, the first frame of a signal), and the table describes a frame after
//! its prologue: a pc in a prologue or epilogue (only an interrupted frame can be there)
//! unwinds wrongly, or stops at the bounds.

use super::arch::{N, RA, SP};
use super::ehabi::{self, Opcodes};
use super::{Image, Regs};

/// The walker: EHABI needs no state between steps.
pub struct Walker;

/// What a walker of the caller's own needs: nothing.
#[cfg(gort_pprof)]
pub struct Storage;

#[cfg(gort_pprof)]
impl Storage {
    /// The (empty) storage, named as dwarf.rs's `MaybeUninit::uninit`.
    pub const fn uninit() -> Storage {
        Storage
    }
}

impl Walker {
    /// The walker.
    ///
    /// # Safety
    /// Only the thread writing the fatal report may call it (as the other unwinders).
    pub unsafe fn get() -> Walker {
        Walker
    }

    /// A walker of the caller's own (the same: EHABI keeps no state).
    #[cfg(gort_pprof)]
    pub fn with(_s: &mut Storage) -> Walker {
        Walker
    }

    /// One step of a walk: the frame at `regs`' pc, and the registers of its caller. `bounds` is
    /// the stack `[lo, hi)` memory may be read from. None ends the walk.
    pub fn step(
        &mut self,
        img: &Image,
        regs: &Regs,
        bounds: (usize, usize),
        read: &impl Fn(usize) -> usize,
    ) -> Option<Regs> {
        let pc = regs.get(RA as u16)? & !1;
        let sp = regs.get(SP as u16)?;
        if img.exidx == 0 || !img.exidx.is_multiple_of(4) {
            return None;
        }
        // SAFETY: PT_ARM_EXIDX lies in a read-only PT_LOAD, mapped for the life of the program.
        let table = unsafe { core::slice::from_raw_parts(img.exidx as *const u32, img.exidx_len / 8 * 2) };
        // The call instruction's address (an interrupted pc: the instruction itself, unless it is
        // a function's first).
        let target = if regs.leaf_lr != 0 { pc } else { regs.at(pc) };
        let i = ehabi::find(table, img.exidx, target)?;
        let word = table[2 * i + 1];
        let mut ops = if word == 1 {
            return None; // EXIDX_CANTUNWIND
        } else if word & 0x8000_0000 != 0 {
            Opcodes::new(word, false, &[])? // inline: personality routine 0 only
        } else {
            let ext = ehabi::prel31(img.exidx + i * 8 + 4, word);
            if !ext.is_multiple_of(4) || !crate::symtab::in_loaded_segment(img, ext, 8) {
                return None;
            }
            // SAFETY: [ext, ext + 8) lies in a loaded segment (checked above), aligned.
            let (w0, w1) = unsafe { (*(ext as *const u32), *((ext + 4) as *const u32)) };
            // A generic personality routine (bit 31 clear: its prel31) is followed by its data
            // word: a count, then opcodes.
            let generic = w0 & 0x8000_0000 == 0;
            let (head, words_at) = if generic { (w1, ext + 8) } else { (w0, ext + 4) };
            let count = Opcodes::extra_words(head, generic)?;
            if !crate::symtab::in_loaded_segment(img, words_at, count * 4) {
                return None;
            }
            // SAFETY: [words_at, + count words) lies in a loaded segment (checked), aligned.
            let rest = unsafe { core::slice::from_raw_parts(words_at as *const u32, count) };
            Opcodes::new(head, generic, rest)?
        };
        let mut r = [0usize; 16];
        r.copy_from_slice(&regs.r[..N]);
        let mut known = regs.known as u16;
        // Every word popped lies inside the stack.
        let load = |a: usize| (a >= bounds.0 && a.checked_add(4)? <= bounds.1 && a.is_multiple_of(4)).then(|| read(a));
        ehabi::execute(&mut ops, &mut r, &mut known, load)?;
        let vsp = r[SP];
        // The caller's frame is above ours and inside the stack (an interrupted leaf may have
        // pushed nothing).
        if vsp < sp || (vsp == sp && regs.leaf_lr == 0) || vsp > bounds.1 {
            return None;
        }
        let mut next = Regs { known: known as u64, ..regs.next() };
        next.r[..N].copy_from_slice(&r);
        Some(next)
    }
}
