//! The DWARF call-frame information reader dwarf.rs walks with: `.eh_frame_hdr`'s search table,
//! `.eh_frame`'s CIEs and FDEs, and the call-frame instructions up to a pc (the DWARF 5 standard
//! §6.4, with the `.eh_frame` form of the LSB's "Exception Frames"). Go has no twin (its frames
//! carry pcsp tables); this plays the part of libgcc's `execute_cfa_program` / LLVM libunwind's
//! `CFI_Parser`, for walking only. Pure (slices and the addresses they were read at), so it is
//! unit-tested on the host against gimli on every FDE of the test binary.
//!
//! **Why not gimli** (issue 22): gimli's general reader (every pointer encoding, section kind and
//! rule, its error values) was 18 KB of every program; what a walk needs is ~3 KB.
//!
//! **What it reads.** `.eh_frame_hdr` version 1 with its table as datarel sdata4 pairs (what lld
//! and GNU ld write); pointers absptr/udata/sdata 2/4/8 and (s)uleb, plain, pc-relative or (in
//! the header) data-relative; CIE versions 1 and 3 with augmentation `z` followed by any of `R`,
//! `L`, `P`, `S`, `B`, `G` (or none at all). Every instruction of DWARF 5 plus `GNU_args_size`,
//! `GNU_negative_offset_extended` and `GNU_window_save` (on arm64, `negate_ra_state`: the
//! return-address signing state, a column a walk never reads). A CFA or register given by an
//! expression is recorded as such (a walk treats it as unknown); anything else (an unknown
//! instruction or encoding, an indirect pointer, a read past an entry, more than
//! [`STACK`] remembered rows) gives None: the walk ends there.

use super::arch::N;

/// Rows `DW_CFA_remember_state` may stack (LLVM emits at most one level).
pub const STACK: usize = 4;

/// Where a register of the caller was saved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rule {
    /// Unchanged (no rule, `same_value`, or `restore` to none).
    Same,
    /// Saved at CFA + n.
    Offset(isize),
    /// Is CFA + n.
    ValOffset(isize),
    /// In that register.
    Register(u16),
    /// Undefined, or given by an expression: not recoverable by a walk.
    Unknown,
}

/// The CFA rule's register when the CFA is given by an expression.
pub const CFA_EXPR: u16 = u16::MAX;

/// One row of the table: the CFA (register + offset) and the rules of registers 0..N.
#[derive(Clone, Copy)]
pub struct Row {
    /// The CFA's register, or [`CFA_EXPR`].
    pub cfa_reg: u16,
    /// The CFA's offset from its register.
    pub cfa_off: isize,
    /// The rules of registers 0..N (columns above N are not walked: ignored).
    pub rules: [Rule; N],
}

impl Row {
    const EMPTY: Row = Row { cfa_reg: CFA_EXPR, cfa_off: 0, rules: [Rule::Same; N] };
}

/// A search's rows: the current one, the CIE's initial one (for `restore`), the remembered ones.
pub struct Ctx {
    /// The row for the pc searched for, once [`find_row`] returns.
    pub row: Row,
    init: Row,
    stack: [Row; STACK],
    depth: usize,
}

impl Ctx {
    /// Empty rows.
    pub const fn new() -> Ctx {
        Ctx { row: Row::EMPTY, init: Row::EMPTY, stack: [Row::EMPTY; STACK], depth: 0 }
    }
}

/// A cursor in bytes read at address `base`.
struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Rd<'a> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }

    /// `k` (≤ 8) bytes, little-endian.
    fn le(&mut self, k: usize) -> Option<u64> {
        let s = self.b.get(self.pos..self.pos.checked_add(k)?)?;
        self.pos += k;
        Some(s.iter().rev().fold(0, |v, &b| v << 8 | b as u64))
    }

    /// LEB128; `signed` sign-extends.
    #[inline(never)]
    fn leb(&mut self, signed: bool) -> Option<u64> {
        let (mut v, mut shift) = (0u64, 0u32);
        loop {
            let b = self.u8()?;
            if shift < 64 {
                v |= ((b & 0x7f) as u64) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                if signed && shift < 64 && b & 0x40 != 0 {
                    v |= !0 << shift;
                }
                return Some(v);
            }
        }
    }

    fn uleb(&mut self) -> Option<usize> {
        self.leb(false).map(|v| v as usize)
    }

    fn sleb(&mut self) -> Option<isize> {
        self.leb(true).map(|v| v as isize)
    }

    /// A register number (columns past u16 are not walked: as one past N).
    fn reg(&mut self) -> Option<u16> {
        self.uleb().map(|r| r.min(u16::MAX as usize - 1) as u16)
    }

    /// Skips a `uleb length + bytes` block.
    fn block(&mut self) -> Option<()> {
        let n = self.uleb()?;
        self.pos = self.pos.checked_add(n).filter(|&p| p <= self.b.len())?;
        Some(())
    }

    /// A pointer in DW_EH_PE encoding `enc`: its format (low nibble), applied pc-relative
    /// (0x10) or data-relative (0x30, to `datarel`, where one is given).
    #[inline(never)]
    fn ptr(&mut self, enc: u8, datarel: Option<usize>) -> Option<usize> {
        let at = self.base.wrapping_add(self.pos);
        let v = match enc & 0x0f {
            0x00 | 0x04 | 0x0c => self.le(8)? as usize,
            0x01 => self.uleb()?,
            0x02 => self.le(2)? as usize,
            0x03 => self.le(4)? as usize,
            0x09 => self.sleb()? as usize,
            0x0a => self.le(2)? as i16 as usize,
            0x0b => self.le(4)? as i32 as usize,
            _ => return None,
        };
        let base = match enc & 0xf0 {
            0x00 => 0,
            0x10 => at,
            0x30 => datarel?,
            _ => return None,
        };
        Some(base.wrapping_add(v))
    }
}

/// The address of the FDE that may cover `pc`, from `.eh_frame_hdr` (`hdr`, read at `hdr_at`),
/// and `.eh_frame`'s address.
pub fn find_fde(hdr: &[u8], hdr_at: usize, pc: usize) -> Option<(usize, usize)> {
    let mut r = Rd { b: hdr, pos: 4, base: hdr_at };
    let (&[1, ptr_enc, count_enc, 0x3b], _) = hdr.split_first_chunk::<4>()? else { return None };
    let eh = r.ptr(ptr_enc, Some(hdr_at))?;
    let count = r.ptr(count_enc, Some(hdr_at))?;
    let table = hdr.get(r.pos..)?;
    if count == 0 || table.len() / 8 < count {
        return None;
    }
    let word = |i: usize| {
        let mut t = Rd { b: table, pos: i, base: 0 };
        hdr_at.wrapping_add(t.le(4).unwrap_or(0) as i32 as usize)
    };
    // The last entry whose start is at or below pc.
    let (mut lo, mut hi) = (0, count);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if word(mid * 8) <= pc {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (word(lo * 8) <= pc).then(|| (eh, word(lo * 8 + 4)))
}

/// One `.eh_frame` entry (CIE or FDE) at offset `off` of `eh` (read at `eh_at`): a cursor over
/// its body after the length (at the CIE id / CIE pointer).
fn entry<'a>(eh: &'a [u8], eh_at: usize, off: usize) -> Option<Rd<'a>> {
    let mut r = Rd { b: eh, pos: off, base: eh_at };
    let len = r.le(4)? as usize;
    // 0: the terminator; 0xffffffff: the 64-bit format, which no linker writes to .eh_frame.
    if len == 0 || len == 0xffff_ffff {
        return None;
    }
    let body = eh.get(r.pos..r.pos.checked_add(len)?)?;
    Some(Rd { b: body, pos: 0, base: eh_at.wrapping_add(r.pos) })
}

/// Fills `ctx.row` with the row of the FDE at `fde_at` for `pc`. `eh` is `.eh_frame` (to its
/// segment's end), read at `eh_at`. None if the FDE does not cover `pc` or cannot be read.
#[inline(never)]
pub fn find_row(eh: &[u8], eh_at: usize, fde_at: usize, pc: usize, ctx: &mut Ctx) -> Option<()> {
    let off = fde_at.checked_sub(eh_at)?;
    let mut fde = entry(eh, eh_at, off)?;
    // The CIE pointer: back from its own position to the CIE's length field.
    let cie_ptr = fde.le(4)? as usize;
    if cie_ptr == 0 {
        return None;
    }
    let mut cie = entry(eh, eh_at, (off + 4).checked_sub(cie_ptr)?)?;
    if cie.le(4)? != 0 || !matches!(cie.u8()?, 1 | 3) {
        return None;
    }
    let (b, aug) = (cie.b, cie.pos);
    while cie.u8()? != 0 {}
    let aug = b.get(aug..cie.pos - 1)?;
    let code_align = cie.uleb()?;
    let data_align = cie.sleb()?;
    if cie.b[4] == 1 {
        cie.u8()?;
    } else {
        cie.uleb()?;
    }
    let mut enc = 0;
    if let Some((&b'z', letters)) = aug.split_first() {
        let n = cie.uleb()?;
        let end = cie.pos.checked_add(n)?;
        for &c in letters {
            match c {
                b'R' => enc = cie.u8()?,
                b'L' => drop(cie.u8()?),
                b'P' => {
                    let e = cie.u8()?;
                    cie.ptr(e & 0x0f, None)?;
                }
                b'S' | b'B' | b'G' => {}
                _ => return None,
            }
        }
        cie.pos = end;
    } else if !aug.is_empty() {
        return None;
    }
    let start = fde.ptr(enc, None)?;
    let range = fde.ptr(enc & 0x0f, None)?;
    if pc.wrapping_sub(start) >= range {
        return None;
    }
    if !aug.is_empty() {
        fde.block()?;
    }
    let p = Program { code_align, data_align, enc };
    ctx.depth = 0;
    ctx.row = Row::EMPTY;
    // The CIE's initial instructions set no location: they run to their end.
    p.run(ctx, &mut cie, 0, usize::MAX)?;
    ctx.init = ctx.row;
    p.run(ctx, &mut fde, start, pc)
}

/// What a CIE says about its FDEs' instructions.
struct Program {
    code_align: usize,
    data_align: isize,
    /// The FDE pointer encoding (`set_loc`'s operand).
    enc: u8,
}

impl Program {
    /// Runs the instructions at `r` from location `loc` until the row for `pc` is complete.
    fn run(&self, ctx: &mut Ctx, r: &mut Rd, mut loc: usize, pc: usize) -> Option<()> {
        while r.pos < r.b.len() {
            let op = r.u8()?;
            let low = (op & 0x3f) as u16;
            let mut next = None;
            let (reg, rule) = match op >> 6 {
                1 => {
                    next = Some(loc.wrapping_add(low as usize * self.code_align));
                    (u16::MAX, Rule::Same)
                }
                2 => (low, Rule::Offset(self.off(r.uleb()? as isize))),
                3 => (low, ctx.init.rules.get(low as usize).copied().unwrap_or(Rule::Same)),
                _ => match op {
                    0x00 | 0x2d => (u16::MAX, Rule::Same),
                    0x01 => {
                        next = Some(r.ptr(self.enc, None)?);
                        (u16::MAX, Rule::Same)
                    }
                    0x02..=0x04 => {
                        let d = r.le(1 << (op - 2))? as usize;
                        next = Some(loc.wrapping_add(d.wrapping_mul(self.code_align)));
                        (u16::MAX, Rule::Same)
                    }
                    0x05 => (r.reg()?, Rule::Offset(self.off(r.uleb()? as isize))),
                    0x06 => {
                        let reg = r.reg()?;
                        (reg, ctx.init.rules.get(reg as usize).copied().unwrap_or(Rule::Same))
                    }
                    0x07 => (r.reg()?, Rule::Unknown),
                    0x08 => (r.reg()?, Rule::Same),
                    0x09 => (r.reg()?, Rule::Register(r.reg()?)),
                    0x0a => {
                        *ctx.stack.get_mut(ctx.depth)? = ctx.row;
                        ctx.depth += 1;
                        (u16::MAX, Rule::Same)
                    }
                    0x0b => {
                        ctx.depth = ctx.depth.checked_sub(1)?;
                        ctx.row = ctx.stack[ctx.depth];
                        (u16::MAX, Rule::Same)
                    }
                    0x0c | 0x12 => {
                        ctx.row.cfa_reg = r.reg()?;
                        ctx.row.cfa_off = if op == 0x0c { r.uleb()? as isize } else { self.off(r.sleb()?) };
                        (u16::MAX, Rule::Same)
                    }
                    0x0d => {
                        ctx.row.cfa_reg = r.reg()?;
                        (u16::MAX, Rule::Same)
                    }
                    0x0e => {
                        ctx.row.cfa_off = r.uleb()? as isize;
                        (u16::MAX, Rule::Same)
                    }
                    0x13 => {
                        ctx.row.cfa_off = self.off(r.sleb()?);
                        (u16::MAX, Rule::Same)
                    }
                    0x0f => {
                        r.block()?;
                        ctx.row.cfa_reg = CFA_EXPR;
                        (u16::MAX, Rule::Same)
                    }
                    0x10 | 0x16 => {
                        let reg = r.reg()?;
                        r.block()?;
                        (reg, Rule::Unknown)
                    }
                    0x11 => (r.reg()?, Rule::Offset(self.off(r.sleb()?))),
                    0x14 => (r.reg()?, Rule::ValOffset(self.off(r.uleb()? as isize))),
                    0x15 => (r.reg()?, Rule::ValOffset(self.off(r.sleb()?))),
                    0x2e => {
                        r.uleb()?;
                        (u16::MAX, Rule::Same)
                    }
                    0x2f => (r.reg()?, Rule::Offset(self.off((r.uleb()? as isize).wrapping_neg()))),
                    _ => return None,
                },
            };
            if let Some(slot) = ctx.row.rules.get_mut(reg as usize) {
                *slot = rule;
            }
            if let Some(next) = next {
                if pc < next {
                    return Some(());
                }
                loc = next;
            }
        }
        Some(())
    }

    /// A factored offset.
    fn off(&self, n: isize) -> isize {
        n.wrapping_mul(self.data_align)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use gimli::{
        BaseAddresses, CfaRule, EhFrame, EhFrameHdr, LittleEndian, ReaderOffset, Register, RegisterRule, UnwindContext,
        UnwindContextStorage, UnwindSection, UnwindTableRow,
    };
    use std::vec::Vec;

    /// gimli's rule storage without its `alloc` feature (as the runtime had it).
    struct FixedStorage;

    impl<T: ReaderOffset> UnwindContextStorage<T> for FixedStorage {
        type Rules = [(Register, RegisterRule<T>); 48];
        type Stack = [UnwindTableRow<T, Self>; 4];
    }

    /// A section of the ELF64 file `f` by name: its bytes and address.
    fn section<'a>(f: &'a [u8], name: &str) -> (&'a [u8], usize) {
        let u = |o: usize, k: usize| f[o..o + k].iter().rev().fold(0usize, |v, &b| v << 8 | b as usize);
        let (shoff, shentsize, shnum, shstrndx) = (u(0x28, 8), u(0x3a, 2), u(0x3c, 2), u(0x3e, 2));
        let sh = |i: usize| shoff + i * shentsize;
        let strtab = u(sh(shstrndx) + 0x18, 8);
        for i in 0..shnum {
            let n = strtab + u(sh(i), 4);
            let end = n + f[n..].iter().position(|&b| b == 0).unwrap();
            if &f[n..end] == name.as_bytes() {
                let (addr, off, size) = (u(sh(i) + 0x10, 8), u(sh(i) + 0x18, 8), u(sh(i) + 0x20, 8));
                return (&f[off..off + size], addr);
            }
        }
        panic!("no {name}");
    }

    fn gimli_rule(r: Option<RegisterRule<usize>>) -> Rule {
        match r {
            None | Some(RegisterRule::SameValue) => Rule::Same,
            Some(RegisterRule::Offset(o)) => Rule::Offset(o as isize),
            Some(RegisterRule::ValOffset(o)) => Rule::ValOffset(o as isize),
            Some(RegisterRule::Register(r)) => Rule::Register(r.0),
            Some(_) => Rule::Unknown,
        }
    }

    /// Every FDE of this test binary, at its start, at each row's start and in its last byte:
    /// the same FDE as gimli's search, the same CFA rule and the same rules for registers 0..N.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "reads the test binary (under Miri current_exe is not the program's ELF file): not under Miri"
    )]
    fn every_fde_of_the_test_binary_matches_gimli() {
        let file = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let (hdr, hdr_at) = section(&file, ".eh_frame_hdr");
        let (eh, eh_at) = section(&file, ".eh_frame");
        let bases = BaseAddresses::default().set_eh_frame_hdr(hdr_at as u64).set_eh_frame(eh_at as u64);
        let parsed = EhFrameHdr::new(hdr, LittleEndian).parse(&bases, 8).unwrap();
        let table = parsed.table().unwrap();
        let geh = EhFrame::new(eh, LittleEndian);
        let mut gctx = std::boxed::Box::new(UnwindContext::<usize, FixedStorage>::new_in());
        let mut ctx = std::boxed::Box::new(Ctx::new());
        let (mut fdes, mut rows) = (0, 0);
        let mut entries = geh.entries(&bases);
        while let Some(e) = entries.next().unwrap() {
            let gimli::CieOrFde::Fde(partial) = e else { continue };
            let fde = partial.parse(EhFrame::cie_from_offset).unwrap();
            fdes += 1;
            let (start, len) = (fde.initial_address() as usize, fde.len() as usize);
            let mut pcs: Vec<usize> = vec![start, start + len - 1];
            let mut t = fde.rows(&geh, &bases, &mut gctx).unwrap();
            while let Some(row) = t.next_row().unwrap() {
                pcs.push(row.start_address() as usize);
                pcs.push(row.end_address() as usize - 1);
            }
            for pc in pcs {
                let g = table.unwind_info_for_address(&geh, &bases, &mut gctx, pc as u64, EhFrame::cie_from_offset);
                let ours = find_fde(hdr, hdr_at, pc).and_then(|(e, f)| {
                    assert_eq!(e, eh_at);
                    find_row(eh, eh_at, f, pc, &mut ctx)
                });
                let Ok(g) = g else {
                    assert!(ours.is_none(), "pc {pc:#x}: gimli finds no row, we do");
                    continue;
                };
                assert!(ours.is_some(), "pc {pc:#x}: gimli finds a row, we do not");
                rows += 1;
                match *g.cfa() {
                    CfaRule::RegisterAndOffset { register, offset } => {
                        assert_eq!((ctx.row.cfa_reg, ctx.row.cfa_off), (register.0, offset as isize), "cfa at {pc:#x}")
                    }
                    CfaRule::Expression(_) => assert_eq!(ctx.row.cfa_reg, CFA_EXPR, "cfa at {pc:#x}"),
                }
                for i in 0..N {
                    assert_eq!(ctx.row.rules[i], gimli_rule(g.register(Register(i as u16))), "reg {i} at {pc:#x}");
                }
            }
        }
        // Offsets that must be there for the comparison to mean anything.
        assert!(fdes > 1000 && rows > 5000, "{fdes} FDEs, {rows} rows");
        std::eprintln!("{fdes} FDEs, {rows} rows compared");
    }

    /// Hand-made CFI: remember/restore state, restore to the CIE's rule, set_loc-free advances
    /// of every width, val_offset, register, expressions, and a pc past the last row.
    #[test]
    fn instructions_not_in_the_test_binary() {
        // CIE: id 0, version 1, "zR", code align 1, data align -8, RA 16, aug len 1, enc
        // pcrel|sdata4; def_cfa r7+8, offset r16 at cfa-8.
        let mut eh: Vec<u8> = Vec::new();
        let cie = [0, 0, 0, 0, 1, b'z', b'R', 0, 1, 0x78, 16, 1, 0x1b, 0x0c, 7, 8, 0x90, 1];
        eh.extend_from_slice(&(cie.len() as u32).to_le_bytes());
        eh.extend_from_slice(&cie);
        let fde_off = eh.len();
        let base = 0x30_000usize; // above the function: a negative pc-relative start
        let func = 0x20_000usize;
        let mut fde: Vec<u8> = Vec::new();
        fde.extend_from_slice(&((fde_off + 4) as u32).to_le_bytes()); // back to the CIE at 0
        let pc_field = base + fde_off + 8;
        fde.extend_from_slice(&((func as i64 - pc_field as i64) as i32).to_le_bytes());
        fde.extend_from_slice(&0x1000u32.to_le_bytes());
        fde.push(0); // aug data length
        fde.extend_from_slice(&[
            0x41, // advance 1 -> 0x20001
            0x0e, 16, // cfa offset 16
            0x86, 2,    // r6 at cfa-16
            0x0a, // remember
            0x02, 3, // advance 3 -> 0x20004
            0x0d, 6, // cfa register r6
            0x14, 3, 2, // r3 = cfa-16 (2 * -8)
            0x09, 12, 13, // r12 in r13
            0x10, 14, 1, 0x30, // r14 by expression
            0x03, 0x10, 0x00, // advance 16 -> 0x20014
            0xc6, // restore r6 (no CIE rule: same)
            0x0b, // restore state: cfa r7+16, r6 at cfa-16, r3/r12/r14 as before remember
            0x04, 0x00, 0x01, 0, 0, // advance 256 -> 0x20114
            0x0f, 1, 0x30, // cfa by expression
            0x2e, 8, // args size
            0x11, 15, 0x7e, // r15 at cfa+16 (sleb -2 * -8)
        ]);
        while !(fde.len() + 4).is_multiple_of(8) {
            fde.push(0);
        }
        eh.extend_from_slice(&(fde.len() as u32).to_le_bytes());
        eh.extend_from_slice(&fde);
        let fde_at = base + fde_off;
        let mut ctx = Ctx::new();
        let mut row = |pc: usize| find_row(&eh, base, fde_at, pc, &mut ctx).map(|()| ctx.row);
        let r = row(func).unwrap();
        assert_eq!((r.cfa_reg, r.cfa_off, r.rules[16], r.rules[6]), (7, 8, Rule::Offset(-8), Rule::Same));
        let r = row(func + 1).unwrap();
        assert_eq!((r.cfa_reg, r.cfa_off, r.rules[6]), (7, 16, Rule::Offset(-16)));
        let r = row(func + 4).unwrap();
        assert_eq!((r.cfa_reg, r.cfa_off, r.rules[3], r.rules[12]), (6, 16, Rule::ValOffset(-16), Rule::Register(13)));
        assert_eq!(r.rules[14], Rule::Unknown);
        let r = row(func + 0x14).unwrap();
        assert_eq!((r.cfa_reg, r.cfa_off, r.rules[6], r.rules[3]), (7, 16, Rule::Offset(-16), Rule::Same));
        let r = row(func + 0x114).unwrap();
        assert_eq!((r.cfa_reg, r.rules[15]), (CFA_EXPR, Rule::Offset(16)));
        assert!(row(func + 0x1000).is_none());
        assert!(row(func - 1).is_none());
        // A cut entry reads nothing past its end.
        for cut in 0..eh.len() {
            let _ = find_row(&eh[..cut], base, fde_at, func + 4, &mut Ctx::new());
        }
    }
}
