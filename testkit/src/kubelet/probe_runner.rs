//! Runs a container's startup, readiness and liveness probes for one run of the container,
//! updating `started`/`ready` and asking the supervisor to kill it on liveness failure.

use super::probe::{ProbeState, ProbeTiming};
use super::probe_action;
use super::registry::ContainerCtl;
use super::state_handle::StateHandle;
use k8s_openapi::api::core::v1::{Container, Probe};
use std::net::IpAddr;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub struct ProbeTarget {
    pub container: Container,
    pub ctl: ContainerCtl,
    pub pod_ip: IpAddr,
    pub state: StateHandle,
    /// Receives the reason when the container must be killed (liveness/startup failure).
    pub kill: mpsc::Sender<String>,
}

pub async fn run(t: ProbeTarget, started_at: Instant) {
    if let Some(p) = t.container.startup_probe.clone()
        && !until_started(&t, &p, started_at).await
    {
        let _ = t.kill.send("Startup probe failed".into()).await;
        return;
    }
    t.state.update(|c| c.started = true);
    let readiness = async {
        match t.container.readiness_probe.clone() {
            Some(p) => {
                watch_probe(&t, &p, started_at, false, |ok| {
                    t.state.update(|c| c.ready = ok)
                })
                .await
            }
            None => t.state.update(|c| c.ready = true),
        }
    };
    let liveness = async {
        if let Some(p) = t.container.liveness_probe.clone() {
            watch_probe(&t, &p, started_at, true, |ok| {
                if !ok {
                    let _ = t.kill.try_send("Liveness probe failed".into());
                }
            })
            .await;
        }
    };
    tokio::join!(readiness, liveness);
}

/// Startup probe: true once it succeeds, false after failureThreshold failures.
async fn until_started(t: &ProbeTarget, p: &Probe, started_at: Instant) -> bool {
    let timing = ProbeTiming::of(p);
    let mut next = started_at + timing.initial_delay;
    let mut failures = 0;
    loop {
        tokio::time::sleep_until(next).await;
        next += timing.period;
        let (ok, why) = probe_action::run(p, &t.container, &t.ctl, t.pod_ip, timing.timeout).await;
        if ok {
            return true;
        }
        failures += 1;
        tracing::debug!(container = %t.container.name, %why, "startup probe failed");
        if failures >= timing.failure_threshold {
            return false;
        }
    }
}

/// Periodic probe; `on_flip` runs when the healthy state flips (and once at the first
/// result for readiness, which starts unhealthy; liveness starts healthy).
async fn watch_probe(
    t: &ProbeTarget,
    p: &Probe,
    started_at: Instant,
    initially_healthy: bool,
    on_flip: impl Fn(bool),
) {
    let timing = ProbeTiming::of(p);
    let mut state = ProbeState::new(initially_healthy);
    let mut next = (started_at + timing.initial_delay).max(Instant::now());
    loop {
        tokio::time::sleep_until(next).await;
        next += timing.period;
        let (ok, why) = probe_action::run(p, &t.container, &t.ctl, t.pod_ip, timing.timeout).await;
        if !ok {
            tracing::debug!(container = %t.container.name, %why, "probe failed");
        }
        if state.record(ok, &timing) {
            on_flip(state.healthy);
        }
    }
}
