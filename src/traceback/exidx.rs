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
//! **The opcodes** run on a virtual sp (vsp, the frame's sp): `vsp += / -=`, `vsp = r[n]`, pop
//! r4-r15 under a mask (r13 popped sets vsp), pop r4-r[4+n] (+lr), pop r0-r3, the long
//! `vsp += 0x204 + uleb128 << 2`, pop VFP d-registers (FSTMFDX and VPUSH forms: only vsp moves,
//! their values are not tracked), finish; refuse-to-unwind (`0x80 0x00`), the spare and
//! Intel-WMMX opcodes end the walk. Without a popped pc, the caller's pc is lr. Every word
//! popped must lie inside the goroutine's stack, the caller's sp must be above ours (equal only
//! for an interrupted leaf, the first frame of a signal), and the table describes a frame after
//! its prologue: a pc in a prologue or epilogue (only an interrupted frame can be there)
//! unwinds wrongly, or stops at the bounds.

use super::arch::{CALL_BACK, LR, RA, SP};
use super::{Image, Regs};

/// The walker: EHABI needs no state between steps.
pub struct Walker;

/// A prel31 value at address `at`: `at` plus the sign-extended low 31 bits of `word`.
fn prel31(at: usize, word: u32) -> usize {
    at.wrapping_add((((word << 1) as i32) >> 1) as isize as usize)
}

/// The opcode bytes of one function's unwind entry: up to 3 + 4 × 255 bytes, most significant
/// byte of each word first.
struct Opcodes<'a> {
    /// The first word (its low `first` bytes are opcodes).
    head: u32,
    first: usize,
    /// The following words.
    rest: &'a [u32],
    at: usize,
}

impl Opcodes<'_> {
    fn next(&mut self) -> Option<u8> {
        let i = self.at;
        self.at += 1;
        if i < self.first {
            return Some((self.head >> (8 * (self.first - 1 - i))) as u8);
        }
        let j = i - self.first;
        self.rest.get(j / 4).map(|w| (w >> (8 * (3 - j % 4))) as u8)
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
        let n = table.len() / 2;
        let start = |i: usize| prel31(img.exidx + i * 8, table[2 * i]);
        // The call instruction's address (an interrupted pc: the instruction itself, unless it is
        // a function's first).
        let target = if regs.leaf_lr != 0 { pc } else { pc.wrapping_sub(CALL_BACK) };
        // The last entry whose function starts at or before target.
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if start(mid) <= target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let i = lo.checked_sub(1)?;
        let word = table[2 * i + 1];
        let mut ops = if word == 1 {
            return None; // EXIDX_CANTUNWIND
        } else if word & 0x8000_0000 != 0 {
            // Inline: personality routine 0 only.
            if (word >> 24) & 0xf != 0 {
                return None;
            }
            Opcodes { head: word, first: 3, rest: &[], at: 0 }
        } else {
            let ext = prel31(img.exidx + i * 8 + 4, word);
            // SAFETY: only after in_loaded_segment vouches for the address (read-only data).
            let head = crate::symtab::in_loaded_segment(img, ext, 8)
                .then(|| unsafe { *(ext as *const u32) })
                .filter(|_| ext.is_multiple_of(4))?;
            let (head, first, count, words_at) = if head & 0x8000_0000 != 0 {
                match (head >> 24) & 0xf {
                    0 => (head, 3, 0, ext + 4),
                    1 | 2 => (head, 2, (head >> 16) as usize & 0xff, ext + 4),
                    _ => return None,
                }
            } else {
                // A generic personality routine: its data word holds the count, then opcodes.
                // SAFETY: ext + 4 lies in the segment checked above (8 bytes).
                let w = unsafe { *((ext + 4) as *const u32) };
                (w, 3, (w >> 24) as usize, ext + 8)
            };
            if !crate::symtab::in_loaded_segment(img, words_at, count * 4) {
                return None;
            }
            // SAFETY: [words_at, + count words) lies in a loaded segment (checked), aligned.
            let rest = unsafe { core::slice::from_raw_parts(words_at as *const u32, count) };
            Opcodes { head, first, rest, at: 0 }
        };
        let mut next = Regs { r: regs.r, known: regs.known, leaf_lr: 0 };
        let mut vsp = sp;
        let mut pc_popped = false;
        // Pops r[reg] at vsp, inside the stack.
        let mut pop = |next: &mut Regs, vsp: &mut usize, reg: usize| -> Option<()> {
            let a = *vsp;
            if a < bounds.0 || a.checked_add(4)? > bounds.1 || !a.is_multiple_of(4) {
                return None;
            }
            next.r[reg] = read(a);
            next.known |= 1 << reg;
            *vsp = a + 4;
            pc_popped |= reg == RA;
            Some(())
        };
        while let Some(op) = ops.next() {
            match op {
                0x00..=0x3f => vsp = vsp.wrapping_add(((op & 0x3f) as usize) * 4 + 4),
                0x40..=0x7f => vsp = vsp.wrapping_sub(((op & 0x3f) as usize) * 4 + 4),
                0x80..=0x8f => {
                    let mask = ((op as usize & 0xf) << 8) | ops.next()? as usize;
                    if mask == 0 {
                        return None; // refuse to unwind
                    }
                    let at = vsp;
                    let mut v = at;
                    for reg in 4..16 {
                        if mask & (1 << (reg - 4)) != 0 {
                            pop(&mut next, &mut v, reg)?;
                        }
                    }
                    // A popped sp is the new vsp; otherwise vsp moves past the words.
                    vsp = if mask & (1 << (SP - 4)) != 0 { next.r[SP] } else { v };
                }
                0x90..=0x9f => {
                    let reg = (op & 0xf) as u16;
                    if reg == 13 || reg == 15 {
                        return None; // reserved
                    }
                    vsp = next.get(reg)?;
                }
                0xa0..=0xaf => {
                    for reg in 4..=4 + (op & 7) as usize {
                        pop(&mut next, &mut vsp, reg)?;
                    }
                    if op & 8 != 0 {
                        pop(&mut next, &mut vsp, LR)?;
                    }
                }
                0xb0 => break, // finish
                0xb1 => {
                    let mask = ops.next()?;
                    if mask == 0 || mask & 0xf0 != 0 {
                        return None; // spare
                    }
                    for reg in 0..4 {
                        if mask & (1 << reg) != 0 {
                            pop(&mut next, &mut vsp, reg)?;
                        }
                    }
                }
                0xb2 => {
                    let mut v = 0usize;
                    for shift in (0..32).step_by(7) {
                        let b = ops.next()?;
                        v |= ((b & 0x7f) as usize) << shift;
                        if b & 0x80 == 0 {
                            break;
                        }
                    }
                    vsp = vsp.wrapping_add(0x204).wrapping_add(v << 2);
                }
                // pop d[s]-d[s+c] saved by FSTMFDX: 8 bytes each plus a pad word.
                0xb3 => vsp = vsp.wrapping_add(((ops.next()? & 0xf) as usize + 1) * 8 + 4),
                // pop d8-d[8+n] saved by FSTMFDX.
                0xb8..=0xbf => vsp = vsp.wrapping_add(((op & 7) as usize + 1) * 8 + 4),
                // pop d[16+s]-d[16+s+c] / d[s]-d[s+c] saved by VPUSH.
                0xc8 | 0xc9 => vsp = vsp.wrapping_add(((ops.next()? & 0xf) as usize + 1) * 8),
                // pop d8-d[8+n] saved by VPUSH.
                0xd0..=0xd7 => vsp = vsp.wrapping_add(((op & 7) as usize + 1) * 8),
                _ => return None, // spare, Intel WMMX
            }
        }
        next.r[SP] = vsp;
        next.known |= 1 << SP;
        if !pc_popped {
            next.r[RA] = next.get(LR as u16)?;
            next.known |= 1 << RA;
        }
        // The caller's frame is above ours and inside the stack (an interrupted leaf may have
        // pushed nothing).
        if vsp < sp || (vsp == sp && regs.leaf_lr == 0) || vsp > bounds.1 {
            return None;
        }
        Some(next)
    }
}
