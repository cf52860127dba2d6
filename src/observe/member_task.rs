//! One task per member: keeps a health session open, pings it, polls `mntr`, and reports
//! the member's observation to the watcher whenever it changes.
//!
//! State machine:
//! - connect a session; on success probe `srvr` + `mntr` at once (a new session means the
//!   role may have changed), then ping every `ping_interval`, poll `srvr` every
//!   `poll_interval` and `mntr` every `metrics_interval` until the session breaks;
//! - a break (FIN/RST, server closing because it stopped serving) reconnects at once, so a
//!   crash shows as ConnectRefused within milliseconds; silence for `probe_timeout`
//!   reports Timeout (frozen or partitioned) right away;
//! - a failed connect is classified (refused = down, closed = ask `srvr`, which says
//!   "not serving" during elections) and retried with backoff up to `reconnect_max`.
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use futures::future::OptionFuture;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior, interval, interval_at, sleep, sleep_until};

use super::config::{MemberEndpoint, WatcherConfig};
use crate::health::{MemberObservation, ProbeFailure};
use crate::zk::jute::PING_XID;
use crate::zk::{FourLetterClient, HealthSession, Mntr, Srvr, ZkError, ZkErrorKind};

/// A member task's latest observation; `generation` tells apart tasks for the same id.
#[derive(Debug)]
pub(super) struct MemberReport {
    pub generation: u64,
    pub observation: MemberObservation,
}

pub(super) fn spawn_member(
    endpoint: MemberEndpoint,
    generation: u64,
    cfg: Arc<WatcherConfig>,
    reports: mpsc::Sender<MemberReport>,
    stop: watch::Receiver<()>,
) -> JoinHandle<()> {
    let client = FourLetterClient::new(endpoint.addr, cfg.probe_limits());
    let mut obs = MemberObservation::new(endpoint.id, &endpoint.name, endpoint.addr.to_string());
    obs.observer = endpoint.observer;
    let task = MemberTask {
        endpoint,
        generation,
        cfg,
        reports,
        stop,
        client,
        obs,
        last_sent: None,
        zxid_sent_at: Instant::now(),
    };
    tokio::spawn(task.run())
}

enum SessionEnd {
    Stop,
    Broken(ZkError),
}

/// A periodic probe while the session is up.
enum Poll {
    Srvr(Result<Srvr, ZkError>),
    Mntr(Result<Mntr, ZkError>),
}

type PollFuture = Pin<Box<dyn Future<Output = Poll> + Send>>;

/// What was last sent to the watcher, to skip sending an unchanged observation.
type Sent = (Option<Result<Srvr, ProbeFailure>>, Option<Mntr>);

struct MemberTask {
    endpoint: MemberEndpoint,
    generation: u64,
    cfg: Arc<WatcherConfig>,
    reports: mpsc::Sender<MemberReport>,
    stop: watch::Receiver<()>,
    client: FourLetterClient,
    obs: MemberObservation,
    last_sent: Option<Sent>,
    zxid_sent_at: Instant,
}

/// Resolves when the watcher drops this member (its stop sender is dropped).
async fn stopped(stop: &mut watch::Receiver<()>) {
    while stop.changed().await.is_ok() {}
}

impl MemberTask {
    async fn run(mut self) {
        let mut backoff = self.cfg.reconnect_min;
        // The last session broke soon after it opened (a member that accepts sessions
        // and drops them): slow down before probing again, not before reconnecting,
        // so that a crash is still seen by the immediate reconnect.
        let mut flapping = false;
        loop {
            let connect = HealthSession::connect(self.endpoint.addr, self.cfg.session());
            let connected = tokio::select! {
                r = connect => r,
                _ = stopped(&mut self.stop) => return,
            };
            match connected {
                Ok(mut session) => {
                    if flapping {
                        tokio::select! {
                            _ = sleep(backoff) => {}
                            _ = stopped(&mut self.stop) => return,
                        }
                        backoff = (backoff * 2).min(self.cfg.reconnect_max);
                    } else {
                        backoff = self.cfg.reconnect_min;
                    }
                    let opened = Instant::now();
                    match self.watch(&mut session).await {
                        SessionEnd::Stop => {
                            session.close().await;
                            return;
                        }
                        // Silence is reported now; a reconnect would only add a timeout.
                        SessionEnd::Broken(e) if e.kind() == ZkErrorKind::Timeout => {
                            if !self.set_status(Err(ProbeFailure::from(e))).await {
                                return;
                            }
                        }
                        // Reconnect at once: a crashed process refuses it immediately.
                        SessionEnd::Broken(_) => {}
                    }
                    flapping = opened.elapsed() < self.cfg.reconnect_max;
                }
                Err(e) => {
                    flapping = false;
                    let status = match e.kind() {
                        // The member accepted TCP but not a session: ask why.
                        ZkErrorKind::Closed | ZkErrorKind::Io => {
                            self.client.srvr().await.map_err(ProbeFailure::from)
                        }
                        _ => Err(ProbeFailure::from(e)),
                    };
                    if status.is_err() {
                        self.obs.metrics = None;
                    }
                    if !self.set_status(status).await {
                        return;
                    }
                    tokio::select! {
                        _ = sleep(backoff) => {}
                        _ = stopped(&mut self.stop) => return,
                    }
                    backoff = (backoff * 2).min(self.cfg.reconnect_max);
                }
            }
        }
    }

    async fn watch(&mut self, session: &mut HealthSession) -> SessionEnd {
        let (srvr, mntr) = tokio::join!(self.client.srvr(), self.client.mntr());
        self.obs.metrics = mntr.ok();
        if !self.set_status(srvr.map_err(ProbeFailure::from)).await {
            return SessionEnd::Stop;
        }

        let mut ping = interval(self.cfg.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let now = Instant::now();
        let mut srvr_tick = interval_at(now + self.cfg.poll_interval, self.cfg.poll_interval);
        srvr_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut mntr_tick = interval_at(now + self.cfg.metrics_interval, self.cfg.metrics_interval);
        mntr_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut polling: Option<PollFuture> = None;
        // Created once: re-registering a watch waiter on every loop turn costs more than
        // the ping itself.
        let mut stop = self.stop.clone();
        let stop = async move { stopped(&mut stop).await };
        tokio::pin!(stop);
        // One timer, pushed back on every reply, rather than a new one per loop turn.
        let silence = sleep_until(Instant::now() + self.cfg.probe_timeout);
        tokio::pin!(silence);

        loop {
            tokio::select! {
                biased;
                _ = &mut stop => return SessionEnd::Stop,
                reply = session.next_reply() => match reply {
                    Ok(header) => {
                        silence.as_mut().reset(Instant::now() + self.cfg.probe_timeout);
                        self.obs.last_seen = Some(SystemTime::now());
                        if header.xid == PING_XID && !self.note_zxid(header.zxid as u64).await {
                            return SessionEnd::Stop;
                        }
                    }
                    Err(e) => return SessionEnd::Broken(e),
                },
                _ = &mut silence => {
                    return SessionEnd::Broken(ZkError::Timeout {
                        what: "ping reply",
                        after: self.cfg.probe_timeout,
                    });
                }
                _ = ping.tick() => {
                    if let Err(e) = session.send_ping().await {
                        return SessionEnd::Broken(e);
                    }
                }
                _ = srvr_tick.tick(), if polling.is_none() => {
                    let client = self.client.clone();
                    polling = Some(Box::pin(async move { Poll::Srvr(client.srvr().await) }));
                }
                _ = mntr_tick.tick(), if polling.is_none() => {
                    let client = self.client.clone();
                    polling = Some(Box::pin(async move { Poll::Mntr(client.mntr().await) }));
                }
                Some(result) = OptionFuture::from(polling.as_mut()), if polling.is_some() => {
                    polling = None;
                    let alive = match result {
                        // The session is the liveness signal; a failed poll while it is
                        // up (a slow member) keeps the last status.
                        Poll::Srvr(Ok(srvr)) => self.set_status(Ok(srvr)).await,
                        Poll::Srvr(Err(_)) => true,
                        Poll::Mntr(result) => self.on_mntr(result).await,
                    };
                    if !alive {
                        return SessionEnd::Stop;
                    }
                }
            }
        }
    }

    /// Handles a periodic `mntr`; false when the watcher is gone.
    async fn on_mntr(&mut self, result: Result<Mntr, ZkError>) -> bool {
        match result {
            Ok(m) => {
                let current_mode = match &self.obs.status {
                    Some(Ok(s)) => Some(&s.mode),
                    _ => None,
                };
                // Roles change through an election, which drops sessions; a mismatch
                // without one means our srvr is stale, so refresh it.
                let stale = m
                    .server_state
                    .as_ref()
                    .is_some_and(|s| Some(s) != current_mode);
                self.obs.metrics = Some(m);
                if stale {
                    let status = self.client.srvr().await.map_err(ProbeFailure::from);
                    return self.set_status(status).await;
                }
                self.send().await
            }
            // The session will break too if the member stopped serving; let it say so.
            Err(e) if e.kind() == ZkErrorKind::NotServing => true,
            Err(_) => {
                self.obs.metrics = None;
                self.send().await
            }
        }
    }

    /// Ping replies carry the last processed zxid; forward it at most once per poll
    /// interval so a busy ensemble does not flood the watcher.
    async fn note_zxid(&mut self, zxid: u64) -> bool {
        if let Some(Ok(srvr)) = &mut self.obs.status
            && srvr.zxid != zxid
        {
            srvr.zxid = zxid;
            if self.zxid_sent_at.elapsed() >= self.cfg.poll_interval {
                return self.send_now().await;
            }
        }
        true
    }

    async fn set_status(&mut self, status: Result<Srvr, ProbeFailure>) -> bool {
        if status.is_ok() {
            self.obs.last_seen = Some(SystemTime::now());
        }
        self.obs.status = Some(status);
        self.send().await
    }

    /// Sends the observation if it differs from the last one sent; false when the
    /// watcher is gone.
    async fn send(&mut self) -> bool {
        let current = (self.obs.status.clone(), self.obs.metrics.clone());
        if self.last_sent.as_ref() == Some(&current) {
            return true;
        }
        self.send_now().await
    }

    async fn send_now(&mut self) -> bool {
        self.last_sent = Some((self.obs.status.clone(), self.obs.metrics.clone()));
        self.zxid_sent_at = Instant::now();
        let report = MemberReport {
            generation: self.generation,
            observation: self.obs.clone(),
        };
        self.reports.send(report).await.is_ok()
    }
}
