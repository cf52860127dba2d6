//! Running host tools (`ip`, `kill`): failures carry the tool's stderr so that a broken
//! environment (no root, no iproute2) is reported clearly instead of silently ignored.

use anyhow::{Context, bail};
use std::process::Stdio;

/// Runs a program to completion, failing with its stderr on a non-zero exit.
pub async fn run(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("spawning {program}"))?;
    checked(program, args, out)
}

/// Blocking variant for teardown paths that run in `Drop` (no runtime available there).
pub fn run_sync(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("spawning {program}"))?;
    checked(program, args, out)
}

/// The program's stdout, or an error with its stderr when it exited non-zero.
fn checked(program: &str, args: &[&str], out: std::process::Output) -> anyhow::Result<String> {
    if !out.status.success() {
        bail!(
            "{program} {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
