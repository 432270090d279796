//! `setsockopt(2)` for plain-data option values, shared by the option setters.

use std::io;
use std::os::fd::AsRawFd;

/// `setsockopt(2)` with a plain-data value.
pub(crate) fn set_option<T>(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // Only `repr(C)` plain-data option values (c_int, TcpMd5Sig) are passed here, so
    // handing their bytes to the kernel is sound.
    #[allow(unsafe_code)]
    // SAFETY: `value` is a live reference to an initialised `T` of exactly `len` bytes, which
    // the kernel only reads during the call; the descriptor comes from `AsRawFd` on a socket
    // the caller borrows for the duration of the call, so it stays open. An invalid level,
    // name or descriptor makes setsockopt fail with an errno, never write memory.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(value).cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
