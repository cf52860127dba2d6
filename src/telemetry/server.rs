//! `/healthz` (the process runs), `/readyz` (caches synced), `/metrics`.
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::Metrics;

/// What `/readyz` answers from: a replica is ready when it knows its role and, if it
/// leads, its caches have synced.
#[derive(Clone, Default)]
pub struct Readiness {
    pub role_known: Arc<AtomicBool>,
    pub leading: Arc<AtomicBool>,
    /// Set by the controller once its caches are synced.
    pub synced: Arc<AtomicBool>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.role_known.load(Ordering::SeqCst)
            && (!self.leading.load(Ordering::SeqCst) || self.synced.load(Ordering::SeqCst))
    }
}

#[derive(Clone)]
struct Shared {
    metrics: Metrics,
    ready: Readiness,
}

pub async fn serve(addr: SocketAddr, metrics: Metrics, ready: Readiness) -> std::io::Result<()> {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(Shared { metrics, ready });
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving /healthz, /readyz and /metrics");
    axum::serve(listener, app).await
}

async fn readyz(State(shared): State<Shared>) -> (StatusCode, &'static str) {
    if shared.ready.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "role unknown or caches not synced",
        )
    }
}

async fn metrics_text(State(shared): State<Shared>) -> ([(&'static str, &'static str); 1], String) {
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.render(),
    )
}
