//! A child process that cannot outlive this one (`PR_SET_PDEATHSIG`), with stdout and stderr
//! in a log file: for benchmarks that run the operator binary beside a control plane.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::controlplane::process::Managed;

pub struct ChildProcess(Managed);

impl ChildProcess {
    /// Starts `program args` with `env` added to this process's environment.
    pub fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        cwd: &Path,
        log: PathBuf,
    ) -> Result<Self> {
        Managed::spawn_with_env(name, program, args, env, cwd, log).map(Self)
    }

    pub fn pid(&self) -> u32 {
        self.0.pid()
    }

    /// `Some(exit status)` once it has exited.
    pub fn exited(&mut self) -> Option<String> {
        self.0.exited()
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.0.log_tail(lines)
    }

    /// SIGTERM, SIGKILL after `grace`.
    pub async fn terminate(&mut self, grace: Duration) {
        self.0.terminate(grace).await
    }
}
