//! Running the host tools a node needs (ip, ctr, sysctl, umount) and failing with their
//! output: a bare "exit status 1" says nothing about why a bridge could not be made.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Runs `program args`, returns stdout; an error carries stderr.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program}"))?;
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

/// [`run`] for teardown, where a failure is expected (already gone) and not an error.
pub(crate) fn quietly(program: &str, args: &[&str]) {
    let _ = Command::new(program).args(args).output();
}
