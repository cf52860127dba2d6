//! The one error type of the ZooKeeper wire module.
//!
//! Variant names double as stable reasons (`ZkError::kind().as_str()`), so the health
//! assessment and Kubernetes Events can say *why* a member looks unhealthy.
use std::time::Duration;

/// What went wrong talking to one ZooKeeper member.
#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    /// Nothing listens on the port: the process is gone (or not started yet).
    #[error("connection refused by {addr}")]
    ConnectRefused { addr: String },
    /// The address could not be reached for another reason (no route, reset on connect...).
    #[error("cannot connect to {addr}: {source}")]
    Unreachable {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// The host name did not resolve to any address.
    #[error("cannot resolve {addr}")]
    Unresolvable { addr: String },
    /// Connect or read took longer than allowed: a frozen or partitioned member.
    #[error("{what} timed out after {after:?}")]
    Timeout { what: &'static str, after: Duration },
    /// The member closed the connection before it answered.
    #[error("connection closed by the member before a complete reply ({what})")]
    Closed { what: &'static str },
    /// "This ZooKeeper instance is not currently serving requests": electing or no quorum.
    #[error("member is not serving requests")]
    NotServing,
    /// The four-letter word is not in `4lw.commands.whitelist`.
    #[error("four-letter word {command} is not whitelisted on the member")]
    NotWhitelisted { command: String },
    /// The reply exceeded the configured size limit.
    #[error("reply larger than {limit} bytes")]
    ResponseTooLarge { limit: usize },
    /// The reply did not have the expected shape.
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// Any other socket error while the connection was open.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// The reason part of a [`ZkError`], cheap to copy and compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ZkErrorKind {
    ConnectRefused,
    Unreachable,
    Unresolvable,
    Timeout,
    Closed,
    NotServing,
    NotWhitelisted,
    ResponseTooLarge,
    Malformed,
    Io,
}

impl ZkErrorKind {
    /// A CamelCase reason suitable for a Kubernetes Event reason or a status field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConnectRefused => "ConnectRefused",
            Self::Unreachable => "Unreachable",
            Self::Unresolvable => "Unresolvable",
            Self::Timeout => "Timeout",
            Self::Closed => "Closed",
            Self::NotServing => "NotServing",
            Self::NotWhitelisted => "NotWhitelisted",
            Self::ResponseTooLarge => "ResponseTooLarge",
            Self::Malformed => "Malformed",
            Self::Io => "IoError",
        }
    }
}

impl std::fmt::Display for ZkErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ZkError {
    pub fn kind(&self) -> ZkErrorKind {
        match self {
            Self::ConnectRefused { .. } => ZkErrorKind::ConnectRefused,
            Self::Unreachable { .. } => ZkErrorKind::Unreachable,
            Self::Unresolvable { .. } => ZkErrorKind::Unresolvable,
            Self::Timeout { .. } => ZkErrorKind::Timeout,
            Self::Closed { .. } => ZkErrorKind::Closed,
            Self::NotServing => ZkErrorKind::NotServing,
            Self::NotWhitelisted { .. } => ZkErrorKind::NotWhitelisted,
            Self::ResponseTooLarge { .. } => ZkErrorKind::ResponseTooLarge,
            Self::Malformed(_) => ZkErrorKind::Malformed,
            Self::Io(_) => ZkErrorKind::Io,
        }
    }

    /// Maps a connect error to the most telling variant.
    pub(crate) fn from_connect(addr: impl ToString, err: std::io::Error) -> Self {
        match err.kind() {
            std::io::ErrorKind::ConnectionRefused => Self::ConnectRefused {
                addr: addr.to_string(),
            },
            _ => Self::Unreachable {
                addr: addr.to_string(),
                source: err,
            },
        }
    }
}
