//! [`EnsembleWatcher`]: member tasks feed one aggregator, which re-assesses the
//! ensemble on every report and publishes on a `watch` channel.
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use super::config::{MemberEndpoint, WatcherConfig};
use super::member_task::{MemberReport, spawn_member};
use crate::health::{EnsembleAssessment, MemberId, MemberObservation, PodView, assess};

/// Continuously watches one ensemble's members.
///
/// Subscribers are woken only when the assessment's health changes
/// ([`EnsembleAssessment::same_health`]); the value behind the channel is refreshed on
/// every report, so `borrow()` also shows current zxids and lag without waking anyone.
/// The value is `None` until every member answered once or the first probe round timed
/// out. Dropping the watcher stops every member task (sessions are closed politely).
#[derive(Debug)]
pub struct EnsembleWatcher {
    commands: mpsc::UnboundedSender<Command>,
    assessment: watch::Receiver<Option<EnsembleAssessment>>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
enum Command {
    SetMembers(Vec<MemberEndpoint>),
    SetPods(BTreeMap<MemberId, PodView>),
    Shutdown,
}

impl EnsembleWatcher {
    /// Starts watching; must be called inside a tokio runtime.
    pub fn spawn(members: Vec<MemberEndpoint>, config: WatcherConfig) -> Self {
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (tx, assessment) = watch::channel(None);
        let (reports_tx, reports_rx) = mpsc::channel(256);
        let cfg = Arc::new(config);
        let first_round = Instant::now() + cfg.connect_timeout + cfg.probe_timeout * 2;
        let mut aggregator = Aggregator {
            cfg,
            members: BTreeMap::new(),
            observations: BTreeMap::new(),
            pods: BTreeMap::new(),
            reported: BTreeSet::new(),
            next_generation: 0,
            published: false,
            tx,
            reports_tx,
        };
        aggregator.set_members(members);
        let task = tokio::spawn(aggregator.run(commands_rx, reports_rx, first_round));
        Self {
            commands,
            assessment,
            task,
        }
    }

    /// A receiver for assessments; `changed()` fires on health changes only.
    pub fn subscribe(&self) -> watch::Receiver<Option<EnsembleAssessment>> {
        self.assessment.clone()
    }

    /// The latest assessment, if the first probe round is over.
    pub fn current(&self) -> Option<EnsembleAssessment> {
        self.assessment.borrow().clone()
    }

    /// Replaces the member set (pods added, removed, or moved to a new IP). Members
    /// whose endpoint is unchanged keep their session and history.
    pub fn set_members(&self, members: Vec<MemberEndpoint>) {
        let _ = self.commands.send(Command::SetMembers(members));
    }

    /// Gives the Kubernetes view of the members' pods, to enrich reasons.
    pub fn set_pods(&self, pods: BTreeMap<MemberId, PodView>) {
        let _ = self.commands.send(Command::SetPods(pods));
    }

    /// Stops all member tasks and waits for the aggregator to finish.
    pub async fn shutdown(self) {
        let _ = self.commands.send(Command::Shutdown);
        let _ = self.task.await;
    }
}

struct RunningMember {
    endpoint: MemberEndpoint,
    generation: u64,
    // Dropping it tells the member task to close its session and exit.
    _stop: watch::Sender<()>,
    task: JoinHandle<()>,
}

struct Aggregator {
    cfg: Arc<WatcherConfig>,
    members: BTreeMap<MemberId, RunningMember>,
    observations: BTreeMap<MemberId, MemberObservation>,
    pods: BTreeMap<MemberId, PodView>,
    reported: BTreeSet<MemberId>,
    next_generation: u64,
    published: bool,
    tx: watch::Sender<Option<EnsembleAssessment>>,
    reports_tx: mpsc::Sender<MemberReport>,
}

impl Aggregator {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut reports: mpsc::Receiver<MemberReport>,
        first_round: Instant,
    ) {
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    None | Some(Command::Shutdown) => break,
                    Some(Command::SetMembers(members)) => {
                        self.set_members(members);
                        self.publish(false);
                    }
                    Some(Command::SetPods(pods)) => {
                        self.pods = pods;
                        self.publish(false);
                    }
                },
                Some(report) = reports.recv() => self.on_report(report),
                _ = sleep_until(first_round), if !self.published => self.publish(true),
            }
        }
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut self.members)
            .into_values()
            .map(|m| m.task)
            .collect();
        // Members close their sessions on their own once their stop sender is gone.
        drop(reports);
        for task in tasks {
            let _ = tokio::time::timeout(self.cfg.probe_timeout, task).await;
        }
    }

    fn set_members(&mut self, members: Vec<MemberEndpoint>) {
        let wanted: BTreeMap<MemberId, MemberEndpoint> =
            members.into_iter().map(|m| (m.id, m)).collect();
        self.members
            .retain(|id, running| wanted.get(id) == Some(&running.endpoint));
        self.observations
            .retain(|id, _| self.members.contains_key(id));
        self.reported.retain(|id| self.members.contains_key(id));
        for (id, endpoint) in wanted {
            if self.members.contains_key(&id) {
                continue;
            }
            let generation = self.next_generation;
            self.next_generation += 1;
            let (stop, stop_rx) = watch::channel(());
            let task = spawn_member(
                endpoint.clone(),
                generation,
                self.cfg.clone(),
                self.reports_tx.clone(),
                stop_rx,
            );
            self.members.insert(
                id,
                RunningMember {
                    endpoint,
                    generation,
                    _stop: stop,
                    task,
                },
            );
        }
    }

    fn on_report(&mut self, report: MemberReport) {
        let id = report.observation.id;
        // A report from a replaced task describes an old address: drop it.
        if self.members.get(&id).map(|m| m.generation) != Some(report.generation) {
            return;
        }
        self.observations.insert(id, report.observation);
        self.reported.insert(id);
        self.publish(false);
    }

    /// Re-assesses; wakes subscribers only when health changed. Before the first
    /// publication, waits for every member's first report unless `force`d.
    fn publish(&mut self, force: bool) {
        if !self.published && !force && self.reported.len() < self.members.len() {
            return;
        }
        let observations: Vec<MemberObservation> = self
            .members
            .iter()
            .map(|(id, running)| {
                let mut obs = self.observations.get(id).cloned().unwrap_or_else(|| {
                    let e = &running.endpoint;
                    MemberObservation::new(e.id, &e.name, e.addr.to_string())
                });
                obs.observer = running.endpoint.observer;
                obs.pod = self.pods.get(id).cloned();
                obs
            })
            .collect();
        let assessment = assess(&observations, &self.cfg.thresholds);
        let first = !self.published;
        self.published = true;
        self.tx.send_if_modified(|current| {
            let changed = first || current.as_ref().is_none_or(|c| !c.same_health(&assessment));
            *current = Some(assessment);
            changed
        });
    }
}
