//! The election loop: follow until the lease is ours, confirm it, run the work, stop the
//! work when the lease is lost (or at shutdown), and start over.
use std::future::{Future, pending};
use std::pin::{Pin, pin};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client};
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder, LeaseManagerError, LeaseParams};
use tokio::sync::watch;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

use super::LeaderState;
use super::timing::{Backoff, LeaseTiming};
use super::verdict::{Verdict, judge};

/// One candidate for leadership of one Lease. Build it, hand out [`Elector::state`], then
/// [`Elector::run`] it.
pub struct Elector {
    client: Client,
    namespace: String,
    lease: String,
    identity: String,
    timing: LeaseTiming,
    state: watch::Sender<LeaderState>,
}

/// Why a term as leader ended.
enum TermEnd {
    Shutdown,
    /// Another holder was seen, or no renewal could be confirmed in time.
    Lost(String),
    /// The lease manager could not talk to the apiserver.
    Failed(LeaseManagerError),
    /// The work returned on its own.
    WorkEnded(anyhow::Result<()>),
}

impl Elector {
    /// `identity` must be unique among candidates and stable across restarts of the same
    /// replica (the pod name is a good choice).
    pub fn new(client: Client, namespace: &str, lease: &str, identity: String) -> Self {
        Self {
            client,
            namespace: namespace.to_string(),
            lease: lease.to_string(),
            identity,
            timing: LeaseTiming::default(),
            state: watch::Sender::new(LeaderState::Unknown),
        }
    }

    /// Replaces the default timing; fails on timings the election cannot keep.
    pub fn with_timing(mut self, timing: LeaseTiming) -> anyhow::Result<Self> {
        timing.validate().map_err(anyhow::Error::msg)?;
        self.timing = timing;
        Ok(self)
    }

    /// The current role, updated as it changes (for `/readyz` and logs).
    pub fn state(&self) -> watch::Receiver<LeaderState> {
        self.state.subscribe()
    }

    /// Runs until `shutdown` resolves (then stops the work, releases the lease, returns
    /// `Ok`) or the work returns on its own (then releases and returns the work's result).
    /// `work` is called at the start of every term as leader; its token is cancelled when
    /// the term ends, and the future is dropped if it does not finish in time.
    /// Apiserver failures are retried with backoff, never returned.
    pub async fn run<F, Fut>(
        self,
        shutdown: impl Future<Output = ()>,
        work: F,
    ) -> anyhow::Result<()>
    where
        F: Fn(CancellationToken) -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        self.timing.validate().map_err(anyhow::Error::msg)?;
        let mut shutdown = pin!(shutdown);
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
        loop {
            let built = tokio::select! {
                () = shutdown.as_mut() => return Ok(()),
                built = self.manager() => built,
            };
            let manager = match built {
                Ok(manager) => manager,
                Err(error) => {
                    self.publish(LeaderState::Unknown);
                    tracing::warn!(%error, lease = %self.lease, "cannot read or create the lease; retrying");
                    if self.pause(shutdown.as_mut(), backoff.next_delay()).await {
                        return Ok(());
                    }
                    continue;
                }
            };
            // The manager has read (or created) the Lease: we are a candidate that knows
            // it does not lead. The manager only reports changes, so this is not repeated.
            self.publish(LeaderState::Following);
            let acquired = loop {
                tokio::select! {
                    () = shutdown.as_mut() => return Ok(()),
                    changed = manager.changed() => match changed {
                        Ok(true) => break Ok(()),
                        Ok(false) => continue,
                        Err(error) => break Err(error),
                    },
                }
            };
            if let Err(error) = acquired {
                self.publish(LeaderState::Unknown);
                tracing::warn!(%error, lease = %self.lease, "lease election failed; retrying");
                if self.pause(shutdown.as_mut(), backoff.next_delay()).await {
                    return Ok(());
                }
                continue;
            }
            backoff.reset();
            tracing::info!(identity = %self.identity, lease = %self.lease, "acquired the lease");
            match self.term(&manager, shutdown.as_mut(), &work).await {
                TermEnd::Shutdown => {
                    self.release(&manager).await;
                    self.publish(LeaderState::Following);
                    return Ok(());
                }
                TermEnd::WorkEnded(result) => {
                    self.release(&manager).await;
                    self.publish(LeaderState::Following);
                    return result.context("leader work ended");
                }
                // The old manager believes it leads; it is dropped (never released: it
                // could clear a new holder) and a fresh one re-reads the Lease.
                TermEnd::Lost(reason) => {
                    self.publish(LeaderState::Unknown);
                    tracing::warn!(%reason, lease = %self.lease, "lost leadership; work stopped");
                }
                TermEnd::Failed(error) => {
                    self.publish(LeaderState::Unknown);
                    tracing::warn!(%error, lease = %self.lease, "cannot renew the lease; work stopped");
                    if self.pause(shutdown.as_mut(), backoff.next_delay()).await {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// One term as leader. Work starts only once a read of the Lease confirms we hold it
    /// with time left, and each confirmation moves the point where we stop acting.
    async fn term<S, F, Fut>(
        &self,
        manager: &LeaseManager,
        mut shutdown: Pin<&mut S>,
        work: &F,
    ) -> TermEnd
    where
        S: Future<Output = ()>,
        F: Fn(CancellationToken) -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let timing = self.timing;
        let leases: Api<Lease> = Api::namespaced(self.client.clone(), &self.namespace);
        let token = CancellationToken::new();
        let mut running: Option<Pin<Box<Fut>>> = None;
        let mut draining = false;
        // A fresh lease runs for `duration`: unconfirmed, we may act until then at most.
        let mut act_until = pin!(sleep(timing.duration.saturating_sub(timing.margin)));
        let mut drain_until = pin!(sleep(timing.stop_timeout));
        let mut read = pin!(read_lease(&leases, &self.lease, Duration::ZERO, timing));
        // Kept running for the whole term: this is what renews the lease.
        let mut renewing = pin!(manager.changed());
        let end = loop {
            tokio::select! {
                () = shutdown.as_mut(), if !draining => {
                    if running.is_none() {
                        break TermEnd::Shutdown;
                    }
                    tracing::info!("shutting down: stopping leader work, lease still held");
                    token.cancel();
                    draining = true;
                    drain_until.as_mut().reset(Instant::now() + timing.stop_timeout);
                }
                changed = &mut renewing => match changed {
                    // Not a change (we already lead); keep renewing.
                    Ok(true) => renewing.set(manager.changed()),
                    Ok(false) => break TermEnd::Lost("the lease manager saw another holder".into()),
                    Err(error) => break TermEnd::Failed(error),
                },
                lease = &mut read => {
                    read.set(read_lease(&leases, &self.lease, timing.poll, timing));
                    let spec = match lease {
                        Ok(lease) => lease.spec,
                        Err(error) => {
                            tracing::debug!(%error, "cannot confirm the lease; will retry");
                            continue;
                        }
                    };
                    match judge(spec.as_ref(), &self.identity, SystemTime::now(), timing.margin) {
                        Verdict::Held { remaining } => {
                            act_until.as_mut().reset(Instant::now() + remaining);
                            if running.is_none() && !draining {
                                running = Some(Box::pin(work(token.clone())));
                                self.publish(LeaderState::Leading);
                                tracing::info!(identity = %self.identity, "leading: work started");
                            }
                        }
                        Verdict::Stale => tracing::debug!("lease renewal not seen yet"),
                        Verdict::NotHeld { holder } => {
                            break TermEnd::Lost(format!(
                                "the lease is held by {}",
                                holder.as_deref().unwrap_or("nobody")
                            ));
                        }
                    }
                }
                () = &mut act_until => {
                    break TermEnd::Lost("no renewal confirmed before the lease would expire".into());
                }
                result = finish(&mut running) => {
                    running = None;
                    if !draining {
                        break TermEnd::WorkEnded(result);
                    }
                    if let Err(error) = result {
                        tracing::warn!(error = %format!("{error:#}"), "leader work failed while stopping");
                    }
                    break TermEnd::Shutdown;
                }
                () = &mut drain_until, if draining => {
                    tracing::warn!(timeout = ?timing.stop_timeout, "leader work did not stop in time; dropping it");
                    break TermEnd::Shutdown;
                }
            }
        };
        token.cancel();
        if let Some(rest) = running {
            // After a loss another replica may take over `margin` from now: the work gets
            // that long to notice the cancellation, then is dropped (cancelled at its
            // next await point).
            if timeout(timing.margin, rest).await.is_err() {
                tracing::warn!("leader work did not stop within the margin; dropped");
            }
        }
        end
    }

    async fn manager(&self) -> Result<LeaseManager, LeaseManagerError> {
        // LeaseParams::new panics on a bad timing; `run` validated it first.
        // The field manager is derived from the identity, so a restarted replica with the
        // same identity owns the same fields.
        let params = LeaseParams::new(
            self.identity.clone(),
            self.timing.duration.as_secs(),
            self.timing.grace.as_secs(),
        );
        LeaseManagerBuilder::new(self.client.clone(), &self.lease)
            .with_namespace(&self.namespace)
            .with_parameters(params)
            .build()
            .await
    }

    /// Frees the lease at shutdown so a successor does not wait for expiry; best effort.
    async fn release(&self, manager: &LeaseManager) {
        match timeout(self.timing.read_timeout(), manager.release()).await {
            Ok(Ok(())) => tracing::info!(lease = %self.lease, "released the lease"),
            Ok(Err(error)) => tracing::warn!(%error, "cannot release the lease; it will expire"),
            Err(_) => tracing::warn!("releasing the lease timed out; it will expire"),
        }
    }

    /// Sleeps `delay` unless shutdown comes first; true when it did.
    async fn pause<S: Future<Output = ()>>(&self, shutdown: Pin<&mut S>, delay: Duration) -> bool {
        tokio::select! {
            () = shutdown => true,
            () = sleep(delay) => false,
        }
    }

    fn publish(&self, state: LeaderState) {
        self.state.send_if_modified(|current| {
            let changed = *current != state;
            *current = state;
            changed
        });
    }
}

/// Reads the Lease after `delay`, giving up after the read timeout.
async fn read_lease(
    leases: &Api<Lease>,
    name: &str,
    delay: Duration,
    timing: LeaseTiming,
) -> anyhow::Result<Lease> {
    sleep(delay).await;
    timeout(timing.read_timeout(), leases.get(name))
        .await
        .context("reading the lease timed out")?
        .context("reading the lease")
}

/// The work's result once it ends; never, while there is no work.
async fn finish<Fut: Future + Unpin>(running: &mut Option<Fut>) -> Fut::Output {
    match running {
        Some(work) => work.await,
        None => pending().await,
    }
}
