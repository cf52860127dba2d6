//! The one error type of the reconfiguration client.
//!
//! ZooKeeper's reply codes (`KeeperException.Code`) that a membership change can meet are
//! typed, so the controller can decide (retry later, re-read the config, give up) and
//! use [`ReconfigError::reason`] as the Kubernetes Event reason.
use super::ZkError;
use super::dynamic_config::ConfigParseError;

/// Why a getConfig or reconfig did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ReconfigError {
    /// Connecting, the handshake or the exchange failed (refused, timeout, closed...).
    #[error(transparent)]
    Wire(#[from] ZkError),
    /// The reconfig was sent but the connection failed before its reply. Removing the
    /// leader does this often: the member we talk to drops its clients while it follows
    /// the new leader. The change may or may not be committed: read the config again.
    #[error("reconfig sent, but no reply: {0}")]
    OutcomeUnknown(#[source] ZkError),
    /// -102: the session is not the super user (wrong password, or no superDigest set).
    #[error("not authorised to reconfigure (is the super-user password right?)")]
    NoAuth,
    /// -115: the server rejected the credentials and closed the session.
    #[error("authentication failed")]
    AuthFailed,
    /// -103: the config changed since it was read; read it again and re-decide.
    #[error("the ensemble's config is no longer version {expected:x}")]
    BadVersion { expected: u64 },
    /// -13: too few members of the *new* config are synced with the leader (an added
    /// member that is not running or not caught up yet).
    #[error("the new config would have no synced quorum")]
    NewConfigNoQuorum,
    /// -14: another reconfig is in flight, or the member is not the leader's peer yet.
    #[error("another reconfiguration is in progress")]
    ReconfigInProgress,
    /// -123: the ensemble runs without `reconfigEnabled=true`.
    #[error("dynamic reconfiguration is disabled on the ensemble")]
    ReconfigDisabled,
    /// -6: the server does not know the operation (pre-3.5 ZooKeeper).
    #[error("the server does not implement reconfig")]
    Unimplemented,
    /// -8, or a request this client refuses to send: e.g. removing an unknown member,
    /// removing the last voters, a malformed server line.
    #[error("bad arguments: {0}")]
    BadArguments(String),
    /// Any other non-zero ZooKeeper reply code.
    #[error("ZooKeeper error code {0}")]
    Server(i32),
    /// The member returned a config this crate cannot parse.
    #[error("unreadable config from the member: {0}")]
    BadConfig(#[from] ConfigParseError),
}

impl ReconfigError {
    /// Maps a non-zero reply code to its variant; `expected` is the config id we sent.
    pub fn from_code(code: i32, expected: u64) -> Self {
        match code {
            -102 => Self::NoAuth,
            -115 => Self::AuthFailed,
            -103 => Self::BadVersion { expected },
            -13 => Self::NewConfigNoQuorum,
            -14 => Self::ReconfigInProgress,
            -123 => Self::ReconfigDisabled,
            -6 => Self::Unimplemented,
            -8 => Self::BadArguments("rejected by the server".into()),
            other => Self::Server(other),
        }
    }

    /// A CamelCase reason for a Kubernetes Event or a status condition.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Wire(e) => e.kind().as_str(),
            Self::OutcomeUnknown(_) => "ReconfigOutcomeUnknown",
            Self::NoAuth => "NoAuth",
            Self::AuthFailed => "AuthFailed",
            Self::BadVersion { .. } => "BadVersion",
            Self::NewConfigNoQuorum => "NewConfigNoQuorum",
            Self::ReconfigInProgress => "ReconfigInProgress",
            Self::ReconfigDisabled => "ReconfigDisabled",
            Self::Unimplemented => "Unimplemented",
            Self::BadArguments(_) => "BadArguments",
            Self::Server(_) => "ZooKeeperError",
            Self::BadConfig(_) => "BadConfig",
        }
    }

    /// Worth retrying the same change later as is (the ensemble is busy or catching up).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Wire(_) | Self::NewConfigNoQuorum | Self::ReconfigInProgress
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_reasons() {
        let cases = [
            (-102, "NoAuth"),
            (-115, "AuthFailed"),
            (-103, "BadVersion"),
            (-13, "NewConfigNoQuorum"),
            (-14, "ReconfigInProgress"),
            (-123, "ReconfigDisabled"),
            (-6, "Unimplemented"),
            (-8, "BadArguments"),
            (-999, "ZooKeeperError"),
        ];
        for (code, reason) in cases {
            assert_eq!(ReconfigError::from_code(code, 1).reason(), reason, "{code}");
        }
        assert!(ReconfigError::from_code(-14, 1).is_transient());
        assert!(!ReconfigError::from_code(-103, 1).is_transient());
        let timeout = ReconfigError::from(ZkError::NotServing);
        assert_eq!(timeout.reason(), "NotServing");
    }
}
