//! A Kubernetes operator for Apache ZooKeeper.
//!
//! The reconcile is a pipeline and the modules follow it:
//! `api` (types) -> `build` (pure desired objects) -> `controller` (fetch, apply, status),
//! with `zk` (wire protocol) and `health` (pure assessment) feeding quorum health.
pub mod alerts;
pub mod api;
pub mod build;
pub mod controller;
pub mod health;
pub mod leader;
pub mod notify;
pub mod observe;
pub mod recovery;
pub mod rollout;
pub mod scale;
pub mod status;
pub mod telemetry;
pub mod validate;
pub mod zk;
