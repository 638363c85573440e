//! The host's stand-in for a device's network stack and board support: raw `libc` calls
//! (`socket`, `connect`, `poll`, `recv`, `send`, `clock_gettime`, `getrandom`, `write`,
//! `exit`) behind the [`embedded_io`] traits and [`crate::platform`]'s two.
//!
//! This is the only module with `unsafe` code and the only one that knows it runs on Linux. A
//! device port replaces it: a smoltcp or embassy-net socket implements
//! [`Socket`](crate::platform::Socket), a hardware timer [`Clock`](crate::platform::Clock),
//! a UART the console; see [`crate::platform`].
//!
//! The socket is non-blocking underneath, so that connecting and writing are bounded in time
//! too: `read` and `write` wait with `poll` for at most the socket's I/O timeout and fail with
//! `ETIMEDOUT` after it. `send` uses `MSG_NOSIGNAL`, so a peer that went away is an `EPIPE`
//! error rather than a `SIGPIPE` that kills the program.

use core::ffi::{c_char, c_int, c_void, CStr};
use core::fmt;
use core::net::Ipv4Addr;

use embedded_io::{ErrorKind, ErrorType, Read, ReadReady, Write};
use warp_proto::ws::Instant;

use crate::platform::{Clock, Socket};

/// The system call that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// `socket`.
    Socket,
    /// `connect` (including waiting for it to complete).
    Connect,
    /// `recv`.
    Read,
    /// `send`.
    Write,
    /// `poll`.
    Poll,
    /// `getrandom`.
    Random,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Socket => "socket",
            Op::Connect => "connect",
            Op::Read => "recv",
            Op::Write => "send",
            Op::Poll => "poll",
            Op::Random => "getrandom",
        })
    }
}

/// A failed system call: which one and its `errno`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OsError {
    /// The call.
    pub op: Op,
    /// Its `errno` (`ETIMEDOUT` when the shim's own time limit ran out).
    pub errno: i32,
}

impl OsError {
    fn last(op: Op) -> Self {
        OsError { op, errno: errno() }
    }

    fn timed_out(op: Op) -> Self {
        OsError {
            op,
            errno: libc::ETIMEDOUT,
        }
    }
}

impl fmt::Display for OsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.errno {
            libc::ECONNREFUSED => "connection refused",
            libc::ECONNRESET => "connection reset by the peer",
            libc::ETIMEDOUT => "timed out",
            libc::EPIPE => "the peer closed the connection",
            libc::EHOSTUNREACH => "host unreachable",
            libc::ENETUNREACH => "network unreachable",
            libc::EADDRNOTAVAIL => "address not available",
            _ => "system error",
        };
        write!(f, "{}: {what} (os error {})", self.op, self.errno)
    }
}

impl core::error::Error for OsError {}

impl embedded_io::Error for OsError {
    fn kind(&self) -> ErrorKind {
        match self.errno {
            libc::ECONNREFUSED => ErrorKind::ConnectionRefused,
            libc::ECONNRESET => ErrorKind::ConnectionReset,
            libc::ECONNABORTED => ErrorKind::ConnectionAborted,
            libc::ENOTCONN => ErrorKind::NotConnected,
            libc::EADDRNOTAVAIL => ErrorKind::AddrNotAvailable,
            libc::EPIPE => ErrorKind::BrokenPipe,
            libc::ETIMEDOUT => ErrorKind::TimedOut,
            libc::EINTR => ErrorKind::Interrupted,
            libc::EACCES | libc::EPERM => ErrorKind::PermissionDenied,
            libc::EINVAL => ErrorKind::InvalidInput,
            _ => ErrorKind::Other,
        }
    }
}

/// The calling thread's `errno`.
fn errno() -> i32 {
    // SAFETY: `__errno_location` returns a valid pointer to the calling thread's errno.
    unsafe { *libc::__errno_location() }
}

/// Waits with `poll` for `events` on `fd`, at most `timeout_ms` (-1: no limit). The events
/// that happened (0 when the time ran out or a signal interrupted the wait).
fn poll_fd(fd: c_int, events: i16, timeout_ms: c_int) -> Result<i16, OsError> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: `pfd` is a valid, exclusive pollfd array of length 1 for the call's duration.
    let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    if n < 0 {
        return match errno() {
            libc::EINTR => Ok(0),
            e => Err(OsError {
                op: Op::Poll,
                errno: e,
            }),
        };
    }
    Ok(if n == 0 { 0 } else { pfd.revents })
}

/// A milliseconds count as `poll` takes it.
fn poll_timeout(ms: u32) -> c_int {
    c_int::try_from(ms).unwrap_or(c_int::MAX)
}

/// A TCP connection over IPv4 through the C library's socket calls.
///
/// Closed when dropped.
#[derive(Debug)]
pub struct LibcSocket {
    fd: c_int,
    io_timeout_ms: u32,
}

impl LibcSocket {
    /// Connects to `addr:port`, waiting at most `timeout_ms`. Later reads and writes that
    /// cannot go on wait at most `timeout_ms` each too.
    pub fn connect(addr: Ipv4Addr, port: u16, timeout_ms: u32) -> Result<Self, OsError> {
        let flags = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        // SAFETY: plain system call with integer arguments.
        let fd = unsafe { libc::socket(libc::AF_INET, flags, 0) };
        if fd < 0 {
            return Err(OsError::last(Op::Socket));
        }
        // From here on `Drop` closes the descriptor on every path.
        let socket = LibcSocket {
            fd,
            io_timeout_ms: timeout_ms,
        };
        let sockaddr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(addr.octets()),
            },
            sin_zero: [0; 8],
        };
        let len = core::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        // SAFETY: `sockaddr` is a valid sockaddr_in and `len` its size.
        let r = unsafe {
            libc::connect(
                fd,
                (&sockaddr as *const libc::sockaddr_in).cast::<libc::sockaddr>(),
                len,
            )
        };
        if r < 0 {
            match errno() {
                // Non-blocking: the connection goes on in the background.
                libc::EINPROGRESS | libc::EINTR => socket.finish_connect()?,
                e => {
                    return Err(OsError {
                        op: Op::Connect,
                        errno: e,
                    })
                }
            }
        }
        socket.set_no_delay();
        Ok(socket)
    }

    /// Waits for a connection in progress and reads how it ended.
    fn finish_connect(&self) -> Result<(), OsError> {
        if poll_fd(self.fd, libc::POLLOUT, poll_timeout(self.io_timeout_ms))? == 0 {
            return Err(OsError::timed_out(Op::Connect));
        }
        let mut error: c_int = 0;
        let mut len = core::mem::size_of::<c_int>() as libc::socklen_t;
        // SAFETY: `error` and `len` are valid for writes of the sizes given.
        let r = unsafe {
            libc::getsockopt(
                self.fd,
                libc::SOL_SOCKET,
                libc::SO_ERROR,
                (&mut error as *mut c_int).cast::<c_void>(),
                &mut len,
            )
        };
        if r < 0 {
            return Err(OsError::last(Op::Connect));
        }
        if error != 0 {
            return Err(OsError {
                op: Op::Connect,
                errno: error,
            });
        }
        Ok(())
    }

    /// Turns Nagle's algorithm off: WARP frames are small and each one matters now. A failure
    /// only costs latency, so it is ignored.
    fn set_no_delay(&self) {
        let on: c_int = 1;
        let len = core::mem::size_of::<c_int>() as libc::socklen_t;
        // SAFETY: `on` is valid for reads of `len` bytes.
        unsafe {
            libc::setsockopt(
                self.fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&on as *const c_int).cast::<c_void>(),
                len,
            );
        }
    }

    /// Waits for `events`, at most the I/O timeout; `ETIMEDOUT` when it runs out.
    fn wait_for(&self, events: i16, op: Op) -> Result<(), OsError> {
        if poll_fd(self.fd, events, poll_timeout(self.io_timeout_ms))? == 0 {
            return Err(OsError::timed_out(op));
        }
        Ok(())
    }
}

impl Drop for LibcSocket {
    fn drop(&mut self) {
        // SAFETY: the descriptor is owned by this value and closed once, here.
        unsafe {
            libc::close(self.fd);
        }
    }
}

impl ErrorType for LibcSocket {
    type Error = OsError;
}

impl Read for LibcSocket {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, OsError> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
            let n = unsafe { libc::recv(self.fd, buf.as_mut_ptr().cast::<c_void>(), buf.len(), 0) };
            if let Ok(n) = usize::try_from(n) {
                return Ok(n);
            }
            match errno() {
                libc::EINTR => continue,
                libc::EAGAIN => self.wait_for(libc::POLLIN, Op::Read)?,
                e => {
                    return Err(OsError {
                        op: Op::Read,
                        errno: e,
                    })
                }
            }
        }
    }
}

impl ReadReady for LibcSocket {
    fn read_ready(&mut self) -> Result<bool, OsError> {
        Ok(poll_fd(self.fd, libc::POLLIN, 0)? != 0)
    }
}

impl Write for LibcSocket {
    fn write(&mut self, buf: &[u8]) -> Result<usize, OsError> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            // SAFETY: `buf` is valid for reads of `buf.len()` bytes.
            let n = unsafe {
                libc::send(
                    self.fd,
                    buf.as_ptr().cast::<c_void>(),
                    buf.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
            if let Ok(n) = usize::try_from(n) {
                return Ok(n);
            }
            match errno() {
                libc::EINTR => continue,
                libc::EAGAIN => self.wait_for(libc::POLLOUT, Op::Write)?,
                e => {
                    return Err(OsError {
                        op: Op::Write,
                        errno: e,
                    })
                }
            }
        }
    }

    fn flush(&mut self) -> Result<(), OsError> {
        // `send` hands the bytes to the kernel; there is nothing buffered here.
        Ok(())
    }
}

impl Socket for LibcSocket {
    fn wait_readable(&mut self, timeout_ms: u32) -> Result<bool, OsError> {
        Ok(poll_fd(self.fd, libc::POLLIN, poll_timeout(timeout_ms))? != 0)
    }
}

/// `CLOCK_MONOTONIC` in milliseconds since the clock was made.
#[derive(Debug)]
pub struct MonotonicClock {
    epoch_ms: u64,
}

impl MonotonicClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        MonotonicClock {
            epoch_ms: monotonic_ms(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&mut self) -> Instant {
        Instant::from_millis(monotonic_ms().saturating_sub(self.epoch_ms))
    }
}

/// `clock_gettime(CLOCK_MONOTONIC)` in milliseconds (0 if the call fails, which Linux does
/// not do for this clock).
fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writes.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let millis = u64::try_from(ts.tv_nsec).unwrap_or(0) / 1_000_000;
    secs.saturating_mul(1000).saturating_add(millis)
}

/// Fills `buf` with random bytes from the kernel (`getrandom`): the WebSocket key and the
/// masking seed. A device reads its hardware RNG instead.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), OsError> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        // SAFETY: `rest` is valid for writes of `rest.len()` bytes.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast::<c_void>(), rest.len(), 0) };
        match usize::try_from(n) {
            Ok(n) => filled += n,
            Err(_) if errno() == libc::EINTR => {}
            Err(_) => return Err(OsError::last(Op::Random)),
        }
    }
    Ok(())
}

/// Ends the program with `code`.
pub fn exit(code: i32) -> ! {
    // SAFETY: `exit` is always safe to call; it does not return.
    unsafe { libc::exit(code) }
}

/// Ends the program at once with `SIGABRT`.
pub fn abort() -> ! {
    // SAFETY: `abort` is always safe to call; it does not return.
    unsafe { libc::abort() }
}

/// Writes all of `bytes` to the file descriptor; false if it could not.
fn write_fd(fd: c_int, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for reads of `bytes.len()` bytes.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast::<c_void>(), bytes.len()) };
        match usize::try_from(n) {
            Ok(0) => return false,
            Ok(n) => bytes = bytes.get(n..).unwrap_or(&[]),
            Err(_) if errno() == libc::EINTR => {}
            Err(_) => return false,
        }
    }
    true
}

/// Bytes a [`Console`] holds before writing them out.
pub const CONSOLE_BUFFER: usize = 256;

/// Standard output or error as a [`core::fmt::Write`], line-buffered: each line goes out in
/// one `write` when it fits the buffer (a device would use its UART or RTT channel).
///
/// Flushes on every newline, when full, and when dropped.
pub struct Console {
    fd: c_int,
    buf: [u8; CONSOLE_BUFFER],
    len: usize,
}

impl Console {
    /// Standard output (file descriptor 1).
    pub const fn stdout() -> Self {
        Console {
            fd: 1,
            buf: [0; CONSOLE_BUFFER],
            len: 0,
        }
    }

    /// Standard error (file descriptor 2).
    pub const fn stderr() -> Self {
        Console {
            fd: 2,
            buf: [0; CONSOLE_BUFFER],
            len: 0,
        }
    }

    /// Writes out what is buffered; false if the write failed (the bytes are dropped).
    pub fn flush(&mut self) -> bool {
        let pending = self.buf.get(..self.len).unwrap_or(&[]);
        let ok = write_fd(self.fd, pending);
        self.len = 0;
        ok
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &byte in s.as_bytes() {
            if self.len >= self.buf.len() && !self.flush() {
                return Err(fmt::Error);
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = byte;
                self.len += 1;
            }
            if byte == b'\n' && !self.flush() {
                return Err(fmt::Error);
            }
        }
        Ok(())
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.flush();
    }
}

impl fmt::Debug for Console {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Console")
            .field("fd", &self.fd)
            .field("buffered", &self.len)
            .finish()
    }
}

/// The program's arguments as byte strings, read from C's `argv` without copying.
#[derive(Clone, Debug)]
pub struct Argv<'a> {
    argv: &'a [*const c_char],
    next: usize,
}

impl<'a> Argv<'a> {
    /// The arguments of C's `main(argc, argv)`, the program name included.
    ///
    /// # Safety
    ///
    /// `argv` must point to `argc` valid pointers to NUL-terminated strings that stay valid
    /// and unchanged for `'a` (true of the arguments the C runtime passes to `main`, for the
    /// whole run). A null `argv` or a negative `argc` gives no arguments.
    pub unsafe fn from_raw(argc: c_int, argv: *const *const c_char) -> Self {
        let count = usize::try_from(argc).unwrap_or(0);
        let argv = if argv.is_null() || count == 0 {
            &[][..]
        } else {
            // SAFETY: the caller promises `argc` valid pointers at `argv` for `'a`.
            unsafe { core::slice::from_raw_parts(argv, count) }
        };
        Argv { argv, next: 0 }
    }
}

impl<'a> Iterator for Argv<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let &ptr = self.argv.get(self.next)?;
        self.next += 1;
        if ptr.is_null() {
            return Some(&[]);
        }
        // SAFETY: `from_raw`'s caller promised a valid NUL-terminated string living for `'a`.
        Some(unsafe { CStr::from_ptr(ptr) }.to_bytes())
    }
}
