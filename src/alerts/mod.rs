//! Pure fault lifecycle: active faults + now -> alerts, and the notifications to send.
//!
//! ```text
//! Fault / recovery Decision --AlertSource::from_*--> AlertSource
//! (AlertBook, Evaluation{sources, restarting, routes, timing, now}) --evaluate-->
//!     (AlertBook', queued notifications; also in AlertBook'.outbox)
//! ```
//! Alerts carry Alertmanager-style identity labels (alertname, namespace, cluster,
//! member, severity), annotations (summary, description, `value_*`) and fingerprints.
//! Pending (`for`) -> firing -> resolved; QuorumLost mutes MemberDown; members the
//! operator restarts itself do not page; flapping gives one notice; firing alerts are
//! repeated after the repeat interval; alerts whose source vanished expire. The book is
//! serde-persisted and bounded in size. No I/O, no clock.
mod book;
mod fingerprint;
mod flap;
mod inhibit;
mod lifecycle;
mod outbox;
mod source;
mod summary;

#[cfg(test)]
mod tests;

pub use book::{
    Alert, AlertBook, AlertSnapshot, AlertState, Delivered, MAX_BOOK_BYTES, Notification, Status,
    Told, cut as cut_text,
};
pub use fingerprint::{fingerprint, fingerprint_value};
pub use flap::{FLAP_CHANGES, FLAP_QUIET_SECS, FLAP_WINDOW_SECS};
pub use lifecycle::{
    Evaluation, KEEP_RESOLVED_SECS, MAX_NOTIFICATION_AGE_SECS, Route, STALE_SECS, Timing, evaluate,
    member_label, next_evaluation,
};
pub use source::AlertSource;
pub use summary::{rfc3339, summary};
