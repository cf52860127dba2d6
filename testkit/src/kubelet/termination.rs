//! Termination messages as the kubelet fills them (pkg/kubelet/kuberuntime,
//! `getTerminationMessage` and `readLastStringFromContainerLogs`): the file the container
//! wrote at `terminationMessagePath` (a fresh file per run, bind-mounted there), else, with
//! `terminationMessagePolicy: FallbackToLogsOnError` and a non-zero exit, the tail of this
//! run's log.

use super::wrapper::MountPlan;
use k8s_openapi::api::core::v1::Container;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The kubelet reads at most this much of the message file (`maxMsgSize`).
const MAX_FILE_BYTES: u64 = 4 * 1024;
/// The log fallback: at most the last 80 lines and 2048 bytes
/// (`MaxContainerTerminationMessageLogLines` / `MaxContainerTerminationMessageLogLength`).
const LOG_TAIL_LINES: usize = 80;
const LOG_TAIL_BYTES: usize = 2048;

const DEFAULT_PATH: &str = "/dev/termination-log";

/// One run's message file on the host and where it is mounted in the container.
pub struct MessageFile {
    pub host: PathBuf,
    pub mount: MountPlan,
}

/// Creates an empty message file for this run (a restart must not report the previous
/// run's words) and plans its bind mount. The mountpoint is created on the host if missing
/// (`/dev/termination-log` stays there as an empty file), like any other mountPath here.
pub fn prepare(pod_dir: &Path, c: &Container) -> std::io::Result<MessageFile> {
    let host = pod_dir.join(format!("termination-{}", c.name));
    std::fs::write(&host, b"")?;
    let target = c
        .termination_message_path
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| DEFAULT_PATH.to_string());
    Ok(MessageFile {
        mount: MountPlan {
            host: host.clone(),
            target,
            read_only: false,
            is_file: true,
        },
        host,
    })
}

/// The message for a run that ended with `exit_code`; `log` is the container's log and
/// `log_start` its length when this run started (the log holds every run).
pub fn message(
    c: &Container,
    file: &Path,
    exit_code: i32,
    log: &Path,
    log_start: u64,
) -> Option<String> {
    let written = read_head(file, MAX_FILE_BYTES);
    if written.as_deref().is_some_and(|m| !m.is_empty()) {
        return written;
    }
    let fallback = c.termination_message_policy.as_deref() == Some("FallbackToLogsOnError");
    if !fallback || exit_code == 0 {
        return None;
    }
    let run = read_from(log, log_start)?;
    let tail = tail(&run, LOG_TAIL_LINES, LOG_TAIL_BYTES);
    (!tail.is_empty()).then_some(tail)
}

fn read_head(path: &Path, limit: u64) -> Option<String> {
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(limit)
        .read_to_end(&mut buf)
        .ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn read_from(path: &Path, offset: u64) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    f.seek(SeekFrom::Start(offset)).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// The last `lines` lines, then at most the last `bytes` bytes of those (cut on a char
/// boundary), as the kubelet does.
fn tail(text: &str, lines: usize, bytes: usize) -> String {
    let trimmed = text.strip_suffix('\n').unwrap_or(text);
    let start = trimmed
        .rmatch_indices('\n')
        .nth(lines.saturating_sub(1))
        .map_or(0, |(i, _)| i + 1);
    let last = &text[start..];
    let mut cut = last.len().saturating_sub(bytes);
    while !last.is_char_boundary(cut) {
        cut += 1;
    }
    last[cut..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_last_lines_then_last_bytes() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let t = tail(&text, 80, 2048);
        assert!(t.starts_with("line 20\n"), "{t:?}");
        assert!(t.ends_with("line 99\n"));
        let long = "x".repeat(5000) + "\nend\n";
        let t = tail(&long, 80, 2048);
        assert_eq!(t.len(), 2048);
        assert!(t.ends_with("\nend\n"));
        assert_eq!(tail("é".repeat(2000).as_str(), 80, 2049).len(), 2048);
    }

    #[test]
    fn file_first_then_log_only_on_error_with_fallback() {
        let dir = std::env::temp_dir().join(format!("zk-term-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let log = dir.join("c.log");
        std::fs::write(&log, "old run\nnew run failed\n").expect("log");
        let start = "old run\n".len() as u64;
        let mut c = Container {
            name: "c".into(),
            ..Default::default()
        };
        let f = prepare(&dir, &c).expect("prepare");
        assert_eq!(f.mount.target, DEFAULT_PATH);
        // Default policy (File): nothing written, nothing reported.
        assert_eq!(message(&c, &f.host, 1, &log, start), None);
        c.termination_message_policy = Some("FallbackToLogsOnError".into());
        assert_eq!(
            message(&c, &f.host, 1, &log, start).as_deref(),
            Some("new run failed\n")
        );
        assert_eq!(message(&c, &f.host, 0, &log, start), None);
        std::fs::write(&f.host, "my last words").expect("write");
        assert_eq!(
            message(&c, &f.host, 1, &log, start).as_deref(),
            Some("my last words")
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
