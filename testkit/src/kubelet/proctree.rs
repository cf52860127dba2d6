//! All processes of a container: everything sharing the PID namespace of its init. Used to
//! freeze/thaw a whole container (a JVM forked by a start script is not init's pid).

/// Pids (host view) in the same PID namespace as `init_pid`, init first.
pub fn container_pids(init_pid: u32) -> Vec<i32> {
    let Ok(target) = std::fs::read_link(format!("/proc/{init_pid}/ns/pid")) else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/ns/pid")).is_ok_and(|ns| ns == target)
        })
        .collect();
    pids.sort_by_key(|p| (*p != init_pid as i32, *p));
    pids
}

/// Sends `sig` to every process of the container. Twice for SIGSTOP, so a process forked
/// while the first pass ran is caught too.
pub fn signal_all(init_pid: u32, sig: i32) -> usize {
    let passes = if sig == libc::SIGSTOP { 2 } else { 1 };
    let mut n = 0;
    for _ in 0..passes {
        let pids = container_pids(init_pid);
        n = pids.len();
        for pid in pids {
            super::process::signal(pid, sig);
        }
    }
    n
}
