//! The ARM EHABI unwind opcodes (the "Exception Handling ABI for the Arm Architecture", §9-§10):
//! the `.ARM.exidx` search, an entry's opcode bytes, and running them on a virtual register file
//! (libgcc's `__gnu_unwind_execute`, LLVM libunwind's `_Unwind_VRS_Interpret`, for walking only).
//! Pure: memory comes only through the caller's `load`, so it is unit-tested on every host;
//! exidx.rs (linux/arm) finds the tables and checks what it reads.
//!
//! Opcodes, on a virtual sp (vsp, the frame's sp): `vsp += / -=`, `vsp = r[n]`, pop r4-r15
//! under a mask (a popped r13 becomes vsp), pop r4-r[4+n] (+lr), pop r0-r3, the long
//! `vsp += 0x204 + uleb128 << 2`, pop VFP d-registers (FSTMFDX and VPUSH forms: only vsp moves,
//! their values are not tracked), finish. Refuse-to-unwind (`0x80 0x00`), the spare and the
//! Intel-WMMX opcodes end the walk (None). Without a popped pc, the caller's pc is lr.

/// The stack pointer, link register and pc among r0-r15.
const SP: usize = 13;
const LR: usize = 14;
const PC: usize = 15;

/// A prel31 value at address `at`: `at` plus the sign-extended low 31 bits of `word`.
pub fn prel31(at: usize, word: u32) -> usize {
    at.wrapping_add((((word << 1) as i32) >> 1) as isize as usize)
}

/// The index of the `.ARM.exidx` entry (word pairs, `table` at address `at`) of the function
/// holding `target`: the last one starting at or before it.
pub fn find(table: &[u32], at: usize, target: usize) -> Option<usize> {
    let start = |i: usize| prel31(at + i * 8, table[2 * i]);
    let (mut lo, mut hi) = (0, table.len() / 2);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if start(mid) <= target {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo.checked_sub(1)
}

/// The opcode bytes of one function's unwind entry: the low `first` bytes of `head`, then the
/// words of `rest`, most significant byte of each word first.
pub struct Opcodes<'a> {
    head: u32,
    first: usize,
    rest: &'a [u32],
    at: usize,
}

impl<'a> Opcodes<'a> {
    /// The opcodes of an entry whose first word is `head`: an inline exidx word or a compact
    /// extab word (`0x80`: 3 bytes; `0x81`/`0x82`: a count of `rest` words, then 2 bytes), or
    /// the data word after a generic personality routine (a count, then 3 bytes). `rest` holds
    /// at least the words that follow (only as many as the count says are used). None for
    /// another personality index, or a count past `rest`.
    pub fn new(head: u32, generic: bool, rest: &'a [u32]) -> Option<Opcodes<'a>> {
        let (first, count) = if generic {
            (3, (head >> 24) as usize)
        } else {
            match (head >> 24) & 0xff {
                0x80 => (3, 0),
                0x81 | 0x82 => (2, (head >> 16) as usize & 0xff),
                _ => return None,
            }
        };
        Some(Opcodes { head, first, rest: rest.get(..count)?, at: 0 })
    }

    /// How many words after `head` an entry starting with it uses (see `new`); None for an
    /// unknown personality index.
    pub fn extra_words(head: u32, generic: bool) -> Option<usize> {
        if generic {
            return Some((head >> 24) as usize);
        }
        match (head >> 24) & 0xff {
            0x80 => Some(0),
            0x81 | 0x82 => Some((head >> 16) as usize & 0xff),
            _ => None,
        }
    }

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

/// Runs `ops` on r0-r15 (`known`: which hold values): vsp starts at r13. On success r13 is the
/// caller's sp and r15 its pc (popped, else lr). `load(a)` reads the word at `a`, None where
/// the walk may not read (outside the stack). None ends the walk.
pub fn execute(
    ops: &mut Opcodes<'_>,
    r: &mut [usize; 16],
    known: &mut u16,
    load: impl Fn(usize) -> Option<usize>,
) -> Option<()> {
    if *known & (1 << SP) == 0 {
        return None;
    }
    let mut vsp = r[SP];
    let mut pc_popped = false;
    let mut pop = |r: &mut [usize; 16], known: &mut u16, vsp: &mut usize, reg: usize| -> Option<()> {
        r[reg] = load(*vsp)?;
        *known |= 1 << reg;
        *vsp = vsp.wrapping_add(4);
        pc_popped |= reg == PC;
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
                let mut v = vsp;
                for reg in 4..16 {
                    if mask & (1 << (reg - 4)) != 0 {
                        pop(r, known, &mut v, reg)?;
                    }
                }
                // A popped sp is the new vsp; otherwise vsp moves past the words.
                vsp = if mask & (1 << (SP - 4)) != 0 { r[SP] } else { v };
            }
            0x90..=0x9f => {
                let reg = (op & 0xf) as usize;
                if reg == SP || reg == PC || *known & (1 << reg) == 0 {
                    return None; // reserved, or a register without a value
                }
                vsp = r[reg];
            }
            0xa0..=0xaf => {
                for reg in 4..=4 + (op & 7) as usize {
                    pop(r, known, &mut vsp, reg)?;
                }
                if op & 8 != 0 {
                    pop(r, known, &mut vsp, LR)?;
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
                        pop(r, known, &mut vsp, reg)?;
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
    if !pc_popped {
        if *known & (1 << LR) == 0 {
            return None;
        }
        r[PC] = r[LR];
        *known |= 1 << PC;
    }
    r[SP] = vsp;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stack of words at 0x1000.. and a loader confined to it.
    fn stack(words: &[usize]) -> impl Fn(usize) -> Option<usize> + '_ {
        move |a| (a >= 0x1000 && a % 4 == 0).then(|| words.get((a - 0x1000) / 4).copied()).flatten()
    }

    fn regs(sp: usize, lr: Option<usize>) -> ([usize; 16], u16) {
        let mut r = [0; 16];
        r[SP] = sp;
        let mut known = 1 << SP;
        if let Some(lr) = lr {
            r[LR] = lr;
            known |= 1 << LR;
        }
        (r, known)
    }

    #[test]
    fn prel31_signs_and_find_picks_the_enclosing_function() {
        assert_eq!(prel31(0x1000, 0x10), 0x1010);
        assert_eq!(prel31(0x1000, 0x7fff_fff0), 0x0ff0); // -16
                                                         // Three functions at 0x2000, 0x2100, 0x2200 (entries at 0x1000, 0x1008, 0x1010).
        let t = [0x1000u32, 1, 0x10f8, 1, 0x11f0, 1];
        assert_eq!(find(&t, 0x1000, 0x1fff), None);
        assert_eq!(find(&t, 0x1000, 0x2000), Some(0));
        assert_eq!(find(&t, 0x1000, 0x20ff), Some(0));
        assert_eq!(find(&t, 0x1000, 0x2100), Some(1));
        assert_eq!(find(&t, 0x1000, 0x9999), Some(2));
    }

    #[test]
    fn pr0_inline_vsp_add_and_pop_r11_lr() {
        // 0x80038480 (what rustc emits, level_c): vsp += 16; pop {r11, r14}; (finish).
        let mut ops = Opcodes::new(0x8003_8480, false, &[]).unwrap();
        let s = [0, 0, 0, 0, 0xf00d, 0x2345];
        let (mut r, mut known) = regs(0x1000, None);
        execute(&mut ops, &mut r, &mut known, stack(&s)).unwrap();
        assert_eq!((r[11], r[LR], r[PC], r[SP]), (0xf00d, 0x2345, 0x2345, 0x1018));
        assert_eq!(known, 1 << 11 | 1 << SP | 1 << LR | 1 << PC);
    }

    #[test]
    fn pop_ranges_masks_and_explicit_pc() {
        // Personality 1, one more word: 0xaa: pop r4-r6, r14; 0x88 0x00 = mask r15 (pop pc);
        // then finish.
        let mut ops = Opcodes::new(0x8101_aa88, false, &[0x00b0_b0b0]).unwrap();
        let s = [4, 5, 6, 0xaaa, 0xbbb];
        let (mut r, mut known) = regs(0x1000, Some(0x999));
        execute(&mut ops, &mut r, &mut known, stack(&s)).unwrap();
        assert_eq!((r[4], r[5], r[6], r[LR], r[PC], r[SP]), (4, 5, 6, 0xaaa, 0xbbb, 0x1014));
    }

    #[test]
    fn vfp_pops_move_vsp_only() {
        // 0xd1: vpush d8-d9 (16 bytes); 0xb9: FSTMFDX d8-d9 (20); 0xc9 0x01: vpush d0-d1 (16);
        // 0xb3 0x00: FSTMFDX d0 (12); then 0x84 0x00 = mask r14: pop lr.
        let mut ops = Opcodes::new(0x8102_d1b9, false, &[0xc901_b300, 0x8400_b0b0]).unwrap();
        let mut s = [0usize; 20];
        s[16] = 0x4242; // at 0x1000 + 16 + 20 + 16 + 12 = 0x1040
        let (mut r, mut known) = regs(0x1000, None);
        execute(&mut ops, &mut r, &mut known, stack(&s)).unwrap();
        assert_eq!((r[PC], r[SP]), (0x4242, 0x1044));
    }

    #[test]
    fn long_vsp_add_vsp_from_register_and_sub() {
        // 0xb2 0x01: vsp += 0x204 + 4; then 0x4f: vsp -= 64.
        let mut ops = Opcodes::new(0x8102_b201, false, &[0x4fb0_b0b0, 0]).unwrap();
        let (mut r, mut known) = regs(0x1000, Some(7));
        execute(&mut ops, &mut r, &mut known, |_| None).unwrap();
        assert_eq!((r[SP], r[PC]), (0x1000 + 0x208 - 64, 7));
        // 0x9b: vsp = r11 (a frame pointer), then pop {r11, lr} (0x84 0x80)... r11 unknown: None.
        let mut ops = Opcodes::new(0x809b_8480, false, &[]).unwrap();
        let (mut r, mut known) = regs(0x1000, None);
        assert!(execute(&mut ops, &mut r, &mut known, |_| None).is_none());
        r[11] = 0x1008;
        known |= 1 << 11;
        let s = [0, 0, 0x1100, 0x5678];
        let mut ops = Opcodes::new(0x809b_8480, false, &[]).unwrap();
        execute(&mut ops, &mut r, &mut known, stack(&s)).unwrap();
        assert_eq!((r[11], r[PC], r[SP]), (0x1100, 0x5678, 0x1010));
    }

    #[test]
    fn popped_sp_is_the_new_vsp() {
        // 0x8a 0x00: mask r13, r15 (bits 9 and 11): sp then pc.
        let mut ops = Opcodes::new(0x808a_00b0, false, &[]).unwrap();
        let s = [0x2000, 0x3333];
        let (mut r, mut known) = regs(0x1000, None);
        execute(&mut ops, &mut r, &mut known, stack(&s)).unwrap();
        assert_eq!((r[SP], r[PC]), (0x2000, 0x3333));
    }

    #[test]
    fn refusals_end_the_walk() {
        let s = [0usize; 8];
        for (head, rest) in [
            (0x8080_00b0u32, &[][..]), // refuse to unwind
            (0x809d_b0b0, &[]),        // reserved vsp = r13
            (0x80b1_00b0, &[]),        // pop r0-r3 with an empty mask
            (0x80c0_b0b0, &[]),        // Intel WMMX
            (0x80b4_b0b0, &[]),        // spare
        ] {
            let mut ops = Opcodes::new(head, false, rest).unwrap();
            let (mut r, mut known) = regs(0x1000, Some(1));
            assert!(execute(&mut ops, &mut r, &mut known, stack(&s)).is_none(), "{head:#x}");
        }
        // Popping outside the stack the loader allows.
        let mut ops = Opcodes::new(0x80a8_b0b0, false, &[]).unwrap();
        let (mut r, mut known) = regs(0x0ff0, None);
        assert!(execute(&mut ops, &mut r, &mut known, stack(&s)).is_none());
        // No pc popped and no lr known.
        let mut ops = Opcodes::new(0x80b0_b0b0, false, &[]).unwrap();
        let (mut r, mut known) = regs(0x1000, None);
        assert!(execute(&mut ops, &mut r, &mut known, stack(&s)).is_none());
        // An unknown personality index, or a count past the words given.
        assert!(Opcodes::new(0x8300_0000, false, &[]).is_none());
        assert!(Opcodes::new(0x8102_0000, false, &[0]).is_none());
    }

    #[test]
    fn generic_personality_data_word() {
        // After a personality routine: count 1, "a8 b0 b0" (pop r4, lr), then one more word.
        let mut ops = Opcodes::new(0x01a8_b0b0, true, &[0xb0b0_b0b0]).unwrap();
        assert_eq!(Opcodes::extra_words(0x01a8_b0b0, true), Some(1));
        let s = [44, 0x777];
        let (mut r, mut known) = regs(0x1000, None);
        execute(&mut ops, &mut r, &mut known, stack(&s)).unwrap();
        assert_eq!((r[4], r[PC], r[SP]), (44, 0x777, 0x1008));
    }
}
