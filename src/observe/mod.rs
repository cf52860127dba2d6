//! Quorum observation that runs apart from reconcile: one [`EnsembleWatcher`] per
//! cluster, publishing an [`crate::health::EnsembleAssessment`] when health changes.
//!
//! # Detection design
//!
//! Four-letter words alone cannot detect a crash quickly: ZooKeeper closes a 4lw
//! connection after each reply, so between polls there is no signal, and polling every
//! member every few hundred milliseconds costs a TCP handshake each time. Instead each
//! member gets one long-lived **health session**: a real ZooKeeper client session (jute
//! `ConnectRequest`, then pings; see [`crate::zk::HealthSession`]). It gives:
//!
//! - **crash** (process killed, OOM): the kernel sends FIN/RST on the session socket at
//!   once; the member task reconnects immediately and gets ConnectRefused. Detection is
//!   a few milliseconds plus one assessment, far below the 1 s target.
//! - **not serving** (election, lost quorum): ZooKeeper closes every client connection
//!   when it leaves the serving state and refuses new sessions; the task asks `srvr`,
//!   which says "not currently serving", and retries the session with backoff
//!   (`reconnect_min`..`reconnect_max`) so the new role is seen soon after the election.
//! - **frozen or partitioned** (SIGSTOP, long GC, network loss): no FIN arrives, but
//!   pings (every `ping_interval`) stop being answered; after `probe_timeout` of silence
//!   the member is Down with reason Timeout. Detection is bounded by `probe_timeout`.
//! - **role, zxid, load**: `srvr` + `mntr` on every new session (roles only change
//!   through an election, which drops the session); then `srvr` every `poll_interval`
//!   (role, zxid, latency, outstanding requests) and the ~20 KiB `mntr` every
//!   `metrics_interval` (fds, pending syncs, synced followers; also a role
//!   cross-check). Ping replies carry the member's last processed zxid, so lag stays
//!   fresh between polls.
//!
//! Cost per member at rest: one idle TCP connection, one 12-byte ping and 20-byte reply
//! per `ping_interval`, one short-lived 4lw connection per poll. Re-assessment is linear
//! in ensemble size and runs only when a member's observation changed.
//! Each health session is a ZooKeeper session: on ensembles without
//! `localSessionsEnabled=true`, creating one is a quorum write, which happens only on
//! (re)connect. Sessions are closed politely when the watcher stops.
mod config;
mod error;
mod member_task;
mod probe_command;
mod render;
mod snapshot;
mod watcher;

pub use config::{MemberEndpoint, WatcherConfig};
pub use error::ObserveError;
pub use probe_command::{probe_command, probe_ensemble};
pub use render::{render_json, render_table};
pub use snapshot::probe_addresses;
pub use watcher::EnsembleWatcher;
