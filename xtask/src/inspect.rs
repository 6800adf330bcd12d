//! Inspection of linked gort programs, what `cargo xtask build-all` checks in every binary it
//! links (the `inspect` of each TARGETS row, targets.rs) and `cargo xtask test` in every e2e
//! program of an ELF target ("elf properties"). Not a command itself. One self-contained function
//! per format, so a branch that ports an OS only adds its row to TARGETS:
//!
//! - `elf` (linux): class, machine, entry = the rt0 symbol, no PT_INTERP, no DT_NEEDED, a
//!   non-executable GNU_STACK; over readelf and nm (binutils, or LLVM's equivalents);
//! - `macho` (darwin): cputype, MH_EXECUTE PIE, LC_MAIN entryoff = the rt0 symbol, dyld, only
//!   /usr/lib/libSystem.B.dylib, no MH_ALLOW_STACK_EXECUTION, arm64 code signature;
//! - `pe` (windows): COFF machine, entry = the rt0 symbol via the symbol table or the PDB, imports
//!   only from WINDOWS_DLLS, NX_COMPAT.
//!
//! The last two use LLVM's tools (llvm-objdump, llvm-readobj, llvm-nm). Each returns (problems, a
//! one-line description); no problems means the binary passed.

use std::path::Path;
use std::process::Command;

use super::which;

/// Runs `tool args... file`, returning stdout as text.
fn run(tool: &str, args: &[&str], file: &Path) -> Result<String, String> {
    let out = Command::new(tool).args(args).arg(file).output().map_err(|e| format!("{tool}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{tool} {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The address of `sym` in the binary's symbol table (llvm-nm), if it is there.
fn symbol_addr(exe: &Path, sym: &str) -> Result<Option<u64>, String> {
    let syms = run("llvm-nm", &[], exe)?;
    Ok(syms.lines().find_map(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        (w.len() == 3 && w[2] == sym).then(|| u64::from_str_radix(w[0], 16).ok()).flatten()
    }))
}

/// Parses a decimal or 0x-prefixed number.
fn num(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Runs a tool, returning its stdout as text.
fn tool_output(cmd: &[&str], file: &Path) -> Result<String, String> {
    let out = Command::new(cmd[0]).args(&cmd[1..]).arg(file).output().map_err(|e| format!("{}: {e}", cmd[0]))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", cmd.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// readelf (binutils) or LLVM's equivalent in GNU output style.
fn readelf() -> Vec<&'static str> {
    if which("readelf").is_some() {
        vec!["readelf"]
    } else if which("llvm-readelf").is_some() {
        vec!["llvm-readelf"]
    } else {
        vec!["llvm-readobj", "--elf-output-style=GNU"]
    }
}

fn nm() -> &'static str {
    if which("nm").is_some() {
        "nm"
    } else {
        "llvm-nm"
    }
}

/// Checks a gort ELF executable; returns (problems, a one-line description).
pub fn elf(exe: &Path, class: &str, machine: &str, entry_sym: &str) -> (Vec<String>, String) {
    let mut problems = Vec::new();
    let re = readelf();
    let with = |flag: &str| {
        let mut c = re.clone();
        c.push(flag);
        tool_output(&c, exe)
    };
    let header = match with("-hlW") {
        Ok(s) => s,
        Err(e) => return (vec![e], String::new()),
    };
    let field = |name: &str| {
        header.lines().find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string())).unwrap_or_default()
    };
    let (got_class, got_machine, got_type, got_entry) =
        (field("Class:"), field("Machine:"), field("Type:"), field("Entry point address:"));
    if got_class != class {
        problems.push(format!("class {got_class:?}, want {class}"));
    }
    if !got_machine.contains(machine) {
        problems.push(format!("machine {got_machine:?}, want {machine}"));
    }
    let entry = u64::from_str_radix(got_entry.trim_start_matches("0x").trim_start_matches("0X"), 16).ok();

    // Program headers: no PT_INTERP, a GNU_STACK without E.
    let mut stack_flags = None;
    for l in header.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.first() {
            Some(&"INTERP") => problems.push("has PT_INTERP (wants a dynamic loader)".into()),
            Some(&"GNU_STACK") if w.len() >= 8 => stack_flags = Some(w[6..w.len() - 1].join("")),
            _ => {}
        }
    }
    match &stack_flags {
        None => problems.push("no PT_GNU_STACK (the stack may be executable)".into()),
        Some(f) if f.contains('E') => problems.push(format!("GNU_STACK is executable ({f})")),
        Some(_) => {}
    }

    match with("-dW") {
        Ok(d) => {
            let needed: Vec<&str> = d.lines().filter(|l| l.contains("(NEEDED)")).map(str::trim).collect();
            if !needed.is_empty() {
                problems.push(format!("DT_NEEDED entries: {}", needed.join(", ")));
            }
        }
        Err(e) => problems.push(e),
    }

    // The entry point is the rt0 symbol.
    match tool_output(&[nm()], exe) {
        Ok(syms) => {
            let addr = syms.lines().find_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                (w.len() == 3 && w[2] == entry_sym).then(|| u64::from_str_radix(w[0], 16).ok()).flatten()
            });
            match (addr, entry) {
                (None, _) => problems.push(format!("no symbol {entry_sym}")),
                (Some(a), Some(e)) if a == e => {}
                (Some(a), _) => problems.push(format!("entry point {got_entry} is not {entry_sym} ({a:#x})")),
            }
        }
        Err(e) => problems.push(e),
    }
    let facts = format!(
        "{got_class} {got_machine}, {}, entry {got_entry} = {entry_sym}, static, GNU_STACK {}",
        got_type.split_whitespace().next().unwrap_or("?"),
        stack_flags.unwrap_or_default()
    );
    (problems, facts)
}

/// Checks a darwin gort executable: a Mach-O MH_EXECUTE of the right cputype, PIE, no
/// MH_ALLOW_STACK_EXECUTION (the stack is not executable), an LC_MAIN whose entryoff (a file
/// offset into __TEXT) resolves to the symbol `entry_sym` (`_rt0_<arch>_darwin`; Mach-O adds the
/// underscore), /usr/lib/dyld as its loader, `dylib` as the one and only LC_LOAD_DYLIB, and (arm64)
/// an LC_CODE_SIGNATURE, without which Apple silicon refuses to run it.
pub fn macho(exe: &Path, cputype: &str, entry_sym: &str, dylib: &str) -> (Vec<String>, String) {
    let mut problems = Vec::new();
    let hdr = match run("llvm-objdump", &["--macho", "--private-headers"], exe) {
        Ok(s) => s,
        Err(e) => return (vec![e], String::new()),
    };
    // The Mach header: "MH_MAGIC_64 ARM64 ALL 0x00 EXECUTE 16 1928 NOUNDEFS DYLDLINK TWOLEVEL PIE".
    let header = hdr.lines().skip_while(|l| !l.trim_start().starts_with("magic")).nth(1).unwrap_or("");
    let w: Vec<&str> = header.split_whitespace().collect();
    if w.first() != Some(&"MH_MAGIC_64") {
        problems.push(format!("not a 64-bit Mach-O (header {header:?})"));
    }
    if w.get(1) != Some(&cputype) {
        problems.push(format!("cputype {:?}, want {cputype}", w.get(1).unwrap_or(&"?")));
    }
    if !w.contains(&"EXECUTE") {
        problems.push("filetype is not MH_EXECUTE".into());
    }
    if !w.contains(&"PIE") {
        problems.push("not PIE (dyld on arm64 and modern macOS require it)".into());
    }
    if w.iter().any(|f| f.contains("ALLOW_STACK_EXECUTION")) {
        problems.push("MH_ALLOW_STACK_EXECUTION: the stack would be executable".into());
    }

    // Load commands: a sequence of "cmd NAME" blocks with "key value" lines.
    let mut cmds: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for l in hdr.lines() {
        let t = l.trim();
        if let Some(name) = t.strip_prefix("cmd ") {
            cmds.push((name.trim().to_string(), Vec::new()));
        } else if let Some((_, fields)) = cmds.last_mut() {
            if let Some((k, v)) = t.split_once(' ') {
                fields.push((k.to_string(), v.trim().to_string()));
            }
        }
    }
    let field = |c: &(String, Vec<(String, String)>), k: &str| {
        c.1.iter().find(|(kk, _)| kk == k).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    let text = cmds.iter().find(|c| c.0 == "LC_SEGMENT_64" && field(c, "segname") == "__TEXT");
    let text_vmaddr = text.and_then(|c| num(&field(c, "vmaddr")));
    let text_fileoff = text.and_then(|c| num(&field(c, "fileoff")));
    let mains: Vec<_> = cmds.iter().filter(|c| c.0 == "LC_MAIN").collect();
    let entryoff = mains.first().and_then(|c| num(&field(c, "entryoff")));
    let entry = match (mains.len(), entryoff, text_vmaddr, text_fileoff) {
        (1, Some(off), Some(va), Some(fo)) => Some(va + off - fo),
        (0, ..) => {
            problems.push("no LC_MAIN".into());
            None
        }
        (1, ..) => {
            problems.push("LC_MAIN or the __TEXT segment could not be read".into());
            None
        }
        (n, ..) => {
            problems.push(format!("{n} LC_MAIN commands"));
            None
        }
    };
    let macho_sym = format!("_{entry_sym}");
    match (symbol_addr(exe, &macho_sym), entry) {
        (Err(e), _) => problems.push(e),
        (Ok(None), _) => problems.push(format!("no symbol {macho_sym}")),
        (Ok(Some(a)), Some(e)) if a == e => {}
        (Ok(Some(a)), Some(e)) => problems.push(format!("LC_MAIN entry {e:#x} is not {macho_sym} ({a:#x})")),
        (Ok(Some(_)), None) => {}
    }
    let loader = cmds.iter().find(|c| c.0 == "LC_LOAD_DYLINKER").map(|c| field(c, "name"));
    match &loader {
        Some(n) if n.starts_with("/usr/lib/dyld") => {}
        Some(n) => problems.push(format!("loader {n:?}, want /usr/lib/dyld")),
        None => problems.push("no LC_LOAD_DYLINKER (LC_MAIN needs dyld)".into()),
    }
    let dylibs: Vec<String> = cmds
        .iter()
        .filter(|c| (c.0.starts_with("LC_LOAD") && c.0.ends_with("DYLIB")) || c.0 == "LC_REEXPORT_DYLIB")
        .map(|c| field(c, "name").split(" (offset").next().unwrap_or("").to_string())
        .collect();
    if dylibs.iter().any(|d| d != dylib) || dylibs.is_empty() {
        problems.push(format!("loads {dylibs:?}, want only {dylib}"));
    }
    let signed = cmds.iter().any(|c| c.0 == "LC_CODE_SIGNATURE");
    if cputype == "ARM64" && !signed {
        problems.push("no LC_CODE_SIGNATURE (arm64 macOS runs only signed code; ad-hoc is enough)".into());
    }
    let imports = run("llvm-nm", &["-u"], exe).map(|s| s.lines().count()).unwrap_or(0);
    let facts = format!(
        "Mach-O {cputype} EXECUTE PIE, LC_MAIN entry {} = {macho_sym}, dylibs [{}] ({imports} symbols), stack not executable{}",
        entry.map_or("?".into(), |e| format!("{e:#x}")),
        dylibs.join(", "),
        if signed { ", ad-hoc signed" } else { "" }
    );
    (problems, facts)
}

/// Checks a windows gort executable: PE32(+) of the right COFF machine, an executable image, the
/// entry point (ImageBase + AddressOfEntryPoint) = the symbol `entry_sym` (`_rt0_<arch>_windows`;
/// needs a symbol table llvm-nm can read), imports only from `dlls` (case-insensitive), and
/// IMAGE_DLL_CHARACTERISTICS_NX_COMPAT (DEP: stack and heap not executable).
pub fn pe(exe: &Path, machine: &str, entry_sym: &str, dlls: &[&str]) -> (Vec<String>, String) {
    let mut problems = Vec::new();
    let out = match run("llvm-readobj", &["--file-headers", "--coff-imports"], exe) {
        Ok(s) => s,
        Err(e) => return (vec![e], String::new()),
    };
    let value = |key: &str| {
        out.lines().find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string())).unwrap_or_default()
    };
    let format = value("Format:");
    if !format.starts_with("COFF") {
        problems.push(format!("format {format:?}, want COFF (PE)"));
    }
    let got_machine = value("Machine:");
    if !got_machine.starts_with(machine) {
        problems.push(format!("machine {got_machine:?}, want {machine}"));
    }
    if !out.contains("IMAGE_FILE_EXECUTABLE_IMAGE") {
        problems.push("not IMAGE_FILE_EXECUTABLE_IMAGE".into());
    }
    if !out.contains("IMAGE_DLL_CHARACTERISTICS_NX_COMPAT") {
        problems.push("no NX_COMPAT: data and stack may be executable".into());
    }
    let base = num(&value("ImageBase:"));
    let rva = num(&value("AddressOfEntryPoint:"));
    let entry = base.zip(rva).map(|(b, r)| b + r);
    // The symbol's RVA: from a COFF symbol table if the image has one, else from the PDB beside it.
    let sym_rva = match symbol_addr(exe, entry_sym) {
        Ok(Some(a)) => Ok(Some(if base.is_some_and(|b| a >= b) { a - base.unwrap_or(0) } else { a })),
        _ => pdb_symbol_rva(exe, entry_sym),
    };
    match (sym_rva, rva) {
        (Err(e), _) => problems.push(e),
        (Ok(None), _) => problems.push(format!("no symbol {entry_sym} (symbol table or PDB)")),
        (Ok(Some(a)), Some(r)) if a == r => {}
        // Thumb-2 (windows/arm): the entry address carries the Thumb bit, the symbol does not.
        (Ok(Some(a)), Some(r)) if machine.ends_with("ARMNT") && r == a | 1 => {}
        (Ok(Some(a)), Some(r)) => problems.push(format!("entry RVA {r:#x} is not {entry_sym} (RVA {a:#x})")),
        (Ok(Some(_)), None) => problems.push("no AddressOfEntryPoint".into()),
    }
    let imported: Vec<String> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Name:").map(|n| n.trim().to_string()))
        .filter(|n| n.to_ascii_lowercase().ends_with(".dll"))
        .collect();
    let bad: Vec<&String> = imported.iter().filter(|d| !dlls.contains(&d.to_ascii_lowercase().as_str())).collect();
    if !bad.is_empty() {
        problems.push(format!("imports {bad:?}, allowed only {dlls:?}"));
    }
    let facts = format!(
        "PE {got_machine}, entry {} = {entry_sym}, imports [{}], NX_COMPAT",
        entry.map_or("?".into(), |e| format!("{e:#x}")),
        imported.join(", ")
    );
    (problems, facts)
}

/// The RVA of public symbol `sym` according to the PDB next to `exe` (`llvm-pdbutil dump
/// --publics` gives section:offset; the section's VirtualAddress comes from the image).
fn pdb_symbol_rva(exe: &Path, sym: &str) -> Result<Option<u64>, String> {
    let pdb = exe.with_extension("pdb");
    if !pdb.is_file() {
        return Err(format!("no COFF symbol table and no {} to find {sym} in", pdb.display()));
    }
    let publics = run("llvm-pdbutil", &["dump", "--publics"], &pdb)?;
    let quoted = format!("`{sym}`");
    let mut lines = publics.lines();
    let mut addr = None;
    while let Some(l) = lines.next() {
        if l.contains("S_PUB32") && l.trim_end().ends_with(&quoted) {
            // Next line: "flags = ..., addr = 0001:10912".
            addr = lines.next().and_then(|n| n.split("addr = ").nth(1)).map(|a| a.trim().to_string());
            break;
        }
    }
    let Some(addr) = addr else { return Ok(None) };
    let (sect, off) = addr.split_once(':').ok_or_else(|| format!("bad PDB address {addr:?}"))?;
    let (sect, off) = (sect.parse::<u64>().map_err(|e| e.to_string())?, off.parse::<u64>().map_err(|e| e.to_string())?);
    let sections = run("llvm-readobj", &["--sections"], exe)?;
    let mut number = None;
    for l in sections.lines() {
        let t = l.trim();
        if let Some(n) = t.strip_prefix("Number:") {
            number = num(n);
        } else if let Some(va) = t.strip_prefix("VirtualAddress:") {
            if number == Some(sect) {
                return Ok(num(va).map(|va| va + off));
            }
        }
    }
    Err(format!("{sym}: section {sect} not in the image"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inspector must reject an ordinary dynamically linked program.
    #[test]
    fn inspect_rejects_a_dynamic_executable() {
        let exe = Path::new("/bin/true");
        if !exe.exists() || (which("readelf").is_none() && which("llvm-readobj").is_none()) {
            eprintln!("skipped: no /bin/true or no readelf");
            return;
        }
        let (problems, _) = elf(exe, "ELF64", "X86-64", "_rt0_amd64_linux");
        let all = problems.join("; ");
        assert!(all.contains("PT_INTERP"), "{all}");
        assert!(all.contains("DT_NEEDED"), "{all}");
    }

    /// An ELF is neither Mach-O nor PE: both inspectors must say so.
    #[test]
    fn inspectors_reject_an_elf() {
        let exe = Path::new("/bin/true");
        if !exe.exists() || Command::new("llvm-objdump").arg("--version").output().is_err() {
            eprintln!("skipped: no /bin/true or no llvm tools");
            return;
        }
        let (p, _) = macho(exe, "X86_64", "_rt0_amd64_darwin", "/usr/lib/libSystem.B.dylib");
        assert!(!p.is_empty());
        let (p, _) = pe(exe, "IMAGE_FILE_MACHINE_AMD64", "_rt0_amd64_windows", &["kernel32.dll"]);
        assert!(!p.is_empty());
    }

    /// On a darwin hello that build-all produced (skipped when there is none): the right entry
    /// symbol passes, a wrong one and a wrong dylib are caught.
    #[test]
    fn macho_entry_and_dylib_are_checked() {
        let exe = crate::target_dir(&crate::root()).join("aarch64-apple-darwin/debug/examples/hello");
        if !exe.is_file() {
            eprintln!("skipped: run `cargo xtask build-all` first to have {}", exe.display());
            return;
        }
        let (p, facts) = macho(&exe, "ARM64", "_rt0_arm64_darwin", "/usr/lib/libSystem.B.dylib");
        assert!(p.is_empty(), "{p:?} {facts}");
        let (p, _) = macho(&exe, "ARM64", "runtime_mstart", "/usr/lib/libSystem.B.dylib");
        assert!(p.iter().any(|x| x.contains("LC_MAIN entry")), "{p:?}");
        let (p, _) = macho(&exe, "X86_64", "_rt0_arm64_darwin", "/usr/lib/libc.dylib");
        assert!(p.iter().any(|x| x.contains("cputype")) && p.iter().any(|x| x.contains("want only")), "{p:?}");
    }

    /// Inspects a PE given in XTASK_INSPECT_PE (e.g. a windows branch's hello.exe) and prints what
    /// it finds: `XTASK_INSPECT_PE=path cargo test -p xtask --target x86_64-unknown-linux-gnu
    /// inspect -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn pe_from_env() {
        let Some(exe) = std::env::var_os("XTASK_INSPECT_PE") else { return };
        let (p, facts) =
            pe(Path::new(&exe), "IMAGE_FILE_MACHINE_AMD64", "_rt0_amd64_windows", crate::targets::WINDOWS_DLLS);
        println!("problems: {p:?}\nfacts: {facts}");
        assert!(p.is_empty());
    }
}
