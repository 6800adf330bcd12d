//! linux/arm's stack-frame limit. LLVM has no stack probes for 32-bit ARM, so a function whose
//! frame is bigger than the guard below a goroutine's stack can move SP past the guard in one
//! step and write into whatever lies below: another goroutine's stack. (x86-64 and arm64 probe
//! every page of a large frame; windows calls `__chkstk`.) gort makes that loud instead: the
//! guard below every guarded stack on linux/arm is [`MAX_FRAME`] bytes (sys/linux/mod.rs
//! `stack_guard_size`), and at startup `check_frames` reads the program's own code and refuses
//! to run it if any function allocates more than that, naming the function's address. Put large
//! locals in a `Box` instead.

/// The largest stack frame a linux/arm gort program may have, and the size of the guard region
/// below each guarded goroutine stack there.
pub const MAX_FRAME: usize = 16 << 10;

#[cfg(not(test))]
unsafe extern "C" {
    /// The ELF header of the program, as the linker places it (lld and GNU ld define it).
    static __ehdr_start: [u8; 52];
}

/// The executable segments of the running program: (address, length).
#[cfg(not(test))]
fn text_segments(mut f: impl FnMut(usize, usize)) {
    // SAFETY: __ehdr_start is the ELF header at the start of the first loaded segment, followed
    // (at e_phoff) by the program headers, which the first PT_LOAD maps too.
    unsafe {
        let eh = core::ptr::addr_of!(__ehdr_start) as *const u8;
        let rd32 = |p: *const u8| core::ptr::read_unaligned(p as *const u32) as usize;
        let rd16 = |p: *const u8| core::ptr::read_unaligned(p as *const u16) as usize;
        let (phoff, phentsize, phnum) = (rd32(eh.add(28)), rd16(eh.add(42)), rd16(eh.add(44)));
        // Load bias: where the segment holding file offset 0 (the header) really is.
        let mut bias = 0usize;
        for i in 0..phnum {
            let ph = eh.add(phoff + i * phentsize);
            if rd32(ph) == 1 && rd32(ph.add(4)) == 0 {
                bias = (eh as usize).wrapping_sub(rd32(ph.add(8)));
                break;
            }
        }
        for i in 0..phnum {
            let ph = eh.add(phoff + i * phentsize);
            const PT_LOAD: usize = 1;
            const PF_X: usize = 1;
            if rd32(ph) == PT_LOAD && rd32(ph.add(24)) & PF_X != 0 {
                f(rd32(ph.add(8)).wrapping_add(bias), rd32(ph.add(16)));
            }
        }
    }
}

/// The biggest stack adjustment in A32 code `words` (at address `base`), if one exceeds `limit`:
/// (address of the instruction, bytes). Counts `sub sp, sp, #imm` (consecutive ones add up, as
/// LLVM splits constants it cannot encode) and `sub sp, sp, rN` after `movw`/`movt rN`.
pub fn find_big_frame(words: &[u32], base: usize, limit: usize) -> Option<(usize, usize)> {
    let mut regs = [0u32; 16];
    let mut run = 0usize;
    for (i, &w) in words.iter().enumerate() {
        if w >> 28 != 0xE {
            run = 0;
            continue; // only unconditional instructions
        }
        let sub = if w & 0x0FFF_F000 == 0x024D_D000 {
            // SUB sp, sp, #imm: imm8 rotated right by twice the rotation field.
            Some(((w & 0xFF).rotate_right(2 * ((w >> 8) & 0xF))) as usize)
        } else if w & 0x0FFF_FFF0 == 0x004D_D000 {
            // SUB sp, sp, rM (no shift).
            Some(regs[(w & 0xF) as usize] as usize)
        } else {
            None
        };
        match sub {
            Some(n) => {
                run += n;
                if run > limit {
                    return Some((base + 4 * i, run));
                }
            }
            None => run = 0,
        }
        let rd = ((w >> 12) & 0xF) as usize;
        let imm16 = ((w >> 4) & 0xF000) | (w & 0xFFF);
        if w & 0x0FF0_0000 == 0x0300_0000 {
            regs[rd] = imm16; // MOVW
        } else if w & 0x0FF0_0000 == 0x0340_0000 {
            regs[rd] = (regs[rd] & 0xFFFF) | (imm16 << 16); // MOVT
        }
    }
    None
}

/// Refuses to run a program with a frame bigger than [`MAX_FRAME`] (see the module doc). Called
/// once at startup (osinit), before any goroutine exists.
#[cfg(not(test))]
pub fn check_frames() {
    text_segments(|addr, len| {
        // SAFETY: an executable PT_LOAD segment of this program: mapped, readable, 4-aligned.
        let words = unsafe { core::slice::from_raw_parts(addr as *const u32, len / 4) };
        if let Some((pc, bytes)) = find_big_frame(words, addr, MAX_FRAME) {
            crate::print::fatal_fmt(format_args!(
                "the function at pc={:#x} allocates a {}-byte stack frame: linux/arm has no stack probes, \
                 and a frame above {} bytes could skip the guard below a goroutine's stack (put large locals in a Box)",
                pc, bytes, MAX_FRAME
            ));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::find_big_frame;

    #[test]
    fn finds_immediate_and_register_frames() {
        // sub sp, sp, #196608 (e24dd803), as LLVM emits for a 192 KB local.
        assert_eq!(find_big_frame(&[0xe92d4830, 0xe24dd008, 0xe24dd803], 0x1000, 16384), Some((0x1008, 196616)));
        // sub sp, sp, #12288 and #1024: under the limit.
        assert_eq!(find_big_frame(&[0xe24dda03, 0xe1a00000, 0xe24ddb01], 0, 16384), None);
        // movw r4, #0x4e20; movt r4, #1; sub sp, sp, r4 -> 0x14e20 = 85536.
        let movw = 0xe3000000 | (4 << 12) | ((0x4e20 & 0xF000) << 4) | (0x4e20 & 0xFFF);
        let movt = 0xe3400000 | (4 << 12) | 1;
        assert_eq!(find_big_frame(&[movw, movt, 0xe04dd004], 0, 16384), Some((8, 0x14e20)));
        // Two consecutive subs that add up past the limit.
        assert_eq!(find_big_frame(&[0xe24dda03, 0xe24dda03], 0, 16384), Some((4, 24576)));
    }
}
