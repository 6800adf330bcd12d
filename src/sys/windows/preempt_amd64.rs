//! windows/amd64's half of asynchronous preemption (sys/windows/preempt.rs has the shared
//! half: suspending, the rules, the image check): the CONTEXT layout, the redirect and the
//! resume.
//!
//! If it does, the CONTEXT is copied into the goroutine's save area (preempt.rs's pool), with
//! the TEB's LastErrorValue in its unused P1Home slot (GetLastError is per thread, and the
//! goroutine may resume on another one). `g.sched` becomes `{pc: context_resume, sp: below the
//! copy, ctx: the copy}`. The thread itself is set, with SetThreadContext (control and integer
//! registers only: its floating-point state stays as it is), to call `gopreempt_m(gp)` on g0's
//! stack as mcall would (Win64: rcx = gp, 32 bytes of shadow space, rsp+8 16-aligned, a null
//! return address), with its TLS g = g0 and the TEB's stack bounds on g0's stack. ResumeThread
//! lets it go: the goroutine goes to the global run queue.
//!
//! Resume: gogo makes the goroutine current (TLS g, TEB stack bounds) and jumps to
//! `context_resume` with the copy's address in rcx and the save area as stack. It restores the
//! floating-point state (fxrstor), LastErrorValue and every integer register from the copy, and
//! leaves with iretq, which loads rip, rsp and rflags together from a frame built on the save
//! area: nothing is pushed on the goroutine's stack. (RtlRestoreContext would do the same but is
//! an ntdll export; iretq keeps the imports to kernel32.)
//!
//! The vector registers' upper halves (ymm/zmm, AVX and AVX-512 state, opmask registers): the
//! CONTEXT's fxsave image holds only x87/MMX, xmm0-15 and MXCSR. Since SetThreadContext leaves
//! the thread's floating-point state as it is, the redirected thread still holds the goroutine's
//! complete vector state when it starts running again; so where the OS has XSAVE on
//! (CPUID.1:ECX.OSXSAVE) the thread is sent first to `xsave_gosched`, which saves all of it
//! (xsave64 of `XSAVE_MASK`: x87, SSE, AVX, AVX-512; not the AMX tiles) into the save area after
//! the CONTEXT copy and then continues into `gopreempt_m`. `context_resume` restores it with
//! xrstor64 instead of fxrstor. The copy's address is in the CONTEXT's unused P2Home slot (0: no XSAVE, fxrstor from FltSave).
//! This needs nothing of the extended CONTEXT API (InitializeContext2, CONTEXT_XSTATE), from
//! Windows or from wine: the thread saves its own state with one instruction.

use core::arch::naked_asm;
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::TEB_LAST_ERROR;
use crate::gmp::G;
use crate::preempt::{FIXUP_STACK, SAVE_AREA};

/// On unless GODEBUG=asyncpreemptoff=1: it runs here (loaded stress green under wine).
pub const ON_BY_DEFAULT: bool = true;

/// Where a goroutine switched out by an asynchronous preemption resumes (its `sched.pc`).
pub fn resume_pc() -> usize {
    context_resume as *const () as usize
}

const CONTEXT_AMD64: u32 = 0x10_0000;
const CONTEXT_CONTROL: u32 = CONTEXT_AMD64 | 0x1;
const CONTEXT_INTEGER: u32 = CONTEXT_AMD64 | 0x2;
const CONTEXT_FLOATING_POINT: u32 = CONTEXT_AMD64 | 0x8;
/// sizeof(CONTEXT) on x64 (it must be 16-aligned).
pub const CONTEXT_SIZE: usize = 0x4d0;
/// CONTEXT field offsets (x64).
const CTX_P1HOME: usize = 0x00;
/// P2Home, unused by Get/SetThreadContext: the address of the xsave image (0: none).
const CTX_P2HOME: usize = 0x08;
pub(super) const CTX_FLAGS: usize = 0x30;
const CTX_EFLAGS: usize = 0x44;
const CTX_RAX: usize = 0x78;
const CTX_RCX: usize = 0x80;
const CTX_RDX: usize = 0x88;
const CTX_RBX: usize = 0x90;
const CTX_RSP: usize = 0x98;
const CTX_RBP: usize = 0xa0;
const CTX_RSI: usize = 0xa8;
const CTX_RDI: usize = 0xb0;
const CTX_R8: usize = 0xb8;
const CTX_RIP: usize = 0xf8;
/// CONTEXT.FltSave: the fxsave image (XMM_SAVE_AREA32, 512 bytes).
const CTX_FLTSAVE: usize = 0x100;
/// Where the xsave image starts after the CONTEXT copy (xsave wants 64-byte alignment).
const XSAVE_OFFSET: usize = CONTEXT_SIZE.next_multiple_of(64);
/// The XSAVE header: 64 bytes after the 512-byte legacy region; XRSTOR faults unless its bytes
/// after XSTATE_BV are zero (XSAVE writes only XSTATE_BV).
const XSAVE_HEADER: usize = 512;
/// RFLAGS' direction flag (clear at a call, as the ABI wants).
const EFLAGS_DF: u32 = 0x400;

/// The XSAVE components saved: x87, SSE, AVX, and AVX-512's opmask, ZMM_Hi256 and Hi16_ZMM
/// (bits 0-2, 5-7). Not the AMX tiles (8 KB of tile data: more than a save area holds; a
/// goroutine using AMX must run with asyncpreemptoff=1) nor PKRU (a protection-key register, not
/// computation state). xsave/xrstor take it as their mask, ANDed with XCR0 by the CPU.
const XSAVE_MASK: u32 = 0b1110_0111;

/// Bytes of the xsave image for `XSAVE_MASK`'s components that the OS enabled (XCR0), in the
/// standard format: the end of the furthest one (CPUID.(EAX=0DH,ECX=i): EBX its offset, EAX
/// its size), at least the legacy region and header. 0 when XSAVE is not enabled (no OSXSAVE)
/// or the image does not fit the save area: then only the fxsave part (xmm0-15) is kept. Read
/// once, then cached (`usize::MAX`: not read yet).
fn xsave_size() -> usize {
    static SIZE: AtomicUsize = AtomicUsize::new(usize::MAX);
    let mut n = SIZE.load(Ordering::Relaxed);
    if n == usize::MAX {
        use core::arch::x86_64::{__cpuid, __cpuid_count};
        n = 0;
        // CPUID exists on every x86-64; leaf 0DH is valid when OSXSAVE is set.
        if __cpuid(0).eax >= 0xd && __cpuid(1).ecx & (1 << 27) != 0 {
            let (lo, _hi): (u32, u32);
            // SAFETY: OSXSAVE is set, so xgetbv is enabled; XCR0 is register 0.
            unsafe {
                core::arch::asm!("xgetbv", in("ecx") 0, out("eax") lo, out("edx") _hi,
                    options(nomem, nostack, preserves_flags))
            };
            n = XSAVE_HEADER + 64;
            for i in [2, 5, 6, 7] {
                if lo & XSAVE_MASK & (1 << i) != 0 {
                    let c = __cpuid_count(0xd, i);
                    n = n.max((c.ebx + c.eax) as usize);
                }
            }
            if FIXUP_STACK + XSAVE_OFFSET + n > SAVE_AREA {
                n = 0;
            }
        }
        // Racing first uses store the same value.
        SIZE.store(n, Ordering::Relaxed);
    }
    n
}

/// GetThreadContext's flags (everything restored at resume) and SetThreadContext's (control
/// and integer: the floating-point state stays as it is, for xsave_gosched to save).
pub(super) const FLAGS_GET: u32 = CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_FLOATING_POINT;
pub(super) const FLAGS_SET: u32 = CONTEXT_CONTROL | CONTEXT_INTEGER;

/// pc and sp of a CONTEXT.
///
/// # Safety
/// `c` is a whole CONTEXT.
pub(super) unsafe fn pc_sp(c: *const u8) -> (usize, usize) {
    // SAFETY: as the contract.
    unsafe { (*(c.add(CTX_RIP) as *const usize), *(c.add(CTX_RSP) as *const usize)) }
}

/// Copies the CONTEXT into the save area `area` above its iretq room, with `last_error` in the
/// copy's unused P1Home slot; returns the copy, which is also the resume's sp.
///
/// # Safety
/// `c` is a whole CONTEXT; `area` a save area (SAVE_AREA bytes, page-aligned) owned by us.
pub(super) unsafe fn save_context(c: *const u8, area: *mut u8, last_error: u32) -> (*mut u8, usize) {
    const _: () = assert!(FIXUP_STACK + CONTEXT_SIZE <= SAVE_AREA && FIXUP_STACK.is_multiple_of(16));
    // SAFETY: as the contract; areas are page-aligned (sys_alloc, SAVE_AREA a multiple of
    // pages): the copy is 16-aligned.
    unsafe {
        let save = area.add(FIXUP_STACK);
        ptr::copy_nonoverlapping(c, save, CONTEXT_SIZE);
        *(save.add(CTX_P1HOME) as *mut u32) = last_error;
        (save, save as usize)
    }
}

/// Sets the thread's registers to call `gopreempt_m(gp)` on g0's stack as mcall would (Win64:
/// rcx = gp, 32 bytes of shadow space, a null return address), through `xsave_gosched` when
/// the vector state beyond xmm is to be saved (the module doc): its image goes after the copy
/// `save`, whose P2Home records where (0: none).
///
/// # Safety
/// `c` is a whole CONTEXT; g0 is the M's g0 (its stack is not in use: the thread runs gp);
/// `save` is save_context's copy.
pub(super) unsafe fn aim_at_gosched(c: *mut u8, gp: *mut G, g0: *mut G, save: *mut u8) {
    // SAFETY: as the contract.
    unsafe {
        let mut entry = crate::proc::gopreempt_m as *const () as usize;
        let mut xs = 0;
        if xsave_size() != 0 {
            xs = save.add(XSAVE_OFFSET) as usize;
            ptr::write_bytes((xs + XSAVE_HEADER) as *mut u8, 0, 64);
            entry = xsave_gosched as *const () as usize;
            *(c.add(CTX_RDX) as *mut usize) = xs;
        }
        *(save.add(CTX_P2HOME) as *mut usize) = xs;
        let sp = ((*g0).sched.sp & !15) - 40; // return address + 32 bytes shadow space
        *(sp as *mut usize) = 0;
        *(c.add(CTX_RIP) as *mut usize) = entry;
        *(c.add(CTX_RSP) as *mut usize) = sp;
        *(c.add(CTX_RCX) as *mut usize) = gp as usize;
        *(c.add(CTX_EFLAGS) as *mut u32) &= !EFLAGS_DF;
    }
}

/// Where a redirected thread starts when XSAVE is on: rcx = the goroutine, rdx = its xsave image
/// (in its save area, 64-aligned, header zeroed), rsp as for `gopreempt_m`'s entry. Saves the
/// whole vector state the thread still holds from the goroutine (SetThreadContext did not touch
/// it), then continues into `gopreempt_m(gp)`.
///
/// # Safety
/// Only as `redirect` enters it.
#[unsafe(naked)]
unsafe extern "C" fn xsave_gosched() {
    naked_asm!(
        "mov r8, rdx",
        "mov eax, {mask}", // XSAVE_MASK's components (the CPU ANDs it with XCR0)
        "xor edx, edx",
        "xsave64 [r8]",
        "jmp {gopreempt_m}",
        gopreempt_m = sym crate::proc::gopreempt_m,
        mask = const XSAVE_MASK,
    )
}

/// Entered by gogo for a goroutine preempted asynchronously, with the save area as stack and
/// the saved CONTEXT's address in rcx: restores the goroutine's registers exactly and continues
/// at the interrupted instruction (the module doc).
///
/// # Safety
/// Only through gogo with the gobuf `redirect` prepared.
#[unsafe(naked)]
pub unsafe extern "C" fn context_resume() {
    naked_asm!(
        "mov r8, qword ptr [rcx + {p2home}]",   // the xsave image, if xsave_gosched made one
        "test r8, r8",
        "jz 2f",
        "mov eax, {mask}",
        "xor edx, edx",
        "xrstor64 [r8]",                        // everything: x87, xmm, ymm/zmm upper halves, k
        "jmp 3f",
        "2:",
        "fxrstor64 [rcx + {fltsave}]",          // x87/MMX, xmm0-15, MXCSR
        "3:",
        "mov eax, dword ptr [rcx + {p1home}]",  // GetLastError's value
        "mov dword ptr gs:[{last_error}], eax",
        "xor eax, eax",                         // iretq frame: ss, rsp, rflags, cs, rip
        "mov ax, ss",
        "push rax",
        "push qword ptr [rcx + {rsp}]",
        "mov eax, dword ptr [rcx + {eflags}]",
        "push rax",
        "xor eax, eax",
        "mov ax, cs",
        "push rax",
        "push qword ptr [rcx + {rip}]",
        "mov rax, qword ptr [rcx + {rax}]",
        "mov rdx, qword ptr [rcx + {rdx}]",
        "mov rbx, qword ptr [rcx + {rbx}]",
        "mov rbp, qword ptr [rcx + {rbp}]",
        "mov rsi, qword ptr [rcx + {rsi}]",
        "mov rdi, qword ptr [rcx + {rdi}]",
        "mov r8, qword ptr [rcx + {r8}]",
        "mov r9, qword ptr [rcx + {r8} + 8]",
        "mov r10, qword ptr [rcx + {r8} + 16]",
        "mov r11, qword ptr [rcx + {r8} + 24]",
        "mov r12, qword ptr [rcx + {r8} + 32]",
        "mov r13, qword ptr [rcx + {r8} + 40]",
        "mov r14, qword ptr [rcx + {r8} + 48]",
        "mov r15, qword ptr [rcx + {r8} + 56]",
        "mov rcx, qword ptr [rcx + {rcx}]",
        "iretq",
        fltsave = const CTX_FLTSAVE,
        p1home = const CTX_P1HOME,
        p2home = const CTX_P2HOME,
        mask = const XSAVE_MASK,
        last_error = const TEB_LAST_ERROR,
        rsp = const CTX_RSP,
        eflags = const CTX_EFLAGS,
        rip = const CTX_RIP,
        rax = const CTX_RAX,
        rcx = const CTX_RCX,
        rdx = const CTX_RDX,
        rbx = const CTX_RBX,
        rbp = const CTX_RBP,
        rsi = const CTX_RSI,
        rdi = const CTX_RDI,
        r8 = const CTX_R8,
    )
}

/// The resume trap of the targets that resume through one (darwin, windows/arm64): none here.
///
/// # Safety
/// None: `_ctx` is not read.
pub unsafe fn resume_trap(_ctx: *mut u8) -> bool {
    false
}
