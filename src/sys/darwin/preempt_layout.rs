//! The OS-neutral parts of darwin's asynchronous preemption (sys/darwin/preempt.rs), kept apart
//! so that they are unit-tested on the host (no Mac here): where the program's own code lies in
//! its Mach-O image, and which bytes of a saved machine context go back into the one the kernel
//! gives the resume trap. The layouts are xnu's (<mach/i386/_structs.h>, <mach/arm/_structs.h>;
//! Go's defs_darwin_amd64.go and defs_darwin_arm64.go spell the same structures).

/// ucontext_t (64-bit, both arches): uc_onstack(4) uc_sigmask(4) uc_stack(24) uc_link(8), then
/// uc_mcsize (the machine context's size) at 40 and the uc_mcontext pointer at 48.
pub const UC_MCSIZE: usize = 40;
/// See `UC_MCSIZE`.
pub const UC_MCONTEXT: usize = 48;
/// In a machine context (__darwin_mcontext64 and its larger AVX/AVX-512 flavours on amd64; the
/// neon one on arm64), the exception state comes first (16 bytes on both arches), then the
/// thread state `ss` (general registers, pc, sp, flags), then the floating-point/vector state.
/// sigreturn restores `ss` and what follows; the exception state it ignores.
pub const MC_SS: usize = 16;

/// amd64: x86_thread_state64 is rax rbx rcx rdx rdi rsi rbp rsp r8..r15 rip rflags cs fs gs, 8
/// bytes each; these are the word indices.
#[allow(dead_code)] // on arm64 (each arch uses its own; the host tests check both)
pub mod amd64 {
    pub const RDI: usize = 4;
    pub const RSP: usize = 7;
    pub const RIP: usize = 16;
    pub const RFLAGS: usize = 17;
    /// The thread state's size (21 words); the float state follows it.
    pub const SS_SIZE: usize = 21 * 8;
    /// __darwin_mcontext64 (no AVX state): es, ss, x86_float_state64 (524) and padding.
    pub const MCONTEXT64_SIZE: usize = 712;
    const _: () = assert!(super::MC_SS + SS_SIZE + 524 + 4 == MCONTEXT64_SIZE);
}

/// arm64: arm_thread_state64 is x0..x28, fp, lr, sp, pc (8 bytes each), cpsr and a pad (4 each);
/// these are the word indices.
#[allow(dead_code)] // on amd64 (each arch uses its own; the host tests check both)
pub mod arm64 {
    pub const X0: usize = 0;
    pub const FP: usize = 29;
    pub const LR: usize = 30;
    pub const SP: usize = 31;
    pub const PC: usize = 32;
    /// The thread state's size; the neon state (v0-v31 as 16-byte words, fpsr, fpcr) follows.
    pub const SS_SIZE: usize = 33 * 8 + 8;
    /// __darwin_mcontext64: es, ss, arm_neon_state64 (512 + 8, padded to 16).
    pub const MCONTEXT64_SIZE: usize = 816;
    const _: () = assert!(super::MC_SS + SS_SIZE + 528 == MCONTEXT64_SIZE);
    const _: () = assert!((super::MC_SS + SS_SIZE).is_multiple_of(16)); // v0 is 16-aligned
}

/// How many bytes of the saved machine context (`saved` bytes long) go into the kernel's
/// (`current` bytes long) at the resume trap: from the thread state on, up to the shorter of the
/// two. The flavours only grow by appending (float → AVX → AVX-512 on amd64), so the common
/// prefix means the same in both; a longer saved flavour loses only state the resuming thread's
/// flavour has no room for (sys/darwin/preempt.rs says when). None: a context too short to hold
/// a thread state (never given by the kernel).
pub fn restore_range(saved: usize, current: usize, ss_size: usize) -> Option<core::ops::Range<usize>> {
    let end = saved.min(current);
    (end >= MC_SS + ss_size).then_some(MC_SS..end)
}

/// The size of the `__TEXT` segment named in a 64-bit Mach-O header's load commands (`cmds`,
/// the `sizeofcmds` bytes after the 32-byte mach_header_64). `__TEXT` starts at the header, so
/// `[header, header + size)` is the program's own code and constants: no dylib lies in it.
pub fn text_segment_size(cmds: &[u8]) -> Option<usize> {
    /// LC_SEGMENT_64: cmd, cmdsize, segname[16] at 8, vmaddr at 24, vmsize at 32.
    const LC_SEGMENT_64: u32 = 0x19;
    let u32_at = |o: usize| cmds.get(o..o + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut off = 0;
    while let (Some(cmd), Some(size)) = (u32_at(off), u32_at(off + 4)) {
        if cmd == LC_SEGMENT_64 && cmds.get(off + 8..off + 15) == Some(b"__TEXT\0") {
            let v = cmds.get(off + 32..off + 40)?;
            return Some(u64::from_le_bytes(v.try_into().ok()?) as usize);
        }
        if size < 8 {
            return None;
        }
        off += size as usize;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One LC_SEGMENT_64 command (72 bytes, no sections) for `name` with `vmsize`.
    fn segment(name: &[u8], vmsize: u64) -> [u8; 72] {
        let mut c = [0u8; 72];
        c[0..4].copy_from_slice(&0x19u32.to_le_bytes());
        c[4..8].copy_from_slice(&72u32.to_le_bytes());
        c[8..8 + name.len()].copy_from_slice(name);
        c[24..32].copy_from_slice(&0x1_0000_0000u64.to_le_bytes());
        c[32..40].copy_from_slice(&vmsize.to_le_bytes());
        c
    }

    #[test]
    fn text_segment_found_after_pagezero() {
        let mut cmds = alloc::vec::Vec::new();
        cmds.extend_from_slice(&segment(b"__PAGEZERO", 0x1_0000_0000));
        cmds.extend_from_slice(&segment(b"__TEXT", 0x4_8000));
        cmds.extend_from_slice(&segment(b"__DATA", 0x1000));
        assert_eq!(text_segment_size(&cmds), Some(0x4_8000));
    }

    #[test]
    fn text_segment_missing_or_malformed() {
        assert_eq!(text_segment_size(&segment(b"__DATA", 0x1000)), None);
        // A name that only starts with __TEXT is another segment.
        assert_eq!(text_segment_size(&segment(b"__TEXT_EXEC", 0x1000)), None);
        let mut bad = segment(b"__DATA", 0x1000);
        bad[4..8].copy_from_slice(&4u32.to_le_bytes()); // cmdsize < 8: stop, do not loop
        assert_eq!(text_segment_size(&bad), None);
        assert_eq!(text_segment_size(&[]), None);
    }

    #[test]
    fn restore_range_is_the_common_prefix_from_the_thread_state() {
        let ss = amd64::SS_SIZE;
        // Same flavour: everything after the exception state.
        assert_eq!(restore_range(1032, 1032, ss), Some(MC_SS..1032));
        // Saved with AVX state, resumed where the kernel wrote the plain flavour, and back.
        assert_eq!(restore_range(1032, amd64::MCONTEXT64_SIZE, ss), Some(MC_SS..712));
        assert_eq!(restore_range(712, 1032, ss), Some(MC_SS..712));
        assert_eq!(restore_range(MC_SS + ss - 1, 712, ss), None);
        assert_eq!(restore_range(arm64::MCONTEXT64_SIZE, arm64::MCONTEXT64_SIZE, arm64::SS_SIZE), Some(16..816));
    }
}
