//! The running program's own image: where its unwind tables are in memory, and which function
//! holds a pc (Go's symtab.go: `findfunc`, `funcname`). Linux (ELF64 on amd64 and arm64, ELF32 on
//! arm).
//!
//! **Unwind tables.** The kernel tells us where the program headers are (auxv AT_PHDR, AT_PHNUM).
//! The load bias is AT_PHDR minus the PT_PHDR header's p_vaddr (0 for gort's static non-PIE
//! programs, the load address for a static-pie one; without a PT_PHDR, the PT_LOAD that maps file
//! offset 0 must hold an ELF header whose e_phoff leads to AT_PHDR). PT_GNU_EH_FRAME is
//! `.eh_frame_hdr`, whose binary-search table finds the FDE for a pc (traceback/); `.eh_frame`
//! runs from the address `.eh_frame_hdr` gives to the end of the PT_LOAD that holds it. On arm,
//! PT_ARM_EXIDX is `.ARM.exidx` instead (traceback/exidx.rs), whose `.ARM.extab` entries must lie
//! in a PT_LOAD (`in_loaded_segment`).
//!
//! **Function names.** `.symtab` is not loaded into memory, so the first traceback maps the
//! executable read-only (`mmap` of AT_EXECFN, else `/proc/self/exe`, raw system calls, no heap),
//! after checking that its program headers are byte for byte the ones in memory (so a file
//! replaced since exec is not believed). A pc minus the load bias is a link-time address; the
//! STT_FUNC symbol whose `[st_value, st_value + st_size)` holds it names the frame, demangled by
//! demangle.rs without the hash; an arm Thumb function's odd st_value has bit 0
//! cleared. A stripped program (no `.symtab`), or one whose
//! file cannot be read, gets no names: traceback prints `?()` and `exe+0xADDR` instead, where
//! ADDR is the link-time address `addr2line -f -e exe 0xADDR` resolves.

use core::fmt::{self, Write};

/// Elf_Phdr.p_type values used here.
const PT_LOAD: u32 = 1;
const PT_PHDR: u32 = 6;
const PT_GNU_EH_FRAME: u32 = 0x6474_e550;
/// `.ARM.exidx` (arm's EHABI unwind index, traceback/exidx.rs).
const PT_ARM_EXIDX: u32 = 0x7000_0001;
const SHT_SYMTAB: u32 = 2;
const STT_FUNC: u8 = 2;

/// An ELF class: where the fields read here sit in its headers, symbols and program headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Class {
    /// Bytes of an address-sized field (8 for ELFCLASS64, 4 for ELFCLASS32).
    word: usize,
    /// Size of an Elf_Phdr, Elf_Shdr, Elf_Sym.
    phdr: usize,
    shdr: usize,
    sym: usize,
    /// e_ident[EI_CLASS].
    ident: u8,
}

impl Class {
    /// ELFCLASS64 (amd64, arm64).
    #[cfg_attr(target_pointer_width = "32", allow(dead_code))] // the unit tests use both classes
    pub const ELF64: Class = Class { word: 8, phdr: 56, shdr: 64, sym: 24, ident: 2 };
    /// ELFCLASS32 (arm).
    #[cfg_attr(target_pointer_width = "64", allow(dead_code))] // the unit tests use both classes
    pub const ELF32: Class = Class { word: 4, phdr: 32, shdr: 40, sym: 16, ident: 1 };
    /// The running program's class.
    #[cfg(target_pointer_width = "64")]
    pub const NATIVE: Class = Class::ELF64;
    /// The running program's class.
    #[cfg(target_pointer_width = "32")]
    pub const NATIVE: Class = Class::ELF32;

    /// An address-sized field at `off`.
    fn word_at(self, b: &[u8], off: usize) -> Option<usize> {
        if self.word == 8 {
            u64_at(b, off)
        } else {
            u32_at(b, off).map(|v| v as usize)
        }
    }
    /// The offsets of e_phoff, e_shoff, e_shentsize, e_shnum in the ELF header.
    fn ehdr(self) -> (usize, usize, usize, usize) {
        if self.word == 8 {
            (0x20, 0x28, 0x3a, 0x3c)
        } else {
            (0x1c, 0x20, 0x2e, 0x30)
        }
    }
}

/// The program's image in memory: its load bias and unwind sections (runtime addresses).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Image {
    /// Runtime address minus link-time address.
    pub bias: usize,
    /// `.eh_frame_hdr`'s address (0: none, as on arm).
    pub eh_frame_hdr: usize,
    /// Length of `.eh_frame_hdr`.
    pub eh_frame_hdr_len: usize,
    /// End of the PT_LOAD segment holding `.eh_frame_hdr` (`.eh_frame` lies before it).
    pub segment_end: usize,
    /// `.ARM.exidx` (PT_ARM_EXIDX): address and length (0: none, as off arm).
    pub exidx: usize,
    /// Length of `.ARM.exidx` in bytes.
    pub exidx_len: usize,
    /// AT_PHDR and AT_PHNUM.
    pub phdr: usize,
    /// Number of program headers.
    pub phnum: usize,
}

/// One Elf_Phdr's fields that matter here.
#[derive(Clone, Copy)]
struct Phdr {
    p_type: u32,
    p_offset: usize,
    p_vaddr: usize,
    p_memsz: usize,
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], off: usize) -> Option<usize> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?) as usize)
}

fn parse_phdr(c: Class, b: &[u8]) -> Option<Phdr> {
    let w = c.word;
    // Elf64: type flags offset vaddr paddr filesz memsz; Elf32: type offset vaddr paddr filesz
    // memsz flags.
    let (off, vaddr, memsz) = if w == 8 { (8, 16, 40) } else { (4, 8, 20) };
    Some(Phdr {
        p_type: u32_at(b, 0)?,
        p_offset: c.word_at(b, off)?,
        p_vaddr: c.word_at(b, vaddr)?,
        p_memsz: c.word_at(b, memsz)?,
    })
}

/// Finds the unwind tables and load bias from the program header table `phdrs` (the bytes at
/// AT_PHDR, of class `c`), which is mapped at runtime address `phdr`. `ehdr_phoff(addr)` reads
/// e_phoff of an ELF header at a runtime address (used only when there is no PT_PHDR). None
/// without a PT_GNU_EH_FRAME or a PT_ARM_EXIDX.
pub fn image_from_phdrs(
    c: Class,
    phdrs: &[u8],
    phdr: usize,
    ehdr_phoff: impl Fn(usize) -> Option<usize>,
) -> Option<Image> {
    let phnum = phdrs.len() / c.phdr;
    let ph = |i: usize| parse_phdr(c, &phdrs[i * c.phdr..(i + 1) * c.phdr]);
    let ehdr_size = if c.word == 8 { 64 } else { 52 };
    let mut bias = None;
    for i in 0..phnum {
        let p = ph(i)?;
        if p.p_type == PT_PHDR {
            bias = Some(phdr.wrapping_sub(p.p_vaddr));
        }
    }
    if bias.is_none() {
        // No PT_PHDR: the segment mapping file offset 0 starts with the ELF header.
        for i in 0..phnum {
            let p = ph(i)?;
            if p.p_type == PT_LOAD && p.p_offset == 0 {
                let b = phdr.wrapping_sub(p.p_vaddr).wrapping_sub(ehdr_size);
                if ehdr_phoff(p.p_vaddr.wrapping_add(b)) == Some(ehdr_size) {
                    bias = Some(b);
                }
            }
        }
    }
    let bias = bias?;
    let mut img =
        Image { bias, eh_frame_hdr: 0, eh_frame_hdr_len: 0, segment_end: 0, exidx: 0, exidx_len: 0, phdr, phnum };
    for i in 0..phnum {
        let p = ph(i)?;
        if p.p_type == PT_ARM_EXIDX {
            (img.exidx, img.exidx_len) = (p.p_vaddr.wrapping_add(bias), p.p_memsz);
        }
        if p.p_type != PT_GNU_EH_FRAME {
            continue;
        }
        let (hdr_vaddr, hdr_len) = (p.p_vaddr, p.p_memsz);
        for j in 0..phnum {
            let l = ph(j)?;
            if l.p_type == PT_LOAD && l.p_vaddr <= hdr_vaddr && hdr_vaddr + hdr_len <= l.p_vaddr + l.p_memsz {
                img.eh_frame_hdr = hdr_vaddr.wrapping_add(bias);
                img.eh_frame_hdr_len = hdr_len;
                img.segment_end = (l.p_vaddr + l.p_memsz).wrapping_add(bias);
            }
        }
    }
    (img.eh_frame_hdr != 0 || img.exidx != 0).then_some(img)
}

/// The running program's image, from auxv's AT_PHDR/AT_PHNUM; None if auxv gave none or the
/// headers have neither PT_GNU_EH_FRAME nor PT_ARM_EXIDX (a program without unwind tables).
#[cfg(target_os = "linux")]
pub fn image() -> Option<Image> {
    let (phdr, phnum, _) = crate::sys::exe_auxv();
    if phdr == 0 || phnum == 0 || phnum > 256 {
        return None;
    }
    let c = Class::NATIVE;
    // SAFETY: the kernel maps the program headers at AT_PHDR for the life of the process.
    let phdrs = unsafe { core::slice::from_raw_parts(phdr as *const u8, phnum * c.phdr) };
    image_from_phdrs(c, phdrs, phdr, |ehdr| {
        // SAFETY: only reached for the runtime address of the PT_LOAD that maps file offset 0,
        // which the kernel mapped (readable) with the program; its first 0x28 bytes are the
        // start of the ELF header (0x24 bytes of Elf32_Ehdr's 52 reach e_phoff too).
        let b = unsafe { core::slice::from_raw_parts(ehdr as *const u8, 0x28) };
        (b[..4] == *b"\x7fELF").then(|| c.word_at(b, c.ehdr().0)).flatten()
    })
}

/// Whether `[addr, addr + len)` lies inside one PT_LOAD segment of the running image (memory
/// the program was loaded into, readable for its life). arm's `.ARM.extab` entries are checked
/// with it, and on arm and arm64 the code before an interrupted pc (`sys::code_mapped`).
#[cfg(all(target_os = "linux", any(target_arch = "arm", target_arch = "aarch64")))]
pub fn in_loaded_segment(img: &Image, addr: usize, len: usize) -> bool {
    let c = Class::NATIVE;
    // SAFETY: the kernel maps the program headers at AT_PHDR for the life of the process.
    let phdrs = unsafe { core::slice::from_raw_parts(img.phdr as *const u8, img.phnum * c.phdr) };
    let Some(end) = addr.checked_add(len) else { return false };
    phdrs.chunks_exact(c.phdr).filter_map(|b| parse_phdr(c, b)).any(|p| {
        let start = p.p_vaddr.wrapping_add(img.bias);
        p.p_type == PT_LOAD && start <= addr && end <= start.wrapping_add(p.p_memsz)
    })
}

/// A symbol table in an ELF file image: the `.symtab` entries and their string table.
#[derive(Clone, Copy)]
pub struct Symtab<'a> {
    class: Class,
    syms: &'a [u8],
    strtab: &'a [u8],
}

/// The `.symtab` of the little-endian ELF file `file` of class `c`, or None (stripped, or not
/// such a file).
pub fn symtab_of(c: Class, file: &[u8]) -> Option<Symtab<'_>> {
    if file.get(..6)? != [0x7f, b'E', b'L', b'F', c.ident, 1] {
        return None;
    }
    let (_, e_shoff, e_shentsize, e_shnum) = c.ehdr();
    let shoff = c.word_at(file, e_shoff)?;
    let shentsize = u16_at(file, e_shentsize)? as usize;
    let shnum = u16_at(file, e_shnum)? as usize;
    if shentsize != c.shdr {
        return None;
    }
    let shdr = |i: usize| file.get(shoff.checked_add(i.checked_mul(c.shdr)?)?..).and_then(|s| s.get(..c.shdr));
    // sh_offset, sh_size, sh_link (sh_type is at 4 in both classes).
    let (o_off, o_size, o_link) = if c.word == 8 { (24, 32, 40) } else { (16, 20, 24) };
    for i in 0..shnum {
        let sh = shdr(i)?;
        if u32_at(sh, 4)? != SHT_SYMTAB {
            continue;
        }
        let (off, size, link) = (c.word_at(sh, o_off)?, c.word_at(sh, o_size)?, u32_at(sh, o_link)? as usize);
        let syms = file.get(off..off.checked_add(size)?)?;
        let st = shdr(link)?;
        let (soff, ssize) = (c.word_at(st, o_off)?, c.word_at(st, o_size)?);
        let strtab = file.get(soff..soff.checked_add(ssize)?)?;
        return Some(Symtab { class: c, syms, strtab });
    }
    None
}

/// The contents of the section named `name` of the 64-bit little-endian ELF file `file`, or
/// None (no such section, a compressed one, or not such a file).
#[cfg_attr(not(feature = "traceback-lines"), allow(dead_code))]
pub fn section<'a>(file: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    const SHDR_SIZE: usize = 64;
    const SHF_COMPRESSED: usize = 0x800;
    const SHT_NOBITS: u32 = 8;
    if file.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let shoff = u64_at(file, 0x28)?;
    let shnum = u16_at(file, 0x3c)? as usize;
    let shstrndx = u16_at(file, 0x3e)? as usize;
    if u16_at(file, 0x3a)? as usize != SHDR_SIZE {
        return None;
    }
    let shdr = |i: usize| file.get(shoff.checked_add(i.checked_mul(SHDR_SIZE)?)?..).and_then(|s| s.get(..SHDR_SIZE));
    let names = shdr(shstrndx)?;
    let (noff, nsize) = (u64_at(names, 24)?, u64_at(names, 32)?);
    let names = file.get(noff..noff.checked_add(nsize)?)?;
    for i in 0..shnum {
        let sh = shdr(i)?;
        let n = names.get(u32_at(sh, 0)? as usize..)?;
        if n.get(..name.len()) != Some(name) || n.get(name.len()) != Some(&0) {
            continue;
        }
        if u64_at(sh, 8)? & SHF_COMPRESSED != 0 || u32_at(sh, 4)? == SHT_NOBITS {
            return None;
        }
        let (off, size) = (u64_at(sh, 24)?, u64_at(sh, 32)?);
        return file.get(off..off.checked_add(size)?);
    }
    None
}

impl<'a> Symtab<'a> {
    /// The function symbol holding link-time address `addr`: (raw name, start address). A
    /// Thumb function's symbol value has bit 0 set (arm): it is cleared here.
    pub fn lookup(&self, addr: usize) -> Option<(&'a [u8], usize)> {
        let c = self.class;
        // st_info, st_value, st_size (st_name is at 0 in both classes).
        let (o_info, o_value, o_size) = if c.word == 8 { (4, 8, 16) } else { (12, 4, 8) };
        let mut best: Option<(usize, usize)> = None; // (name offset, value)
        for sym in self.syms.chunks_exact(c.sym) {
            let (info, value, size) = (sym[o_info], c.word_at(sym, o_value)?, c.word_at(sym, o_size)?);
            let value = if c.word == 4 { value & !1 } else { value };
            if info & 0xf != STT_FUNC || value > addr || addr - value >= size {
                continue;
            }
            // Prefer the innermost (latest-starting) of overlapping symbols.
            if best.is_none_or(|(_, v)| value > v) {
                best = Some((u32_at(sym, 0)? as usize, value));
            }
        }
        let (name, value) = best?;
        let rest = self.strtab.get(name..)?;
        let end = rest.iter().position(|&c| c == 0)?;
        Some((&rest[..end], value))
    }
}

/// Writes a symbol name as Go would show a function: Rust-demangled without the hash (raw bytes
/// as they are if the name is not a Rust one; invalid UTF-8 as `?`).
pub fn write_name(w: &mut impl Write, raw: &[u8]) -> fmt::Result {
    match core::str::from_utf8(raw) {
        Ok(s) => crate::demangle::write(w, s),
        Err(_) => {
            for &c in raw {
                w.write_char(if c.is_ascii_graphic() { c as char } else { '?' })?;
            }
            Ok(())
        }
    }
}

// --- the executable file, mapped on demand (runtime only) ---

#[cfg(target_os = "linux")]
mod file {
    use crate::gmp::Global;
    use crate::sys::map_file_readonly as map;

    /// The executable's mapping: (address, length); address 0 once a try failed. Only the dying
    /// thread (print.rs's start_dying admits one) touches it.
    static EXE: Global<Option<(usize, usize)>> = Global::new(None);

    static PROC_SELF_EXE: &[u8] = b"/proc/self/exe\0";

    /// Whether the file `f` has the same program headers as the running image.
    fn same_image(f: &[u8], img: &super::Image) -> bool {
        let c = super::Class::NATIVE;
        let Some(phoff) = c.word_at(f, c.ehdr().0) else { return false };
        let n = img.phnum * c.phdr;
        // SAFETY: the kernel maps the program headers at AT_PHDR for the life of the process.
        let mem = unsafe { core::slice::from_raw_parts(img.phdr as *const u8, n) };
        f.get(phoff..).and_then(|s| s.get(..n)) == Some(mem)
    }

    /// The executable file's bytes (AT_EXECFN, else /proc/self/exe), mapped on the first call;
    /// None if neither can be read or holds this program.
    ///
    /// # Safety
    /// Only the thread writing the fatal report may call it (EXE is unsynchronised).
    pub unsafe fn exe(img: &super::Image) -> Option<&'static [u8]> {
        // SAFETY: the caller is the only thread using EXE.
        let slot = unsafe { &mut *EXE.get() };
        if slot.is_none() {
            *slot = Some((0, 0));
            let (_, _, execfn) = crate::sys::exe_auxv();
            for path in [execfn as *const u8, PROC_SELF_EXE.as_ptr()] {
                if path.is_null() {
                    continue;
                }
                if let Some((p, len)) = map(path) {
                    // SAFETY: map returned a readable mapping of len bytes, kept for good.
                    let f = unsafe { core::slice::from_raw_parts(p as *const u8, len) };
                    if same_image(f, img) {
                        *slot = Some((p, len));
                        break;
                    }
                    // SAFETY: our own mapping, referenced nowhere else.
                    unsafe { crate::sys::sys_free(p as *mut u8, len) };
                }
            }
        }
        match *slot {
            // SAFETY: as above: a live read-only mapping.
            Some((p, len)) if p != 0 => Some(unsafe { core::slice::from_raw_parts(p as *const u8, len) }),
            _ => None,
        }
    }

    /// Calls `f` with the executable file's bytes (AT_EXECFN, else /proc/self/exe) in a mapping
    /// of this call's own, unmapped after: for the profile writers (pprof.rs), which run on any
    /// thread at any time, so they cannot share the dying thread's EXE. None if neither file can
    /// be read or holds this program.
    #[cfg(gort_pprof)]
    pub fn with_exe<R>(img: &super::Image, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let (_, _, execfn) = crate::sys::exe_auxv();
        let mut f = Some(f);
        for path in [execfn as *const u8, PROC_SELF_EXE.as_ptr()] {
            if path.is_null() {
                continue;
            }
            let Some((p, len)) = map(path) else { continue };
            // SAFETY: map returned a readable mapping of len bytes, ours until unmapped below.
            let file = unsafe { core::slice::from_raw_parts(p as *const u8, len) };
            let r = if same_image(file, img) { f.take().map(|f| f(file)) } else { None };
            // SAFETY: our own mapping; `file` is not used past this point.
            unsafe { crate::sys::sys_free(p as *mut u8, len) };
            if r.is_some() {
                return r;
            }
        }
        None
    }

    /// The path traceback prints before `+0xADDR`: AT_EXECFN (the path the program was run by,
    /// which addr2line can open later), else `/proc/self/exe`.
    pub fn exe_path() -> &'static [u8] {
        let (_, _, execfn) = crate::sys::exe_auxv();
        if execfn == 0 {
            return &PROC_SELF_EXE[..PROC_SELF_EXE.len() - 1];
        }
        // SAFETY: AT_EXECFN is a NUL-terminated string on the initial stack, kept for good.
        unsafe { core::ffi::CStr::from_ptr(execfn as *const core::ffi::c_char) }.to_bytes()
    }
}
#[cfg(gort_pprof)]
pub use file::with_exe;
#[cfg(target_os = "linux")]
pub use file::{exe, exe_path};

#[cfg(test)]
mod tests {
    use super::*;

    /// The test binary itself: a std program with a `.symtab`.
    fn self_exe() -> Vec<u8> {
        std::fs::read("/proc/self/exe").unwrap()
    }

    #[inline(never)]
    fn a_marker_function_for_symtab(x: u32) -> u32 {
        core::hint::black_box(x) * 3 + 1
    }

    /// Link-time address of a function of this test binary (runtime address minus the bias of
    /// the PIE, found through the real program headers and image_from_phdrs).
    fn link_addr(f: usize) -> usize {
        // SAFETY: getauxval is libc's, always safe.
        let (phdr, phnum) = unsafe { (getauxval(3) as usize, getauxval(5) as usize) };
        // SAFETY: the kernel maps the program headers at AT_PHDR.
        let phdrs = unsafe { core::slice::from_raw_parts(phdr as *const u8, phnum * Class::NATIVE.phdr) };
        let img = image_from_phdrs(Class::NATIVE, phdrs, phdr, |_| None).expect("image");
        f - img.bias
    }
    extern "C" {
        fn getauxval(t: core::ffi::c_ulong) -> core::ffi::c_ulong;
    }

    fn name_of(tab: &Symtab<'_>, addr: usize) -> Option<(String, usize)> {
        let (raw, start) = tab.lookup(addr)?;
        let mut s = String::new();
        write_name(&mut s, raw).unwrap();
        Some((s, start))
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the test binary and the auxv (getauxval, files, objcopy): not under Miri")]
    fn finds_a_function_by_address_inside_it() {
        let file = self_exe();
        let tab = symtab_of(Class::NATIVE, &file).expect(".symtab");
        let f = link_addr(a_marker_function_for_symtab as fn(u32) -> u32 as usize);
        assert_eq!(a_marker_function_for_symtab(1), 4);
        let (name, start) = name_of(&tab, f + 1).expect("found");
        assert_eq!(start, f);
        assert!(name.ends_with("symtab::tests::a_marker_function_for_symtab"), "{name}");
        assert!(!name.contains("::h"), "hash printed: {name}");
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the test binary and the auxv (getauxval, files, objcopy): not under Miri")]
    fn sections_by_name() {
        let f = self_exe();
        let text = section(&f, b".text").expect(".text");
        assert!(!text.is_empty());
        assert!(section(&f, b".tex").is_none(), "a name prefix is not the name");
        assert!(section(&f, b".no_such_section").is_none());
        // The test binary is built with debug info: its line table is there.
        assert!(section(&f, b".debug_line").is_some_and(|s| !s.is_empty()));
        assert!(section(b"not an elf file at all, long enough", b".text").is_none());
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the test binary and the auxv (getauxval, files, objcopy): not under Miri")]
    fn no_function_at_unmapped_addresses() {
        let file = self_exe();
        let tab = symtab_of(Class::NATIVE, &file).expect(".symtab");
        assert!(tab.lookup(0).is_none());
        assert!(tab.lookup(usize::MAX - 16).is_none());
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the test binary and the auxv (getauxval, files, objcopy): not under Miri")]
    fn image_has_eh_frame_hdr_and_bias() {
        // SAFETY: libc's getauxval.
        let (phdr, phnum) = unsafe { (getauxval(3) as usize, getauxval(5) as usize) };
        // SAFETY: the kernel maps the program headers at AT_PHDR.
        let phdrs = unsafe { core::slice::from_raw_parts(phdr as *const u8, phnum * Class::NATIVE.phdr) };
        let img = image_from_phdrs(Class::NATIVE, phdrs, phdr, |_| None).expect("image");
        // SAFETY: in-memory .eh_frame_hdr: version byte 1.
        assert_eq!(unsafe { *(img.eh_frame_hdr as *const u8) }, 1);
        assert!(img.segment_end > img.eh_frame_hdr);
    }

    /// A stripped copy of an executable has no `.symtab`: lookups give nothing (traceback then
    /// prints `?()` and `exe+0xADDR`), and addr2line resolves that ADDR in the unstripped file.
    #[test]
    #[cfg_attr(miri, ignore = "reads the test binary and the auxv (getauxval, files, objcopy): not under Miri")]
    fn stripped_copy_has_no_symtab() {
        let dir = std::env::temp_dir().join(format!("gort-symtab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let stripped = dir.join("stripped");
        let st = std::process::Command::new("objcopy").arg("--strip-all").arg("/proc/self/exe").arg(&stripped).status();
        let Ok(st) = st else {
            eprintln!("SKIPPED: objcopy not installed");
            return;
        };
        assert!(st.success());
        let file = std::fs::read(&stripped).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(symtab_of(Class::NATIVE, &file).is_none());
        // The address printed for a nameless frame resolves in the original with addr2line.
        let f = link_addr(a_marker_function_for_symtab as fn(u32) -> u32 as usize);
        if let Ok(out) = std::process::Command::new("addr2line")
            .args(["-f", "-i", "-C", "-e"])
            .arg(std::env::current_exe().unwrap())
            .arg(format!("{:#x}", f + 1))
            .output()
        {
            let s = String::from_utf8_lossy(&out.stdout);
            assert!(s.contains("a_marker_function_for_symtab"), "{s}");
        }
    }

    #[test]
    fn names_print_without_hash_and_non_rust_names_raw() {
        let mut s = String::new();
        write_name(&mut s, b"_ZN4core9panicking9panic_fmt17h0123456789abcdefE").unwrap();
        assert_eq!(s, "core::panicking::panic_fmt");
        s.clear();
        write_name(&mut s, b"memcpy").unwrap();
        assert_eq!(s, "memcpy");
        s.clear();
        write_name(&mut s, b"a\xffb").unwrap();
        assert_eq!(s, "a?b");
    }

    #[test]
    fn no_phdr_segment_uses_the_elf_header() {
        // One PT_LOAD at offset 0 (vaddr 0x400000) and a PT_GNU_EH_FRAME inside it; the image
        // sits at 0x7000_0000_0000 (bias 0x6fff_ffc0_0000), program headers right after the
        // 64-byte ELF header.
        const PHDR_SIZE: usize = 56;
        let mut ph = vec![0u8; 2 * PHDR_SIZE];
        let put = |ph: &mut [u8], i: usize, t: u32, off: u64, va: u64, sz: u64| {
            let b = &mut ph[i * PHDR_SIZE..];
            b[0..4].copy_from_slice(&t.to_le_bytes());
            b[8..16].copy_from_slice(&off.to_le_bytes());
            b[16..24].copy_from_slice(&va.to_le_bytes());
            b[40..48].copy_from_slice(&sz.to_le_bytes());
        };
        put(&mut ph, 0, PT_LOAD, 0, 0x40_0000, 0x1000);
        put(&mut ph, 1, PT_GNU_EH_FRAME, 0x200, 0x40_0200, 0x40);
        let base = 0x7000_0000_0000usize;
        let img = image_from_phdrs(Class::ELF64, &ph, base + 64, |a| (a == base).then_some(64)).unwrap();
        assert_eq!(img.bias, base - 0x40_0000);
        assert_eq!(img.eh_frame_hdr, base + 0x200);
        assert_eq!(img.segment_end, base + 0x1000);
        assert!(image_from_phdrs(Class::ELF64, &ph, base + 64, |_| Some(128)).is_none());
    }

    /// ELF32 (arm): program headers with a PT_ARM_EXIDX and no PT_GNU_EH_FRAME, and a `.symtab`
    /// whose Thumb function has bit 0 set in its value.
    #[test]
    fn elf32_exidx_and_thumb_symbols() {
        let mut ph = vec![0u8; 3 * 32];
        let put = |ph: &mut [u8], i: usize, t: u32, off: u32, va: u32, sz: u32| {
            let b = &mut ph[i * 32..];
            b[0..4].copy_from_slice(&t.to_le_bytes());
            b[4..8].copy_from_slice(&off.to_le_bytes());
            b[8..12].copy_from_slice(&va.to_le_bytes());
            b[20..24].copy_from_slice(&sz.to_le_bytes());
        };
        put(&mut ph, 0, PT_PHDR, 52, 0x1_0034, 96);
        put(&mut ph, 1, PT_LOAD, 0, 0x1_0000, 0x1000);
        put(&mut ph, 2, PT_ARM_EXIDX, 0x134, 0x1_0134, 0x908);
        let img = image_from_phdrs(Class::ELF32, &ph, 0x1_0034, |_| None).unwrap();
        assert_eq!((img.bias, img.exidx, img.exidx_len, img.eh_frame_hdr), (0, 0x1_0134, 0x908, 0));
        // Without either table: no image.
        put(&mut ph, 2, PT_LOAD, 0, 0x2_0000, 0x10);
        assert!(image_from_phdrs(Class::ELF32, &ph, 0x1_0034, |_| None).is_none());

        // ELF header (52) | 3 section headers (null, .symtab, .strtab) | syms | strings.
        let strings = b"\0thumb_fn\0arm_fn\0";
        let mut f = vec![0u8; 52];
        f[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1]);
        f[0x20..0x24].copy_from_slice(&52u32.to_le_bytes()); // e_shoff
        f[0x2e..0x30].copy_from_slice(&40u16.to_le_bytes()); // e_shentsize
        f[0x30..0x32].copy_from_slice(&3u16.to_le_bytes()); // e_shnum
        let syms_off = 52 + 3 * 40;
        let strs_off = syms_off + 3 * 16;
        let mut sh = vec![0u8; 3 * 40];
        let sec = |sh: &mut [u8], i: usize, t: u32, off: u32, size: u32, link: u32| {
            let b = &mut sh[i * 40..];
            b[4..8].copy_from_slice(&t.to_le_bytes());
            b[16..20].copy_from_slice(&off.to_le_bytes());
            b[20..24].copy_from_slice(&size.to_le_bytes());
            b[24..28].copy_from_slice(&link.to_le_bytes());
        };
        sec(&mut sh, 1, SHT_SYMTAB, syms_off as u32, 48, 2);
        sec(&mut sh, 2, 3, strs_off as u32, strings.len() as u32, 0);
        f.extend_from_slice(&sh);
        let sym = |name: u32, value: u32, size: u32| {
            let mut b = [0u8; 16];
            b[0..4].copy_from_slice(&name.to_le_bytes());
            b[4..8].copy_from_slice(&value.to_le_bytes());
            b[8..12].copy_from_slice(&size.to_le_bytes());
            b[12] = STT_FUNC;
            b
        };
        f.extend_from_slice(&[0u8; 16]);
        f.extend_from_slice(&sym(1, 0x2_0001, 0x20)); // Thumb: value | 1
        f.extend_from_slice(&sym(10, 0x2_0100, 0x10));
        f.extend_from_slice(strings);
        let tab = symtab_of(Class::ELF32, &f).unwrap();
        assert_eq!(tab.lookup(0x2_0000), Some((&b"thumb_fn"[..], 0x2_0000)));
        assert_eq!(tab.lookup(0x2_010f), Some((&b"arm_fn"[..], 0x2_0100)));
        assert!(tab.lookup(0x2_0110).is_none());
        assert!(symtab_of(Class::ELF64, &f).is_none());
    }
}
