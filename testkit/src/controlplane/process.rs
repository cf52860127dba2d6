//! Child processes of a control plane: spawned so they cannot outlive the test process, with
//! stdout and stderr captured in a log file.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Sender, SyncSender};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// One running component (etcd, kube-apiserver, ...).
pub(crate) struct Managed {
    pub(crate) name: &'static str,
    pub(crate) log: PathBuf,
    child: Child,
}

type SpawnJob = (Command, SyncSender<io::Result<Child>>);

/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the process.
/// Tests fork from short-lived threads (each test has its own, Tokio has blocking pools), so a
/// control plane shared between tests would be killed when the test that started it ends.
/// Every fork therefore happens on one thread that lives as long as the process.
fn spawner() -> &'static Mutex<Sender<SpawnJob>> {
    static SPAWNER: OnceLock<Mutex<Sender<SpawnJob>>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("zk-testkit-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    // The requester may have given up; nothing to do then (its Drop kills nothing
                    // it does not know about, so kill the orphan here).
                    if let Err(Ok(mut orphan)) = reply.send(cmd.spawn()).map_err(|e| e.0) {
                        let _ = orphan.kill();
                        let _ = orphan.wait();
                    }
                }
            })
            .expect("cannot start the process spawner thread");
        Mutex::new(tx)
    })
}

impl Managed {
    /// Starts `program args` with stdout/stderr appended to `log`, killed (SIGKILL) by the kernel
    /// if the test process dies first.
    pub(crate) fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        cwd: &Path,
        log: PathBuf,
    ) -> Result<Managed> {
        Self::spawn_with_env(name, program, args, &[], cwd, log)
    }

    /// [`Self::spawn`] with extra environment variables.
    pub(crate) fn spawn_with_env(
        name: &'static str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        cwd: &Path,
        log: PathBuf,
    ) -> Result<Managed> {
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("cannot open log file {}", log.display()))?;
        let err = out
            .try_clone()
            .context("cannot duplicate log file handle")?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) run between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                // If the test process died between fork and prctl, no signal will ever come.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let (reply_tx, reply_rx) = mpsc::sync_channel(1);
        spawner()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .send((cmd, reply_tx))
            .context("process spawner thread is gone")?;
        let child = reply_rx
            .recv()
            .context("process spawner thread is gone")?
            .with_context(|| format!("cannot start {name} ({})", program.display()))?;
        Ok(Managed { name, log, child })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some(description)` once the process has exited.
    pub(crate) fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("cannot be waited for: {e}")),
        }
    }

    /// SIGTERM, then SIGKILL after `grace`. Never blocks the async runtime for long.
    pub(crate) async fn terminate(&mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        // The child is not reaped yet (try_wait said so), so its pid cannot have been reused.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.kill();
    }

    /// SIGKILL and reap, synchronously: used from Drop, where nothing may be left behind.
    pub(crate) fn kill(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// The last `lines` lines of the log, for error messages.
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Last `lines` lines of a file (reads at most the last 64 KiB).
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let read = || -> io::Result<String> {
        let mut f = File::open(path)?;
        let len = f.metadata()?.len();
        f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    match read() {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}
