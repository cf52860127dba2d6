//! Logs, metrics and the health endpoints.
mod logging;
mod metrics;
mod server;
mod zk_members;

pub use logging::{LogFormat, init_logging};
pub use metrics::{ClusterLabels, Metrics};
pub use server::{Readiness, serve};
pub use zk_members::{MemberRoleLabels, ZkMemberMetrics};
