//! Returning memory freed after a zone load to the operating system.
//!
//! Loading a zone builds large temporary structures (the scanned file, records before
//! grouping). glibc keeps freed memory in its arenas, so without a trim a server that loaded
//! a 1M-record zone keeps ~100 MB it no longer uses. `malloc_trim(0)` releases free pages.

/// Releases free heap memory to the OS (glibc `malloc_trim`); a no-op elsewhere.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers and is safe to call at any time from any thread;
    // it only walks the allocator's own free lists under the allocator's locks.
    #[allow(unsafe_code)]
    unsafe {
        libc::malloc_trim(0);
    }
}
