//! What a syndic process sets up first, the engine's and the load harness's alike: the open-file limit, and
//! how malloc returns large blocks.

/// Raises the soft open-file limit to the hard one: each API connection holds a descriptor, and the default
/// soft limit (often 1,024) is the first thing a crowd of idle clients would exhaust.
pub fn raise_open_file_limit() {
    let before = rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(before = before.ok(), open_files = limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open-file limit"),
    }
}

/// glibc's malloc raises its mmap threshold each time a large block is freed, so that later large blocks (a
/// 19 MiB argon2 hash, a multi-megabyte feed body) are carved from per-thread arenas, which keep the memory once
/// small allocations sit above it: a burst of 64 logins left the process at 380 MB. A fixed 1 MiB threshold
/// makes every large block an mapping of its own, unmapped when freed: the same burst peaks at 85 MB and falls
/// back to 47 MB. jemalloc and mimalloc were measured too and kept more (BENCHMARKS.md, "Memory after a burst of
/// logins").
pub fn return_large_blocks_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter, under malloc's own lock; the runtime's threads may already
    // exist, and their arenas simply follow the new threshold from their next large block on.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
