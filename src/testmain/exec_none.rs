//! Starting a test's child process where gort cannot (darwin: no process API in gort yet): the
//! harness runs every test in its own process instead (testmain.rs says what that means).
use super::Exit;
use alloc::string::String;

/// Always an error: no child processes on this target.
pub(crate) fn run_child(_name: &str) -> Result<Exit, String> {
    Err(String::from("gort starts no processes on this OS"))
}
