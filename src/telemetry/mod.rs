//! Logs, metrics and the health endpoints.
mod logging;
mod metrics;
mod server;

pub use logging::{LogFormat, init_logging};
pub use metrics::{ClusterLabels, Metrics};
pub use server::{Readiness, serve};
