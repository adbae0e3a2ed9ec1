//! CPU time (user plus system) of this process, of one of its threads, or of another process, from /proc: the
//! sustained scenario's cost per poll, with the farm's thread and the database server apart.

use std::time::Duration;

/// CPU time this whole process has used; None where there is no /proc.
pub fn process() -> Option<Duration> {
    from_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// CPU time the thread `thread` (a kernel thread id of this process) has used.
pub fn thread(thread: u32) -> Option<Duration> {
    from_stat(&std::fs::read_to_string(format!("/proc/self/task/{thread}/stat")).ok()?)
}

/// CPU time the process `process` has used, if it is still there.
pub fn other_process(process: u32) -> Option<Duration> {
    from_stat(&std::fs::read_to_string(format!("/proc/{process}/stat")).ok()?)
}

/// The kernel's id of the calling thread, for `thread`.
pub fn current_thread_id() -> Option<u32> {
    // "/proc/thread-self" links to "{pid}/task/{tid}".
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// utime plus stime of a `stat` line, in clock ticks converted to time.
fn from_stat(stat: &str) -> Option<Duration> {
    // The command name, in parentheses, may hold spaces: count the fields after its closing parenthesis, where
    // the state is field 3 and utime and stime are fields 14 and 15.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_secs_f64((user + system) as f64 / ticks_per_second()))
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a constant of the system and has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        // The value Linux reports /proc times in on every common architecture.
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_added_after_a_name_with_spaces() {
        let stat = "1234 (tokio runtime) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 9 0 100 1000 50";
        let seconds = 400.0 / ticks_per_second();
        assert_eq!(from_stat(stat), Some(Duration::from_secs_f64(seconds)));
    }

    #[test]
    fn this_thread_is_found_and_has_used_some_time() {
        let busy_until = std::time::Instant::now() + Duration::from_millis(50);
        while std::time::Instant::now() < busy_until {}
        let thread_id = current_thread_id().expect("a thread id");
        let used = thread(thread_id).expect("the thread's stat");
        assert!(used <= process().expect("the process's stat"));
        assert!(used > Duration::ZERO, "{used:?}");
    }
}
