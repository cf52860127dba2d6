//! Restart on demand, without editing anything else (pravega #625: users scale the
//! operator to zero to get one).
//!
//! ```sh
//! kubectl annotate zk zk --overwrite \
//!   zookeeper.ensemble.dev/restart-requested-at="$(date -u +%FT%TZ)"
//! ```
//! A new RFC 3339 value is stamped on the pod template, so every member becomes outdated
//! and the leader-last rolling restart restarts each once; `status.restartedAt` records
//! the value once the last member is back. An unparsable value restarts nothing.

/// Annotation on a `ZookeeperCluster`: an RFC 3339 timestamp; each new value restarts
/// every member once, the leader last. Also the pod template's annotation carrying it.
pub const RESTART_REQUESTED_AT_ANNOTATION: &str = "zookeeper.ensemble.dev/restart-requested-at";
