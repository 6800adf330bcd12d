//! Asynchronous preemption on windows (Go's preemptM in os_windows.go): no signals, so the
//! preempting thread (sysmon, or a stop-the-world) does from outside what linux's handler does
//! from inside. This file is the part both arches share; the CONTEXT layout, the redirect and
//! the resume routine are per arch: preempt_amd64.rs (runs under wine, on by default) and
//! preempt_arm64.rs (built, never run: off unless GODEBUG=asyncpreemptoff=0). windows/arm
//! (thumbv7a) has none (sys/preempt_none.rs).
//!
//! `preempt_thread(mp)`: under `SUSPEND` (Go's suspendLock: two threads suspending each other
//! would deadlock) and the M's `preempt_ext_lock` (an exiting thread takes it first: see
//! `sys::exit`) SuspendThread on the M's thread handle (minit duplicated it), then
//! GetThreadContext (CONTEXT_FULL: control, integer and floating-point registers), which also
//! waits until the thread is really stopped. The goroutine it was running is the one in its TLS
//! g slot (read through the M's TEB), and the preemption goes ahead only if preempt.rs's
//! `async_safe_point` rules hold for the context's sp and, windows' own rule, the context's pc
//! lies in the program's image (`pc_in_image`): a thread stopped inside a system DLL may hold
//! the loader or heap lock, which the scheduler's own Win32 calls would then wait for, and
//! inside ntdll it may be in a system call. Then the arch's `redirect` saves the context in the
//! goroutine's save area and sends the thread into `gopreempt_m` on g0 (SetThreadContext), and
//! ResumeThread lets it go.

use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::gmp::{G, M};
use crate::lock_futex::Mutex;
use crate::preempt::{async_safe_point, want_async_preempt, ASYNC_PREEMPTS, DECLINED, DECLINED_FRAME};
use crate::sys as os;

#[cfg_attr(target_arch = "x86_64", path = "preempt_amd64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "preempt_arm64.rs")]
#[cfg_attr(target_arch = "arm", path = "preempt_arm.rs")]
mod arch;
pub use arch::*;

/// Windows interrupts a thread with SuspendThread.
pub const SUPPORTED: bool = true;

/// TEB offset of LastErrorValue (64-bit TEB: x64 and arm64; 32-bit: arm).
const TEB_LAST_ERROR: usize = if size_of::<usize>() == 8 { 0x68 } else { 0x34 };

#[link(name = "kernel32", kind = "raw-dylib")]
extern "system" {
    fn SuspendThread(h: usize) -> u32;
    fn ResumeThread(h: usize) -> u32;
    fn GetThreadContext(h: usize, ctx: *mut u8) -> i32;
    fn SetThreadContext(h: usize, ctx: *const u8) -> i32;
    fn GetModuleHandleA(name: *const u8) -> usize;
}

/// The CONTEXT buffer for the thread being redirected, 16-aligned as GetThreadContext wants.
#[repr(C, align(16))]
struct Scratch([u8; arch::CONTEXT_SIZE]);

/// Go's suspendLock: one thread at a time suspends another (two suspending each other, or the
/// same one, would deadlock or mix up contexts). Holds the scratch CONTEXT.
static SUSPEND: Mutex<Scratch> = Mutex::new(Scratch([0; arch::CONTEXT_SIZE]));

/// The program's image `[base, base + SizeOfImage)`, read from its PE header on first use.
static IMAGE: (AtomicUsize, AtomicUsize) = (AtomicUsize::new(0), AtomicUsize::new(0));

/// Whether `pc` lies in the program's own image (not in a system DLL).
fn pc_in_image(pc: usize) -> bool {
    let mut base = IMAGE.0.load(Ordering::Relaxed);
    if base == 0 {
        // SAFETY: GetModuleHandleA(null) is the exe's base, where its PE headers are mapped:
        // e_lfanew at 0x3c, the optional header 24 bytes into the NT headers, SizeOfImage at 56
        // in it.
        unsafe {
            base = GetModuleHandleA(ptr::null());
            let nt = base + *((base + 0x3c) as *const u32) as usize;
            let size = *((nt + 24 + 56) as *const u32) as usize;
            IMAGE.1.store(base + size, Ordering::Relaxed);
        }
        // Racing first uses store the same values.
        IMAGE.0.store(base, Ordering::Relaxed);
    }
    pc >= base && pc < IMAGE.1.load(Ordering::Relaxed)
}

/// Go's preemptM for windows: suspends `mp`'s thread and, if it is at an async-safe point,
/// redirects it into `gopreempt_m` on g0 (the module doc). Otherwise counts a decline; sysmon asks
/// again at its next tick.
pub fn preempt_thread(mp: *mut M) {
    let mut scratch = SUSPEND.lock();
    // SAFETY: Ms are never freed; mp.thread is minit's handle (thread_exit clears it under
    // SUSPEND, held); a suspended thread cannot change its TEB, stack or context under us.
    unsafe {
        let h = (*mp).thread;
        if h == 0 || (*mp).teb == 0 || (*mp).curg.is_null() {
            return;
        }
        // Not while the thread is on its way into ExitProcess (sys::exit holds the lock for
        // good then); and while we hold it, sys::exit waits until the thread is resumed.
        // Acquire/Release pair with sys::exit's.
        if (*mp).preempt_ext_lock.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
            DECLINED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if SuspendThread(h) != u32::MAX {
            redirect(mp, h, &mut scratch.0);
            ResumeThread(h);
        }
        (*mp).preempt_ext_lock.store(0, Ordering::Release);
    }
}

/// The body of `preempt_thread` while the thread is suspended: reads its CONTEXT, applies the
/// rules (the g is the one sysmon asked, at an async-safe point, in the program's image), copies
/// the CONTEXT and the TEB's LastErrorValue into the goroutine's save area, and sends the thread
/// into `gopreempt_m(gp)` on g0 with SetThreadContext; the goroutine resumes through
/// `arch::resume_pc`. What differs per arch is in `arch`: where pc and sp are (`pc_sp`), where
/// the copy goes in the save area (`save_context`) and how the thread is aimed at gopreempt_m
/// (`aim_at_gosched`).
///
/// # Safety
/// `h` is `mp`'s thread, suspended by the caller, who holds SUSPEND (`ctx` is its scratch).
unsafe fn redirect(mp: *mut M, h: usize, ctx: &mut [u8; arch::CONTEXT_SIZE]) {
    let c = ctx.as_mut_ptr();
    // SAFETY: as the contract; c is a 16-aligned CONTEXT-sized buffer; the TEB and the g it
    // names belong to a thread that is stopped (GetThreadContext returns once it is).
    unsafe {
        *(c.add(arch::CTX_FLAGS) as *mut u32) = arch::FLAGS_GET;
        if GetThreadContext(h, c) == 0 {
            DECLINED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let teb = (*mp).teb;
        let gp = *((teb + os::TLS_G.load(Ordering::Relaxed)) as *const *mut G);
        if gp.is_null() || (*gp).m != mp || !want_async_preempt(gp) {
            return;
        }
        let (pc, sp) = arch::pc_sp(c);
        if !pc_in_image(pc) || !async_safe_point(gp, mp, pc, sp) {
            DECLINED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut area = (*gp).preempt_save;
        let own = !area.is_null();
        if !own {
            area = (*mp).preempt_spare.swap(ptr::null_mut(), Ordering::AcqRel);
        }
        if area.is_null() {
            DECLINED_FRAME.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let (save, resume_sp) = arch::save_context(c, area, *((teb + TEB_LAST_ERROR) as *const u32));
        let g0 = (*mp).g0;
        arch::aim_at_gosched(c, gp, g0, save);
        *(c.add(arch::CTX_FLAGS) as *mut u32) = arch::FLAGS_SET;
        if SetThreadContext(h, c) == 0 {
            if !own {
                (*mp).preempt_spare.store(area, Ordering::Release);
            }
            DECLINED_FRAME.fetch_add(1, Ordering::Relaxed);
            return;
        }
        (*gp).preempt_save = area;
        // g0 current, and the TEB's stack bounds on g0's stack, as mcall's switch leaves them.
        *((teb + os::TLS_G.load(Ordering::Relaxed)) as *mut *mut G) = g0;
        let (hi, lo) = ((*g0).stack.hi, (*g0).stack.lo);
        *((teb + os::TEB_STACKBASE) as *mut usize) = hi;
        *((teb + os::TEB_STACKLIMIT) as *mut usize) = lo;
        *((teb + os::TEB_DEALLOCATIONSTACK) as *mut usize) = lo - os::STACK_GUARD;
        // Read by whichever thread runs gp next, after the target has put it on the global run
        // queue (under sched.lock) once ResumeThread lets it go: these writes happen before.
        (*gp).sched.pc = arch::resume_pc();
        (*gp).sched.sp = resume_sp;
        (*gp).sched.ctx = save as usize;
        (*gp).sched.g = gp;
        ASYNC_PREEMPTS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Forgets an exiting M's thread handle (Go's mdestroy closes mp.thread), under SUSPEND so that
/// no preemption is using it.
///
/// # Safety
/// `mp` is the calling thread's M, which is exiting.
pub unsafe fn thread_exit(mp: *mut M) {
    let _s = SUSPEND.lock();
    // SAFETY: as the contract; nobody else uses the handle once it is cleared under SUSPEND.
    unsafe {
        let h = (*mp).thread;
        (*mp).thread = 0;
        if h != 0 {
            os::close_handle(h);
        }
    }
}
