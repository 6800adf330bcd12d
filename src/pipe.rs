//! Pipes (Go's os.Pipe, os/pipe2_unix.go and pipe_windows.go): [`pipe`] returns a connected
//! reader and writer. On linux both ends are non-blocking and registered with the network poller
//! (Go's kindPipe): a read that finds the pipe empty or a write that finds it full parks the
//! goroutine, never the thread. darwin and windows pipes block their thread inside entersyscall
//! (windows anonymous pipes cannot be polled; darwin's kqueue poller is built but has never run,
//! so pipes stay off it until it has), and the P goes on running other goroutines.
//!
//! A write to a pipe whose reader is gone fails with `BrokenPipe`, as in Go: the runtime
//! catches SIGPIPE (signal_unix.rs), so it ends the process only for stdout and stderr.
//!
//! Each end has one owner and takes `&mut self` to read or write, so no call can be in flight
//! when it drops: dropping closes it (the reader then sees end of file, the writer `BrokenPipe`).

use crate::io::{Error, ErrorKind};
use crate::netpoll::{Mode, PollDesc};

/// One end of a pipe: the fd (or handle) and, on linux, its poll descriptor.
struct End {
    fd: usize,
    pd: Option<&'static PollDesc>,
}

impl End {
    /// Takes ownership of `fd`, registering it with the poller where pipes are polled.
    fn new(fd: usize) -> Result<End, Error> {
        #[cfg(target_os = "linux")]
        {
            match crate::netpoll::poll_open(fd) {
                Ok(pd) => Ok(End { fd, pd: Some(pd) }),
                Err(e) => {
                    let _ = crate::sys::fs::close(fd);
                    Err(Error::from_raw_os_error(e))
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        Ok(End { fd, pd: None })
    }

    /// One read or write `f(fd)`: through the poller (parked on WouldBlock) or inside
    /// entersyscall.
    fn io(&mut self, mode: Mode, mut f: impl FnMut(usize) -> Result<usize, Error>) -> Result<usize, Error> {
        let fd = self.fd;
        let Some(pd) = self.pd else {
            return crate::syscall::blocking(|| f(fd));
        };
        pd.prepare(mode)?;
        loop {
            match f(fd) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => pd.wait(mode)?,
                r => return r,
            }
        }
    }
}

impl Drop for End {
    fn drop(&mut self) {
        if let Some(pd) = self.pd {
            // No waiter can exist (reads and writes borrow the end mutably): unblock and
            // deregister, then close.
            pd.evict();
            pd.close();
        }
        let _ = crate::sys::fs::close(self.fd);
    }
}

/// Creates a pipe: what the [`PipeWriter`] writes, the [`PipeReader`] reads, in order (Go's
/// os.Pipe). Either end can move to another goroutine.
///
/// ```
/// use gort::os::pipe;
/// let (mut r, mut w) = pipe().unwrap();
/// gort::go(move || w.write_all(b"through the pipe").unwrap());
/// let mut got = alloc::vec::Vec::new();
/// r.read_to_end(&mut got).unwrap();
/// assert_eq!(got, b"through the pipe");
/// ```
pub fn pipe() -> Result<(PipeReader, PipeWriter), Error> {
    let (r, w) = crate::sys::fs::pipe()?;
    let r = match End::new(r) {
        Ok(e) => e,
        Err(e) => {
            let _ = crate::sys::fs::close(w);
            return Err(e);
        }
    };
    Ok((PipeReader { end: r }, PipeWriter { end: End::new(w)? }))
}

/// The read end of a pipe, from [`pipe`]. Implements `embedded_io::Read`.
pub struct PipeReader {
    end: End,
}

/// The write end of a pipe, from [`pipe`]. Implements `embedded_io::Write`.
pub struct PipeWriter {
    end: End,
}

impl PipeReader {
    /// Reads what is there, waiting until something is: the count, 0 once every writer is gone
    /// and the pipe is empty.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.end.io(Mode::Read, |fd| crate::sys::fs::read(fd, buf))
    }

    /// Reads to the end, appending to `out`: the count.
    pub fn read_to_end(&mut self, out: &mut alloc::vec::Vec<u8>) -> Result<usize, Error> {
        crate::fs::read_to_end_with(out, |b| self.read(b))
    }
}

impl PipeWriter {
    /// Writes some of `buf`, waiting until the pipe takes at least one byte.
    pub fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.end.io(Mode::Write, |fd| crate::sys::fs::write(fd, buf))
    }

    /// Writes all of `buf`.
    pub fn write_all(&mut self, mut buf: &[u8]) -> Result<(), Error> {
        while !buf.is_empty() {
            match self.write(buf)? {
                0 => return Err(Error::from_kind(ErrorKind::WriteZero)),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }
}

impl embedded_io::ErrorType for PipeReader {
    type Error = Error;
}

impl embedded_io::Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        PipeReader::read(self, buf)
    }
}

impl embedded_io::ErrorType for PipeWriter {
    type Error = Error;
}

impl embedded_io::Write for PipeWriter {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        PipeWriter::write(self, buf)
    }
    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

impl core::fmt::Debug for PipeReader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PipeReader").field("fd", &self.end.fd).finish()
    }
}

impl core::fmt::Debug for PipeWriter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PipeWriter").field("fd", &self.end.fd).finish()
    }
}
