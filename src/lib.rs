//! A Kubernetes operator for Apache ZooKeeper.
//!
//! One reconcile pass (`controller::reconcile`) reads top to bottom in five stages:
//! **gather** (every read of the cluster and of ZooKeeper) -> **plan** (pure: `validate`,
//! `build`, and the `scale`, `recovery` and `rollout` planners) -> **arbitrate** (pure:
//! which member change may act) -> **act** (the writes) -> **report** (`status`, Events,
//! metrics, `alerts` and `notify`). `api` holds the persisted shapes; `zk` (wire
//! protocol), `observe` (member watchers) and `health` (pure assessment) feed gather.
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
