//! `build-all`'s inspection of windows (PE/COFF) executables, self-contained so the target table
//! can call it from one `Inspect::Pe` row per windows target.
//!
//! Checks, with LLVM's tools (llvm-readobj, llvm-pdbutil): the COFF format and machine, PE32+ for
//! 64-bit targets (PE32 for arm), a console subsystem, the entry point being the rt0 symbol (its
//! address read from the PDB's public symbols: lld-link writes no COFF symbol table), and the DLL
//! imports: kernel32.dll is there, nothing outside the allowed set (no CRT: msvcrt, vcruntime,
//! ucrt, api-ms-win-crt-*).

use std::path::Path;
use std::process::Command;

/// DLLs a gort program may import (src/sys/windows.rs and the e2e programs' own imports).
pub const ALLOWED_DLLS: &[&str] = &["kernel32.dll", "api-ms-win-core-synch-l1-2-0.dll"];

fn run(tool: &str, args: &[&str], file: &Path) -> Result<String, String> {
    let out = Command::new(tool).args(args).arg(file).output().map_err(|e| format!("{tool}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{tool} {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines().find_map(|l| l.trim().strip_prefix(name)).map(str::trim).unwrap_or("")
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim().trim_start_matches("0x").trim_start_matches("0X"), 16).ok()
}

/// Checks a gort PE executable; returns (problems, a one-line description).
/// `format` is llvm-readobj's `Format:` (COFF-x86-64, COFF-ARM64, COFF-ARM), `machine` a
/// substring of its `Machine:`, `pe32plus` whether the optional header must be PE32+.
pub fn inspect_pe(exe: &Path, format: &str, machine: &str, pe32plus: bool, entry_sym: &str) -> (Vec<String>, String) {
    let mut problems = Vec::new();
    let text = match run("llvm-readobj", &["--file-headers", "--sections", "--coff-imports"], exe) {
        Ok(t) => t,
        Err(e) => return (vec![e], String::new()),
    };
    let (got_format, got_machine) = (field(&text, "Format:"), field(&text, "Machine:"));
    if got_format != format {
        problems.push(format!("format {got_format:?}, want {format}"));
    }
    if !got_machine.contains(machine) {
        problems.push(format!("machine {got_machine:?}, want {machine}"));
    }
    // The optional header's Magic (the DOS header's "Magic: MZ" comes later in the dump).
    let magic = field(&text, "Magic:");
    let want_magic = if pe32plus { "0x20B" } else { "0x10B" };
    if magic != want_magic {
        problems.push(format!("optional header magic {magic}, want {want_magic}"));
    }
    let subsystem = field(&text, "Subsystem:");
    if !subsystem.contains("WINDOWS_CUI") {
        problems.push(format!("subsystem {subsystem:?}, want a console program (WINDOWS_CUI)"));
    }
    // On arm (Thumb-2 only) the entry address carries the Thumb bit; the symbol does not.
    let entry = hex(field(&text, "AddressOfEntryPoint:")).map(|e| if format == "COFF-ARM" { e & !1 } else { e });

    // Section virtual addresses, in order (PDB addresses are section:offset, 1-based).
    let sections: Vec<u64> =
        text.lines().filter_map(|l| l.trim().strip_prefix("VirtualAddress:")).filter_map(hex).collect();

    // Imports.
    let dlls: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Name:"))
        .map(str::trim)
        .filter(|n| n.to_ascii_lowercase().ends_with(".dll"))
        .map(str::to_string)
        .collect();
    if !dlls.iter().any(|d| d.eq_ignore_ascii_case("kernel32.dll")) {
        problems.push("does not import kernel32.dll".into());
    }
    for d in &dlls {
        if !ALLOWED_DLLS.iter().any(|a| a.eq_ignore_ascii_case(d)) {
            problems.push(format!("unexpected DLL import {d}"));
        }
    }

    // The entry point is the rt0 symbol, per the PDB.
    let pdb = exe.with_extension("pdb");
    let mut entry_note = String::from("entry not checked");
    if !pdb.is_file() {
        problems.push(format!("no {} to find {entry_sym} in", pdb.display()));
    } else {
        match run("llvm-pdbutil", &["dump", "--publics"], &pdb) {
            Err(e) => problems.push(e),
            Ok(publics) => {
                // `S_PUB32 [size = N] `name`` then `flags = ..., addr = SECT:OFF` (decimal).
                let mut lines = publics.lines();
                let mut addr = None;
                while let Some(l) = lines.next() {
                    if l.contains(&format!("`{entry_sym}`")) {
                        addr = lines.next().and_then(|n| n.split("addr = ").nth(1)).and_then(|a| {
                            let (s, o) = a.trim().split_once(':')?;
                            let (s, o): (usize, u64) = (s.parse().ok()?, o.parse().ok()?);
                            Some(sections.get(s.checked_sub(1)?)? + o)
                        });
                        break;
                    }
                }
                match (addr, entry) {
                    (None, _) => problems.push(format!("no public symbol {entry_sym} in the PDB")),
                    (Some(a), Some(e)) if a == e => entry_note = format!("entry {e:#x} = {entry_sym}"),
                    (Some(a), e) => problems.push(format!("entry point {e:x?} is not {entry_sym} ({a:#x})")),
                }
            }
        }
    }
    let facts = format!("{got_format} {got_machine}, {subsystem}, {entry_note}, imports {}", dlls.join(" "));
    (problems, facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inspector must reject an ELF program (llvm-readobj reads it, but it is no PE).
    #[test]
    fn inspect_pe_rejects_an_elf() {
        let exe = Path::new("/bin/true");
        if !exe.exists() || Command::new("llvm-readobj").arg("--version").output().is_err() {
            eprintln!("skipped: no /bin/true or no llvm-readobj");
            return;
        }
        let (problems, _) = inspect_pe(exe, "COFF-x86-64", "AMD64", true, "_rt0_amd64_windows");
        let all = problems.join("; ");
        assert!(all.contains("format"), "{all}");
        assert!(all.contains("kernel32"), "{all}");
    }
}
