//! Leader election between operator replicas on a `coordination.k8s.io/v1` Lease.
//!
//! Only the leader reconciles; the others wait, ready to take over. kube-lease-manager
//! acquires and renews the Lease. On top of it, the leader re-reads the Lease every
//! `poll` and acts only until the last renewal it has seen would run out (minus a margin),
//! because the manager stays silent while a renewal hangs or fails: a leader cut off from
//! the apiserver stops its work before anyone else can take over.
//!
//! ```no_run
//! # async fn demo(client: kube::Client) -> anyhow::Result<()> {
//! use zookeeper_operator::leader::Elector;
//! let elector = Elector::new(client, "zookeeper-operator", "zookeeper-operator", "pod-a".into());
//! let role = elector.state(); // for /readyz: ready once `role.borrow().knows_role()`
//! elector
//!     .run(async { let _ = tokio::signal::ctrl_c().await; }, |stop| async move {
//!         stop.cancelled().await; // the controller, shut down by `stop`
//!         Ok(())
//!     })
//!     .await
//! # }
//! ```
mod elector;
mod timing;
mod verdict;

#[cfg(test)]
mod tests;

use std::future::Future;

pub use elector::Elector;
pub use timing::LeaseTiming;
pub use tokio_util::sync::CancellationToken;

/// This replica's role, as far as it knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaderState {
    /// Not (or no longer) in contact with the Lease: the role is not known.
    Unknown,
    /// The Lease is readable and held by someone else (or free, and being contended).
    Following,
    /// This replica holds the Lease and its work runs.
    Leading,
}

impl LeaderState {
    /// Readiness: a follower is as ready as the leader, an unknown role is not.
    pub fn knows_role(self) -> bool {
        self != LeaderState::Unknown
    }

    pub fn is_leading(self) -> bool {
        self == LeaderState::Leading
    }
}

/// Runs `work` only while this replica holds the Lease `lease` in `namespace`, with the
/// default [`LeaseTiming`]; see [`Elector::run`]. Use [`Elector`] directly to watch the role.
pub async fn run_as_leader<F, Fut>(
    client: kube::Client,
    namespace: &str,
    lease: &str,
    identity: String,
    shutdown: impl Future<Output = ()>,
    work: F,
) -> anyhow::Result<()>
where
    F: Fn(CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    Elector::new(client, namespace, lease, identity)
        .run(shutdown, work)
        .await
}
