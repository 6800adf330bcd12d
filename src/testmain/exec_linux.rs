//! Starting one test's child process on linux (the part of Go's os/exec and syscall.forkExec the
//! harness needs): fork, execute this executable with `--gort-run-one NAME`, wait for it.
//!
//! Under qemu-user without binfmt_misc the kernel refuses to execute the foreign binary
//! (ENOEXEC); the child then executes `qemu-<arch>` from `PATH` with the binary as its first
//! argument (qemu reads `QEMU_LD_PREFIX` etc. from the inherited environment).
use super::Exit;
use alloc::ffi::CString;
use alloc::string::String;
use alloc::vec::Vec;

use crate::sys::nr;

/// The qemu-user emulator of this arch.
const QEMU: &str = crate::sys::QEMU_USER;

const SIGCHLD: usize = 17;
const AT_FDCWD: isize = -100;
const ENOEXEC: isize = 8;
const EINTR: isize = 4;

/// The executable's path (`/proc/self/exe`, which qemu-user answers with the guest binary's).
fn self_exe() -> Result<CString, String> {
    let mut buf = alloc::vec![0u8; 4096];
    // SAFETY: readlinkat writes at most buf.len() bytes into buf, which lives across the call.
    let n = unsafe {
        crate::syscall::raw_syscall6(
            nr::READLINKAT,
            AT_FDCWD as usize,
            c"/proc/self/exe".as_ptr() as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
            0,
            0,
        )
    };
    if n <= 0 || n as usize >= buf.len() {
        return Err(alloc::format!("readlink /proc/self/exe: {n}"));
    }
    buf.truncate(n as usize);
    CString::new(buf).map_err(|_| String::from("NUL in the executable's path"))
}

/// A NULL-terminated array of pointers to `v`'s strings (valid while `v` lives).
fn ptrs(v: &[CString]) -> Vec<usize> {
    v.iter().map(|s| s.as_ptr() as usize).chain(core::iter::once(0)).collect()
}

/// Runs this executable with `--gort-run-one name` and waits for it.
pub(crate) fn run_child(name: &str) -> Result<Exit, String> {
    let exe = self_exe()?;
    let cs = |b: &[u8]| CString::new(b).map_err(|_| String::from("NUL in an argument"));
    let args = [exe.clone(), cs(super::RUN_ONE.as_bytes())?, cs(name.as_bytes())?];
    let env: Vec<CString> = crate::os::environ().iter().filter_map(|e| CString::new(*e).ok()).collect();
    // Everything the child touches is made here, before the fork: between fork and execve the
    // child only makes raw system calls (the other threads' locks are not its to take).
    let path = crate::os::getenv("PATH").unwrap_or(b"/usr/local/bin:/usr/bin:/bin");
    let qemus: Vec<CString> = path
        .split(|&b| b == b':')
        .filter(|d| !d.is_empty())
        .filter_map(|d| CString::new([d, b"/", QEMU.as_bytes()].concat()).ok())
        .collect();
    let qemu_args: Vec<CString> = core::iter::once(cs(QEMU.as_bytes())?).chain(args.iter().cloned()).collect();
    let (argv, envp, qargv) = (ptrs(&args), ptrs(&env), ptrs(&qemu_args));

    // SAFETY: clone with SIGCHLD alone is fork(2): the child gets a copy of this address space.
    // It runs only the raw system calls below (no allocation, no lock, no runtime call) on the
    // buffers made above, then execve replaces it or exit_group ends it.
    let pid = unsafe { crate::syscall::raw_syscall6(nr::CLONE, SIGCHLD, 0, 0, 0, 0, 0) };
    if pid == 0 {
        // SAFETY: the child: every pointer is to a NUL-terminated string or a NULL-terminated
        // array made before the fork, present in the child's copy of memory.
        unsafe {
            let r = crate::syscall::raw_syscall6(
                nr::EXECVE,
                exe.as_ptr() as usize,
                argv.as_ptr() as usize,
                envp.as_ptr() as usize,
                0,
                0,
                0,
            );
            if r == -ENOEXEC {
                for q in &qemus {
                    crate::syscall::raw_syscall6(
                        nr::EXECVE,
                        q.as_ptr() as usize,
                        qargv.as_ptr() as usize,
                        envp.as_ptr() as usize,
                        0,
                        0,
                        0,
                    );
                }
            }
            crate::syscall::raw_syscall6(nr::EXIT_GROUP, 127, 0, 0, 0, 0, 0);
        }
        unreachable!()
    }
    if pid < 0 {
        return Err(alloc::format!("fork: errno {}", -pid));
    }
    let mut status: i32 = 0;
    loop {
        // SAFETY: wait4 writes one int into `status`, which lives across the call.
        let r =
            unsafe { crate::syscall::syscall6(nr::WAIT4, pid as usize, &mut status as *mut i32 as usize, 0, 0, 0, 0) };
        if r == pid {
            break;
        }
        if r != -EINTR {
            return Err(alloc::format!("wait4: errno {}", -r));
        }
    }
    Ok(if status & 0x7f == 0 { Exit::Code((status >> 8) & 0xff) } else { Exit::Signal(status & 0x7f) })
}
