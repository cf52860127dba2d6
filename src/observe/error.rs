//! The one error type of the observation module.

/// What can stop an observation before any member is probed.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("no member address given")]
    NoMembers,
    #[error("invalid member address {addr:?}: expected HOST:PORT")]
    InvalidAddress { addr: String },
}
