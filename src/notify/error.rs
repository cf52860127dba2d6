//! Delivery errors. Each names its receiver and never a credential: URLs carry tokens, so
//! HTTP errors are stripped of theirs before they get here.
use std::time::Duration;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum NotifyError {
    /// The receiver refused the message (4xx other than 408/429, DingTalk `errcode != 0`,
    /// SMTP 5xx): sending it again cannot help.
    #[error("receiver {receiver} rejected the notification: {detail}")]
    Rejected { receiver: String, detail: String },
    /// The receiver could not be reached or asked us to come back (5xx, 408, 429,
    /// timeouts) and retries ran out for now; the notification stays queued.
    #[error("receiver {receiver} is unavailable: {detail}")]
    Unavailable {
        receiver: String,
        detail: String,
        retry_after: Option<Duration>,
    },
    /// A credential could not be read: missing Secret or key, not UTF-8, empty.
    #[error("receiver {receiver}: {detail}")]
    Secret { receiver: String, detail: String },
    /// The receiver's settings cannot work (a malformed URL or address).
    #[error("receiver {receiver} is misconfigured: {detail}")]
    Config { receiver: String, detail: String },
}

impl NotifyError {
    /// The Kubernetes Event reason.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Rejected { .. } => "NotificationFailed",
            Self::Unavailable { .. } => "NotificationDelayed",
            Self::Secret { .. } => "NotificationSecretInvalid",
            Self::Config { .. } => "NotificationConfigInvalid",
        }
    }

    pub fn receiver(&self) -> &str {
        match self {
            Self::Rejected { receiver, .. }
            | Self::Unavailable { receiver, .. }
            | Self::Secret { receiver, .. }
            | Self::Config { receiver, .. } => receiver,
        }
    }

    /// Worth retrying (the notification stays queued); the others drop it.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
