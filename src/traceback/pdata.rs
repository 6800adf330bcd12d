//! traceback's unwinder on windows (amd64; arm64 built only): one step from a frame to its
//! caller with the OS's own unwinder over the image's `.pdata`/`.xdata` (Go has no twin: its
//! frames carry pcsp tables, traceback.go's `unwinder.next`; this is how windows' own
//! `RtlCaptureStackBackTrace` walks): `RtlLookupFunctionEntry(pc - 1)` finds the function's RUNTIME_FUNCTION,
//! `RtlVirtualUnwind` undoes its prologue on a CONTEXT built from the frame's registers (the
//! callee-saved ones, sp and pc), and the caller's registers are read back. Both exist on x64
//! and arm64 with the same signatures (kernel32 forwards them to ntdll); only the CONTEXT
//! layout differs (its offsets below). windows/arm (Thumb-2) has no tracebacks.
//!
//! **Output.** No names: the function names live in the PDB next to the executable, and no PDB
//! reader is built in, so every frame prints as `?()` + `\tEXE+0xRVA` (EXE from
//! GetModuleFileNameW; RVA = pc − 1 − the image base (`sys::image_base`, `__ImageBase`), the
//! call instruction's RVA on x64; pc − 4 on arm64). `llvm-symbolizer --obj=EXE 0xADDR` with
//! ADDR = the image's preferred base (0x140000000 for lld-link's x64 executables) + RVA resolves
//! it to function and file:line from the PDB (it finds `EXE`'s PDB through the path in its debug
//! directory).
//!
//! **Limits.** A frame without a RUNTIME_FUNCTION (a leaf, or gort's assembly: rt0, the context
//! switches) ends the walk. The stack reads are `RtlVirtualUnwind`'s own, not bounded by the walk:
//! before each call sp (and on x64 the frame register of a function whose UNWIND_INFO names one;
//! on arm64 fp, which the windows arm64 ABI keeps as a frame chain) must lie inside the
//! goroutine's stack, and after it the caller's sp must lie above ours and inside the stack; a
//! frame whose saved registers sit beyond its sp (none in Rust code) could still be read outside.
//! windows/arm64 is compiled here and never run (nothing emulates it): unverified.

use core::fmt::Write;

use super::arch::{RA, SP};
use super::Regs;

#[link(name = "kernel32", kind = "raw-dylib")]
extern "system" {
    fn RtlLookupFunctionEntry(pc: u64, image_base: *mut u64, history: usize) -> *mut u8;
    fn RtlVirtualUnwind(
        handler_type: u32,
        image_base: u64,
        pc: u64,
        function_entry: *mut u8,
        context: *mut Context,
        handler_data: *mut usize,
        establisher_frame: *mut u64,
        context_pointers: usize,
    ) -> usize;
    fn GetModuleFileNameW(module: usize, buf: *mut u16, len: u32) -> u32;
}

/// A CONTEXT record (x64: 0x4d0 bytes; arm64: 0x390), 16-aligned as the OS requires.
#[repr(C, align(16))]
pub struct Context([u8; CONTEXT_SIZE]);

#[cfg(target_arch = "x86_64")]
mod layout {
    /// sizeof(CONTEXT) on x64.
    pub const CONTEXT_SIZE: usize = 0x4d0;
    /// CONTEXT_AMD64 | CONTROL | INTEGER | FLOATING_POINT, at ContextFlags' offset.
    pub const FLAGS: u32 = 0x10_000b;
    pub const FLAGS_AT: usize = 0x30;
    /// CONTEXT offset of each DWARF register (rax rdx rcx rbx rsi rdi rbp rsp r8-r15) and the
    /// return-address column (Rip).
    pub const OFFSETS: [usize; 17] =
        [0x78, 0x88, 0x80, 0x90, 0xa8, 0xb0, 0xa0, 0x98, 0xb8, 0xc0, 0xc8, 0xd0, 0xd8, 0xe0, 0xe8, 0xf0, 0xf8];
}
#[cfg(target_arch = "aarch64")]
mod layout {
    /// sizeof(CONTEXT) on arm64.
    pub const CONTEXT_SIZE: usize = 0x390;
    /// CONTEXT_ARM64 | CONTROL | INTEGER | FLOATING_POINT, at ContextFlags' offset.
    pub const FLAGS: u32 = 0x40_0007;
    pub const FLAGS_AT: usize = 0;
    /// CONTEXT offset of x0-x29 (X[0..29], then Fp), the return-address column (Pc: the walk
    /// keeps the frame's pc in x30's slot) and sp (DWARF 31).
    pub const OFFSETS: [usize; 32] = {
        let mut o = [0; 32];
        let mut i = 0;
        while i < 30 {
            o[i] = 8 + 8 * i;
            i += 1;
        }
        o[30] = 0x108;
        o[31] = 0x100;
        o
    };
    /// Lr's offset (set to the pc too: a leaf's return address).
    pub const LR: usize = 0xf8;
}
use layout::*;

/// The unwinder's CONTEXT record (over 1 KB: kept off the g0 stack). Only the thread writing
/// the fatal report uses it (print.rs's start_dying admits one).
static CONTEXT: crate::gmp::Global<Context> = crate::gmp::Global::new(Context([0; CONTEXT_SIZE]));

/// The executable's path (UTF-8, `?` for unpaired surrogates), filled by exe_path.
static EXE_PATH: crate::gmp::Global<([u8; 1024], usize)> = crate::gmp::Global::new(([0; 1024], 0));

/// The running image: its base address.
#[derive(Clone, Copy)]
pub struct Image {
    /// The module's base: the pc minus this is an RVA.
    pub bias: usize,
}

/// The running executable's image.
pub fn image() -> Option<Image> {
    Some(Image { bias: crate::sys::image_base() })
}

/// The path traceback prints before `+0xRVA`: the executable's (GetModuleFileNameW), or `?`.
/// Only the thread writing the fatal report calls it (it fills a static buffer).
pub fn exe_path() -> &'static [u8] {
    // SAFETY: only the reporting thread touches EXE_PATH (see above).
    let (buf, len) = unsafe { &mut *EXE_PATH.get() };
    if *len == 0 {
        let mut wide = [0u16; 300];
        // SAFETY: the buffer holds wide.len() u16s; module 0 is the executable.
        let n = unsafe { GetModuleFileNameW(0, wide.as_mut_ptr(), wide.len() as u32) } as usize;
        let mut w = Fixed { buf, len: 0 };
        for c in char::decode_utf16(wide[..n.min(wide.len())].iter().copied()) {
            let _ = w.write_char(c.unwrap_or('?'));
        }
        if w.len == 0 {
            let _ = w.write_char('?');
        }
        *len = w.len;
    }
    &buf[..*len]
}

/// A writer into a fixed buffer (silently truncating).
struct Fixed<'a> {
    buf: &'a mut [u8; 1024],
    len: usize,
}

impl Write for Fixed<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// One walk's state: the CONTEXT record.
pub struct Walker(&'static mut Context);

impl Walker {
    /// The walker.
    ///
    /// # Safety
    /// Only the thread writing the fatal report may call it, and use one Walker at a time.
    pub unsafe fn get() -> Walker {
        // SAFETY: only this thread uses CONTEXT (the contract).
        Walker(unsafe { &mut *CONTEXT.get() })
    }

    /// One step of a walk: the frame at `regs`' pc (a return address), and the registers of
    /// its caller. `bounds` is the goroutine's stack `[lo, hi)`. None ends the walk.
    pub fn step(
        &mut self,
        _img: &Image,
        regs: &Regs,
        bounds: (usize, usize),
        _read: &impl Fn(usize) -> usize,
    ) -> Option<Regs> {
        let pc = regs.get(RA as u16)?;
        let sp = regs.get(SP as u16)?;
        let inside = |a: usize| a >= bounds.0 && a < bounds.1;
        if !inside(sp) {
            return None;
        }
        let mut base = 0u64;
        // SAFETY: a lookup in the loaded modules' tables; a null history table is allowed.
        let f = unsafe { RtlLookupFunctionEntry(regs.at(pc) as u64, &mut base, 0) };
        if f.is_null() {
            return None;
        }
        #[cfg(target_arch = "x86_64")]
        {
            // UNWIND_INFO (at the RVA in RUNTIME_FUNCTION's third word): FrameRegister in the low
            // nibble of its byte 3. The unwinder computes sp from that register.
            // SAFETY: the RUNTIME_FUNCTION and its UNWIND_INFO lie in the loaded image.
            let frame_reg = unsafe {
                let info = *(f.add(8) as *const u32) as usize;
                *((base as usize + info + 3) as *const u8) & 0xf
            };
            // Windows' register numbers (rax rcx rdx rbx rsp rbp rsi rdi r8-r15) as DWARF's.
            const DWARF: [u16; 16] = [0, 2, 1, 3, 7, 6, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15];
            if frame_reg != 0 && !regs.get(DWARF[frame_reg as usize]).is_some_and(inside) {
                return None;
            }
        }
        #[cfg(target_arch = "aarch64")]
        if !regs.get(29).is_some_and(inside) {
            return None;
        }
        let ctx = &mut *self.0;
        ctx.0.fill(0);
        let put =
            |ctx: &mut Context, off: usize, v: usize| ctx.0[off..off + 8].copy_from_slice(&(v as u64).to_le_bytes());
        ctx.0[FLAGS_AT..FLAGS_AT + 4].copy_from_slice(&FLAGS.to_le_bytes());
        for (i, &off) in OFFSETS.iter().enumerate() {
            if let Some(v) = regs.get(i as u16) {
                put(ctx, off, v);
            }
        }
        #[cfg(target_arch = "aarch64")]
        put(ctx, LR, pc);
        let (mut handler_data, mut frame) = (0usize, 0u64);
        // SAFETY: f is the function entry of pc in the image at base; ctx is a writable CONTEXT
        // whose sp (and frame register) lie in the goroutine's stack (checked above); no
        // context pointers are asked for.
        unsafe { RtlVirtualUnwind(0, base, pc as u64, f, ctx, &mut handler_data, &mut frame, 0) };
        let get = |off: usize| u64::from_le_bytes(ctx.0[off..off + 8].try_into().unwrap_or([0; 8])) as usize;
        let mut next = regs.next();
        for (i, &off) in OFFSETS.iter().enumerate() {
            next.r[i] = get(off);
        }
        next.known |= 1 << SP | 1 << RA;
        let new_sp = next.r[SP];
        if new_sp <= sp || new_sp > bounds.1 {
            return None;
        }
        Some(next)
    }
}

/// The registers of the code an exception interrupted, from the CONTEXT record the OS passed to
/// the exception handler (the same layout the walk's own CONTEXT uses); the pc column holds the
/// faulting instruction's address (`exact_pc`).
///
/// # Safety
/// `ctx` must be the CONTEXT the exception dispatcher passed to a handler, still live.
pub unsafe fn context_regs(ctx: *const u8) -> Regs {
    let mut r = Regs::new();
    for (i, &off) in OFFSETS.iter().enumerate() {
        // SAFETY: every offset lies inside a CONTEXT (the layout of this arch), as the contract.
        r.r[i] = unsafe { core::ptr::read_unaligned((ctx as usize + off) as *const u64) } as usize;
        r.known |= 1 << i;
    }
    r.exact_pc = true;
    r
}
