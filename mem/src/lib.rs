//! `memcpy`, `memmove`, `memset`, `memcmp` and `bcmp` for gort programs, which link no libc.
//!
//! LLVM lowers struct copies and slice fills to calls of these symbols, so somebody must define them.
//! This crate is `#![no_builtins]`: without it LLVM recognises the loops below as a memcpy idiom and
//! turns them back into a call to `memcpy` itself (HACKING.md wall 1). gort links it only in
//! non-test builds; host unit tests use the C library's versions.
#![no_std]
#![no_builtins]

use core::mem::size_of;

const WORD: usize = size_of::<usize>();

/// Copies `n` bytes from `src` to `dst`; the ranges must not overlap.
///
/// # Safety
/// `dst` and `src` must be valid for `n` bytes and must not overlap.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `rep movsb` copies rcx bytes from [rsi] to [rdi] forwards; the caller guarantees
    // both ranges are valid and disjoint. The direction flag is clear per the SysV ABI.
    unsafe {
        core::arch::asm!("rep movsb", inout("rcx") n => _, inout("rdi") dst => _,
            inout("rsi") src => _, options(nostack, preserves_flags));
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: forwards copy within ranges the caller guarantees valid and disjoint.
    unsafe {
        copy_forward(dst, src, n)
    };
    dst
}

/// Copies `n` bytes from `src` to `dst`; the ranges may overlap.
///
/// # Safety
/// `dst` and `src` must be valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize).wrapping_sub(src as usize) >= n {
        // dst is below src or past its end: a forward copy never reads a byte it already wrote.
        // SAFETY: ranges valid per the caller; forward order is safe for this overlap.
        unsafe { memcpy_forward_overlapping(dst, src, n) };
    } else {
        // dst lies inside (src, src+n): copy from the end.
        let mut i = n;
        while i > 0 {
            i -= 1;
            // SAFETY: i < n, both ranges valid for n bytes.
            unsafe { *dst.add(i) = *src.add(i) };
        }
    }
    dst
}

/// Forward copy that tolerates `dst < src` overlap (byte-at-a-time where words could overlap).
///
/// # Safety
/// `dst` and `src` valid for `n` bytes, and `dst` not inside `(src, src+n)`.
unsafe fn memcpy_forward_overlapping(dst: *mut u8, src: *const u8, n: usize) {
    if (src as usize).wrapping_sub(dst as usize) >= WORD {
        // SAFETY: words never overlap when src is at least a word above dst.
        unsafe { copy_forward(dst, src, n) }
    } else {
        for i in 0..n {
            // SAFETY: i < n.
            unsafe { *dst.add(i) = *src.add(i) };
        }
    }
}

/// Word-at-a-time forward copy: bytes until `dst` is word-aligned, then aligned words when `src`
/// is aligned too (else bytes), then the tail.
///
/// Only plain aligned loads and stores: `read_unaligned`/`write_unaligned` are themselves a
/// memcpy of one word, which an unoptimized build (a user crate's default dev profile) lowers to
/// a call of `memcpy` (on arm `__aeabi_memcpy`, which calls `memcpy`): infinite recursion.
///
/// # Safety
/// `dst` and `src` valid for `n` bytes; `src` not within a word above `dst` unless disjoint.
#[allow(dead_code)]
unsafe fn copy_forward(dst: *mut u8, src: *const u8, n: usize) {
    let mut i = 0;
    while i < n && !(dst as usize + i).is_multiple_of(WORD) {
        // SAFETY: i < n.
        unsafe { *dst.add(i) = *src.add(i) };
        i += 1;
    }
    if (src as usize + i).is_multiple_of(WORD) {
        while i + WORD <= n {
            // SAFETY: i + WORD <= n keeps the word in bounds; both addresses are word-aligned.
            unsafe { *(dst.add(i) as *mut usize) = *(src.add(i) as *const usize) };
            i += WORD;
        }
    }
    while i < n {
        // SAFETY: i < n.
        unsafe { *dst.add(i) = *src.add(i) };
        i += 1;
    }
}

/// Fills `n` bytes at `dst` with the low byte of `c`.
///
/// # Safety
/// `dst` must be valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `rep stosb` stores al into rcx bytes at [rdi]; the caller guarantees the range.
    unsafe {
        core::arch::asm!("rep stosb", inout("rcx") n => _, inout("rdi") dst => _,
            in("al") c as u8, options(nostack, preserves_flags));
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let b = c as u8;
        // b in every byte (not `[b; WORD]`: an unoptimized build fills that array with memset).
        let word = (b as usize) * (usize::MAX / 0xff);
        let mut i = 0;
        while i < n && !(dst as usize + i).is_multiple_of(WORD) {
            // SAFETY: i < n.
            unsafe { *dst.add(i) = b };
            i += 1;
        }
        while i + WORD <= n {
            // SAFETY: in bounds, and word-aligned (plain stores: see copy_forward).
            unsafe { *(dst.add(i) as *mut usize) = word };
            i += WORD;
        }
        while i < n {
            // SAFETY: i < n.
            unsafe { *dst.add(i) = b };
            i += 1;
        }
    }
    dst
}

/// Compares `n` bytes; returns <0, 0 or >0 like C's memcmp.
///
/// # Safety
/// `a` and `b` must be valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: i < n.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return x as i32 - y as i32;
        }
    }
    0
}

/// Equality-only comparison: 0 when equal, non-zero otherwise.
///
/// # Safety
/// `a` and `b` must be valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    if (a as usize).is_multiple_of(WORD) && (b as usize).is_multiple_of(WORD) {
        while i + WORD <= n {
            // SAFETY: in bounds, and word-aligned (plain loads: see copy_forward).
            let (x, y) = unsafe { (*(a.add(i) as *const usize), *(b.add(i) as *const usize)) };
            if x != y {
                return 1;
            }
            i += WORD;
        }
    }
    // SAFETY: the tail is in bounds.
    unsafe { memcmp(a.add(i), b.add(i), n - i) }
}

/// `strlen`, which LLVM may emit for C-string helpers.
///
/// # Safety
/// `s` must point at a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller guarantees a terminator.
    while unsafe { *s.add(n) } != 0 {
        n += 1;
    }
    n
}

/// `bzero`: LLVM lowers zero fills to it on Apple targets (arm64 spells it `bzero`).
///
/// # Safety
/// `dst` must be valid for `n` bytes.
#[cfg(target_vendor = "apple")]
#[no_mangle]
pub unsafe extern "C" fn bzero(dst: *mut u8, n: usize) {
    // SAFETY: forwarded to the caller.
    unsafe { memset(dst, 0, n) };
}

/// `__bzero`: LLVM's name for `bzero` on x86_64 Apple targets.
///
/// # Safety
/// `dst` must be valid for `n` bytes.
#[cfg(target_vendor = "apple")]
#[no_mangle]
pub unsafe extern "C" fn __bzero(dst: *mut u8, n: usize) {
    // SAFETY: forwarded to the caller.
    unsafe { memset(dst, 0, n) };
}
