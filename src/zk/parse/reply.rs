//! Replies every four-letter word can get instead of its own output.

use crate::zk::ZkError;

/// The text ZooKeeper prints for `srvr`, `stat`, `mntr`, ... while it is not serving
/// (leader election, no quorum). Source: `AbstractFourLetterCommand.ZK_NOT_SERVING`.
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// Suffix of the reply to a command missing from `4lw.commands.whitelist`
/// (`<cmd> is not executed because it is not in the whitelist.`).
const NOT_WHITELISTED: &str = "is not executed because it is not in the whitelist";

/// Turns the generic refusals into errors, passing real output through.
pub fn check_reply(raw: &str) -> Result<&str, ZkError> {
    let text = raw.trim();
    if text.starts_with(NOT_SERVING) {
        return Err(ZkError::NotServing);
    }
    if let Some(pos) = text.find(NOT_WHITELISTED) {
        let command = text[..pos].trim().chars().take(16).collect();
        return Err(ZkError::NotWhitelisted { command });
    }
    Ok(text)
}

/// `ruok`: `imok` means the process listens and is not in an error state, nothing more.
pub fn parse_ruok(raw: &str) -> Result<(), ZkError> {
    match check_reply(raw)? {
        "imok" => Ok(()),
        other => Err(ZkError::Malformed(format!(
            "ruok answered {:?}",
            truncate(other)
        ))),
    }
}

/// Whether a member serves read-write or only read-only clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsRo {
    ReadWrite,
    ReadOnly,
}

/// `isro`: `rw`, `ro`, or `null` when the server is not running.
pub fn parse_isro(raw: &str) -> Result<IsRo, ZkError> {
    match check_reply(raw)? {
        "rw" => Ok(IsRo::ReadWrite),
        "ro" => Ok(IsRo::ReadOnly),
        "null" => Err(ZkError::NotServing),
        other => Err(ZkError::Malformed(format!(
            "isro answered {:?}",
            truncate(other)
        ))),
    }
}

/// Keeps error messages short when a peer sends garbage.
pub(crate) fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zk::ZkErrorKind;

    #[test]
    fn not_serving_is_an_error() {
        let err = check_reply(&format!("{NOT_SERVING}\n")).unwrap_err();
        assert_eq!(err.kind(), ZkErrorKind::NotServing);
    }

    #[test]
    fn whitelist_refusal_names_the_command() {
        let err =
            check_reply("mntr is not executed because it is not in the whitelist.\n").unwrap_err();
        match err {
            ZkError::NotWhitelisted { command } => assert_eq!(command, "mntr"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn ruok_and_isro() {
        assert!(parse_ruok("imok").is_ok());
        assert_eq!(
            parse_ruok("nope").unwrap_err().kind(),
            ZkErrorKind::Malformed
        );
        assert_eq!(parse_isro("rw").unwrap(), IsRo::ReadWrite);
        assert_eq!(parse_isro("ro").unwrap(), IsRo::ReadOnly);
        assert_eq!(
            parse_isro("null").unwrap_err().kind(),
            ZkErrorKind::NotServing
        );
    }
}
