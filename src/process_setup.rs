//! What a syndic process sets up first, the engine's and the load harness's alike: the open-file limit, how
//! malloc returns large blocks, and how often it hands back what was freed inside its heaps.

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

/// Every `period` (none when it is zero), hands the memory freed inside malloc's heaps back to the system, on
/// the blocking pool. glibc returns a heap's free memory only from its top: a burst of work (10,000 event
/// streams opened 200 at a time) leaves freed pages between the blocks that stay in use, and they stay resident.
/// `malloc_trim(0)` releases every whole free page of every arena, wherever it lies (glibc 2.8 on): with 10,000
/// idle streams, 4.6-6.7 MiB came back within 40 s (BENCHMARKS.md, "Event streams"). Needs a Tokio runtime.
pub fn trim_freed_memory_every(period: std::time::Duration) -> Option<tokio::task::JoinHandle<()>> {
    if period.is_zero() || !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let started = std::time::Instant::now();
            match tokio::task::spawn_blocking(trim_freed_memory).await {
                Ok(released) => tracing::debug!(released, took = ?started.elapsed(), "trimmed malloc's heaps"),
                Err(error) => tracing::warn!(%error, "trimming malloc's heaps failed"),
            }
        }
    }))
}

/// Whether `malloc_trim` released any memory.
fn trim_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes each arena's own lock while it releases that arena's free pages; it reads and
    // writes nothing of ours.
    unsafe {
        libc::malloc_trim(0) == 1
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use std::time::Duration;

    use super::trim_freed_memory_every;

    fn resident_bytes() -> u64 {
        syndic_testkit::process::resident_bytes().expect("/proc/self/status")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn freed_pages_between_blocks_in_use_go_back_to_the_system() {
        assert!(trim_freed_memory_every(Duration::ZERO).is_none());
        // 64 MiB in 1,000-byte blocks, then every block freed but one in 64: each kept block holds its page, and
        // the free pages between them stay resident, as they are not at the top of the heap.
        let mut blocks: Vec<Vec<u8>> = (0..65_536).map(|index| vec![index as u8; 1_000]).collect();
        let kept: Vec<Vec<u8>> = blocks.drain(..).step_by(64).collect();
        let before = resident_bytes();
        let trim = trim_freed_memory_every(Duration::from_millis(20)).expect("glibc");
        let mut after = before;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            after = resident_bytes();
            if before - after.min(before) > 32 << 20 {
                break;
            }
        }
        trim.abort();
        assert_eq!(kept.len(), 1_024);
        assert!(
            before.saturating_sub(after) > 32 << 20,
            "resident {before} bytes before the trims, {after} after"
        );
    }
}
