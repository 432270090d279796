//! Returning memory freed after a zone load to the operating system.
//!
//! Loading a zone builds large temporary structures; glibc keeps freed memory in its arenas,
//! so a server that loaded a big zone would keep memory it no longer uses. `malloc_trim(0)`
//! releases free pages. Here because it is an FFI call (the one-unsafe-crate rule).

/// Releases free heap memory to the OS (glibc `malloc_trim`); a no-op elsewhere.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and may be called at any time from any thread;
    // it only walks the allocator's own free lists under the allocator's locks.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}
