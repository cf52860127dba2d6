//! A Kubernetes operator for Apache ZooKeeper.
//!
//! The reconcile is a pipeline and the modules follow it:
//! `api` (types) -> `build` (pure desired objects) -> `controller` (fetch, apply, status),
//! with `zk` (wire protocol) and `health` (pure assessment) feeding quorum health.
pub mod health;
pub mod leader;
pub mod observe;
pub mod zk;
