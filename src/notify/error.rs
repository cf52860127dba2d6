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
    /// The request went out but no answer came back (timed out, connection broken after
    /// sending): it may have arrived, so the receiver counts as told. Retried like
    /// `Unavailable`.
    #[error("receiver {receiver} did not answer: {detail}")]
    Unanswered { receiver: String, detail: String },
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
            Self::Unavailable { .. } | Self::Unanswered { .. } => "NotificationDelayed",
            Self::Secret { .. } => "NotificationSecretInvalid",
            Self::Config { .. } => "NotificationConfigInvalid",
        }
    }

    pub fn receiver(&self) -> &str {
        match self {
            Self::Rejected { receiver, .. }
            | Self::Unavailable { receiver, .. }
            | Self::Unanswered { receiver, .. }
            | Self::Secret { receiver, .. }
            | Self::Config { receiver, .. } => receiver,
        }
    }

    /// Worth retrying (the notification stays queued); the others drop it.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Unanswered { .. })
    }

    /// The message may have reached the receiver although this failed.
    pub fn may_have_arrived(&self) -> bool {
        matches!(self, Self::Unanswered { .. })
    }

    /// This error, marked as possibly arrived when an earlier try of the same message
    /// may have (a timeout, then a refused retry: the first may still be there).
    pub fn after_unanswered(self) -> Self {
        match self {
            Self::Unavailable {
                receiver, detail, ..
            } => Self::Unanswered { receiver, detail },
            other => other,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
