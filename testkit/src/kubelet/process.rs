//! Starting processes for containers and for exec probes, so that they can never outlive
//! the kubelet and their exit status is reported faithfully.
//!
//! A container is two processes: our direct child A enters a new PID namespace and forks
//! B, which becomes PID 1 there and execs `ip netns exec NS unshare --mount ... bash
//! WRAPPER ARGV`. A only waits for B and exits with B's status (128 + signal when B was
//! killed). We do not use `unshare --pid --fork` for this because util-linux 2.38's unshare
//! exits 1 instead of re-raising when its child dies of SIGKILL, which would hide the
//! 137 a kill must show. A and B carry PR_SET_PDEATHSIG(SIGKILL): the kubelet dying kills
//! A, A dying kills B, and B dying (PID 1) makes the kernel kill its whole namespace.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::process::{Child, Command};

/// What a container process needs.
pub struct SpawnSpec<'a> {
    pub netns: &'a str,
    pub wrapper: &'a Path,
    pub argv: &'a [String],
    pub env: &'a [(String, String)],
    pub log: &'a Path,
}

/// A started container. `outer_pid` is A (our direct child); `init_pid` is B, PID 1 of the
/// container's PID namespace: the target for signals and `nsenter`.
pub struct Started {
    pub child: Child,
    pub outer_pid: u32,
    pub init_pid: Option<u32>,
}

/// Spawns the container (see the module docs), output appended to `log`.
pub async fn spawn_container(spec: &SpawnSpec<'_>) -> anyhow::Result<Started> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(spec.log)
        .with_context(|| format!("opening {}", spec.log.display()))?;
    let log2 = log.try_clone()?;
    let mut cmd = Command::new(tool("ip"));
    cmd.args(["netns", "exec", spec.netns])
        .arg(tool("unshare"))
        .args([
            "--mount",
            "--uts",
            "--ipc",
            "--propagation",
            "private",
            "/bin/bash",
        ])
        .arg(spec.wrapper)
        .args(spec.argv)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .kill_on_drop(true);
    // SAFETY: the hook only makes async-signal-safe calls (see `pid_namespace_init`).
    unsafe { cmd.pre_exec(pid_namespace_init) };
    let child = cmd.spawn().context("spawning the container process")?;
    let outer_pid = child
        .id()
        .context("container process exited before it had a pid")?;
    let init_pid = find_child(outer_pid).await;
    Ok(Started {
        child,
        outer_pid,
        init_pid,
    })
}

/// Runs `argv` inside a container's namespaces (exec probes, preStop hooks) with its env;
/// on timeout the whole process group is killed. `Ok(None)` means it timed out.
pub async fn exec_in(
    init_pid: u32,
    argv: &[String],
    env: &[(String, String)],
    timeout: Duration,
) -> anyhow::Result<Option<(ExitStatus, String)>> {
    let mut cmd = Command::new(tool("nsenter"));
    cmd.arg("-t")
        .arg(init_pid.to_string())
        .args(["-m", "-u", "-i", "-n", "-p", "-w", "--"])
        .args(argv)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    die_with_parent(&mut cmd);
    let child = cmd.spawn().context("spawning nsenter")?;
    let pgid = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(out) => {
            let out = out.context("waiting for nsenter")?;
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            Ok(Some((out.status, text)))
        }
        Err(_) => {
            // nsenter forks for the PID namespace; its child is in the same process group.
            if let Some(pgid) = pgid {
                signal(-(pgid as i32), libc::SIGKILL);
            }
            Ok(None)
        }
    }
}

/// Sends `sig` to a pid (negative: process group). Errors (already gone) are irrelevant.
pub fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) with plain integers; no memory is involved.
    unsafe { libc::kill(pid, sig) };
}

/// Exit code as Kubernetes reports it: the code, or 128 + signal.
pub fn exit_code(status: &ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

/// Sets PR_SET_PDEATHSIG so the child is SIGKILLed if the kubelet's thread/process dies.
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: the closure only calls async-signal-safe prctl(2) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Runs in the forked child A before exec: new PID namespace, fork B (returns in B, which
/// goes on to exec), A waits for B and exits with its status. Only async-signal-safe calls:
/// this runs between fork and exec in a multi-threaded process.
fn pid_namespace_init() -> std::io::Result<()> {
    // SAFETY: raw syscalls on integers; no allocation, no locks.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0
            || libc::unshare(libc::CLONE_NEWPID) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        let pid = libc::fork();
        if pid < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if pid == 0 {
            // B: PID 1 of the new namespace; dies with A.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            return Ok(());
        }
        // A: close everything, notably std's exec-error pipe, whose open write end would
        // make the parent's spawn() wait for A's exit instead of B's exec.
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        let mut status = 0;
        loop {
            let r = libc::waitpid(pid, &mut status, 0);
            if r == pid {
                break;
            }
            if r < 0 && *libc::__errno_location() != libc::EINTR {
                libc::_exit(255);
            }
        }
        if libc::WIFEXITED(status) {
            libc::_exit(libc::WEXITSTATUS(status));
        }
        libc::_exit(128 + libc::WTERMSIG(status));
    }
}

/// PID 1 of the container: A's only child, read from /proc (up to ~2 s).
async fn find_child(parent: u32) -> Option<u32> {
    let path = format!("/proc/{parent}/task/{parent}/children");
    for _ in 0..200 {
        if let Ok(s) = tokio::fs::read_to_string(&path).await
            && let Some(pid) = s.split_whitespace().next().and_then(|p| p.parse().ok())
        {
            return Some(pid);
        }
        if !Path::new(&format!("/proc/{parent}")).exists() {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

/// Absolute path of a host tool (the container env's PATH must not decide which `ip` runs).
pub fn tool(name: &str) -> PathBuf {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}
