//! Errors of the reconcile's I/O steps; each variant names an Event reason.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {what}: {source}")]
    Fetch {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot apply {what}: {source}")]
    Apply {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot delete {what}: {source}")]
    Delete {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot restart {what}: {source}")]
    Restart {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot restart {what} for the rolling restart: {source}")]
    Roll {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("cannot update the status: {0}")]
    Status(#[source] kube::Error),
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// Neither the password nor its generation is ever printed.
    #[error("the super-user Secret {0} has no usable password (or one could not be generated)")]
    SuperSecret(String),
    #[error("the resource has no {0}")]
    MissingMetadata(&'static str),
}

impl Error {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Fetch { .. } => "FetchFailed",
            Self::Apply { .. } => "ApplyFailed",
            Self::Delete { .. } => "DeleteFailed",
            Self::Restart { .. } => "RestartFailed",
            Self::Roll { .. } => "RollingRestartFailed",
            Self::Status(_) => "StatusUpdateFailed",
            Self::Encode { .. } => "EncodeFailed",
            Self::SuperSecret(_) => "SuperSecretInvalid",
            Self::MissingMetadata(_) => "MissingMetadata",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
