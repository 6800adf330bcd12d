//! I/O errors (the error values of Go's io, os and net packages, Rust-shaped): one [`Error`]
//! type for every I/O operation gort offers, with a [`kind`](Error::kind) (std::io::ErrorKind's
//! names where they fit) and the OS error code when the OS reported it. It implements
//! `core::error::Error`, `Display`, and the `embedded-io` crate's `Error` trait, so gort's
//! readers and writers can implement `embedded_io::{Read, Write}` (the no_std standard: protocol
//! crates written against them work over gort's I/O).
//!
//! ```
//! let e = gort::io::Error::timed_out();
//! assert_eq!(e.kind(), gort::io::ErrorKind::TimedOut);
//! assert_eq!(e.raw_os_error(), None);
//! gort::println!("{e}"); // i/o timeout
//! ```

use core::fmt;

/// Where a seek goes: from the start, the end or the current position (the `embedded-io`
/// crate's type, which its `Seek` trait takes).
pub use embedded_io::SeekFrom;

/// What went wrong, in general (std::io::ErrorKind's names; `Closed` is Go's net.ErrClosed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file or other entity was not found.
    NotFound,
    /// The operation lacked the necessary privileges.
    PermissionDenied,
    /// The remote end refused the connection.
    ConnectionRefused,
    /// The remote end reset the connection.
    ConnectionReset,
    /// The connection was aborted (by the local host).
    ConnectionAborted,
    /// The socket is not connected.
    NotConnected,
    /// The address is already in use.
    AddrInUse,
    /// The address is not available here.
    AddrNotAvailable,
    /// The network cannot be reached.
    NetworkUnreachable,
    /// The host cannot be reached.
    HostUnreachable,
    /// The other end of a pipe or socket was closed.
    BrokenPipe,
    /// The entity already exists.
    AlreadyExists,
    /// The operation would block (a non-blocking descriptor that is not ready).
    WouldBlock,
    /// An argument was invalid.
    InvalidInput,
    /// The data was not valid for the operation (a malformed reply, invalid UTF-8...).
    InvalidData,
    /// A deadline or timeout passed (Go's os.ErrDeadlineExceeded, "i/o timeout").
    TimedOut,
    /// A write returned 0 bytes written.
    WriteZero,
    /// The operation was interrupted.
    Interrupted,
    /// The operation is not supported here.
    Unsupported,
    /// The data ended before what was needed was read.
    UnexpectedEof,
    /// Memory ran out.
    OutOfMemory,
    /// A directory was expected.
    NotADirectory,
    /// A non-directory was expected.
    IsADirectory,
    /// A directory to be removed is not empty.
    DirectoryNotEmpty,
    /// The file or connection was closed by this program (Go's "use of closed network
    /// connection", "file already closed").
    Closed,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// A short description (std's wording where std has the kind).
    pub const fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::NotFound => "entity not found",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::ConnectionRefused => "connection refused",
            ErrorKind::ConnectionReset => "connection reset",
            ErrorKind::ConnectionAborted => "connection aborted",
            ErrorKind::NotConnected => "not connected",
            ErrorKind::AddrInUse => "address in use",
            ErrorKind::AddrNotAvailable => "address not available",
            ErrorKind::NetworkUnreachable => "network unreachable",
            ErrorKind::HostUnreachable => "host unreachable",
            ErrorKind::BrokenPipe => "broken pipe",
            ErrorKind::AlreadyExists => "entity already exists",
            ErrorKind::WouldBlock => "operation would block",
            ErrorKind::InvalidInput => "invalid input parameter",
            ErrorKind::InvalidData => "invalid data",
            ErrorKind::TimedOut => "i/o timeout",
            ErrorKind::WriteZero => "write zero",
            ErrorKind::Interrupted => "operation interrupted",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::UnexpectedEof => "unexpected end of file",
            ErrorKind::OutOfMemory => "out of memory",
            ErrorKind::NotADirectory => "not a directory",
            ErrorKind::IsADirectory => "is a directory",
            ErrorKind::DirectoryNotEmpty => "directory not empty",
            ErrorKind::Closed => "use of closed file or network connection",
            ErrorKind::Other => "other error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An I/O error: a kind, the OS error code if the OS reported it, and an optional message that
/// replaces the kind's description (`Error::new`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    /// The OS error code (errno; on windows GetLastError/WSAGetLastError), 0 if none.
    code: i32,
    msg: Option<&'static str>,
}

impl Error {
    /// An error of `kind` with a fixed message.
    pub const fn new(kind: ErrorKind, msg: &'static str) -> Error {
        Error { kind, code: 0, msg: Some(msg) }
    }

    /// An error of `kind` with the kind's description as its message.
    pub const fn from_kind(kind: ErrorKind) -> Error {
        Error { kind, code: 0, msg: None }
    }

    /// The error for an OS error code (errno on unix; on windows a Win32 or Winsock error): its
    /// kind comes from the OS's table.
    pub fn from_raw_os_error(code: i32) -> Error {
        Error { kind: crate::sys::error_kind(code), code, msg: None }
    }

    /// Go's os.ErrDeadlineExceeded: a deadline passed ("i/o timeout").
    pub const fn timed_out() -> Error {
        Error::from_kind(ErrorKind::TimedOut)
    }

    /// Go's net.ErrClosed: the file or connection was closed by this program.
    pub const fn closed() -> Error {
        Error::from_kind(ErrorKind::Closed)
    }

    /// What went wrong, in general.
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The OS error code, if the OS reported this error.
    pub const fn raw_os_error(&self) -> Option<i32> {
        if self.code != 0 {
            Some(self.code)
        } else {
            None
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error::from_kind(kind)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind);
        if self.code != 0 {
            d.field("code", &self.code);
        }
        if let Some(m) = self.msg {
            d.field("message", &m);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    /// The message (or the kind's description), then ` (os error N)` for an OS error, as std.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.msg.unwrap_or(self.kind.as_str()))?;
        if self.code != 0 {
            write!(f, " (os error {})", self.code)?;
        }
        Ok(())
    }
}

impl core::error::Error for Error {}

impl embedded_io::Error for Error {
    fn kind(&self) -> embedded_io::ErrorKind {
        use embedded_io::ErrorKind as E;
        match self.kind {
            ErrorKind::NotFound => E::NotFound,
            ErrorKind::PermissionDenied => E::PermissionDenied,
            ErrorKind::ConnectionRefused => E::ConnectionRefused,
            ErrorKind::ConnectionReset => E::ConnectionReset,
            ErrorKind::ConnectionAborted => E::ConnectionAborted,
            ErrorKind::NotConnected | ErrorKind::Closed => E::NotConnected,
            ErrorKind::AddrInUse => E::AddrInUse,
            ErrorKind::AddrNotAvailable => E::AddrNotAvailable,
            ErrorKind::BrokenPipe => E::BrokenPipe,
            ErrorKind::AlreadyExists => E::AlreadyExists,
            ErrorKind::InvalidInput => E::InvalidInput,
            ErrorKind::InvalidData => E::InvalidData,
            ErrorKind::TimedOut => E::TimedOut,
            ErrorKind::WriteZero => E::WriteZero,
            ErrorKind::Interrupted => E::Interrupted,
            ErrorKind::Unsupported => E::Unsupported,
            ErrorKind::OutOfMemory => E::OutOfMemory,
            _ => E::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn os_errors_map_to_kinds_and_print_like_std() {
        #[cfg(target_os = "linux")]
        {
            let e = Error::from_raw_os_error(111);
            assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
            assert_eq!(e.raw_os_error(), Some(111));
            assert_eq!(e.to_string(), "connection refused (os error 111)");
            assert_eq!(Error::from_raw_os_error(2).kind(), ErrorKind::NotFound);
            assert_eq!(Error::from_raw_os_error(11).kind(), ErrorKind::WouldBlock);
            assert_eq!(Error::from_raw_os_error(32).kind(), ErrorKind::BrokenPipe);
            assert_eq!(Error::from_raw_os_error(98).kind(), ErrorKind::AddrInUse);
            assert_eq!(Error::from_raw_os_error(9999).kind(), ErrorKind::Other);
        }
        assert_eq!(Error::timed_out().to_string(), "i/o timeout");
        assert_eq!(Error::timed_out().raw_os_error(), None);
        assert_eq!(Error::new(ErrorKind::InvalidData, "bad reply").to_string(), "bad reply");
        assert_eq!(embedded_io::Error::kind(&Error::closed()), embedded_io::ErrorKind::NotConnected);
    }
}
