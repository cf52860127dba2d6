//! What the kubelet knows about one pod's containers, and the pod phase derived from it with
//! the kubelet's own rules (pkg/kubelet/kubelet_pods.go getPhase).

use k8s_openapi::jiff::Timestamp;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
pub enum CState {
    Waiting {
        reason: String,
        message: Option<String>,
    },
    Running {
        started_at: Timestamp,
    },
    Terminated {
        exit_code: i32,
        signal: Option<i32>,
        reason: String,
        /// The termination message (see `termination.rs`).
        message: Option<String>,
        started_at: Option<Timestamp>,
        finished_at: Timestamp,
    },
}

impl CState {
    pub fn waiting(reason: &str, message: Option<String>) -> Self {
        CState::Waiting {
            reason: reason.into(),
            message,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ContainerRecord {
    pub name: String,
    pub image: String,
    pub container_id: Option<String>,
    pub state: CState,
    pub last_state: Option<CState>,
    pub restart_count: i32,
    pub ready: bool,
    pub started: bool,
}

impl ContainerRecord {
    pub fn new(name: &str, image: &str) -> Self {
        Self {
            name: name.into(),
            image: image.into(),
            container_id: None,
            state: CState::waiting("ContainerCreating", None),
            last_state: None,
            restart_count: 0,
            ready: false,
            started: false,
        }
    }

    /// Records an exit: the state becomes Terminated and the container is not ready.
    pub fn terminated(
        &mut self,
        exit_code: i32,
        signal: Option<i32>,
        message: Option<String>,
        finished_at: Timestamp,
    ) {
        let started_at = match &self.state {
            CState::Running { started_at } => Some(*started_at),
            _ => None,
        };
        let reason = if exit_code == 0 { "Completed" } else { "Error" };
        self.state = CState::Terminated {
            exit_code,
            signal,
            reason: reason.into(),
            message,
            started_at,
            finished_at,
        };
        self.ready = false;
        self.started = false;
    }

    /// Moves the current Terminated state to lastState before a restart.
    pub fn archive_termination(&mut self) {
        if matches!(self.state, CState::Terminated { .. }) {
            self.last_state = Some(self.state.clone());
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::Failed => "Failed",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PodRecord {
    pub restart_policy: String,
    pub init: Vec<ContainerRecord>,
    pub containers: Vec<ContainerRecord>,
    pub initialized: bool,
    /// An init container failed for good (restartPolicy Never).
    pub init_failed: bool,
    pub pod_ip: Option<String>,
    pub host_ip: String,
    pub start_time: Timestamp,
    /// Condition type -> (status, lastTransitionTime), updated by `refresh_conditions`.
    pub conditions: BTreeMap<String, (bool, Timestamp)>,
}

impl PodRecord {
    /// Phase per the kubelet: any never-started container keeps the pod Pending; all stopped
    /// decides Succeeded/Failed by restart policy.
    pub fn phase(&self) -> Phase {
        if self.init_failed {
            return Phase::Failed;
        }
        if !self.initialized {
            return Phase::Pending;
        }
        let (mut running, mut waiting, mut stopped, mut succeeded) = (0, 0, 0, 0);
        for c in &self.containers {
            match &c.state {
                CState::Running { .. } => running += 1,
                CState::Terminated { exit_code, .. } => {
                    stopped += 1;
                    if *exit_code == 0 {
                        succeeded += 1;
                    }
                }
                CState::Waiting { .. } if c.last_state.is_some() => stopped += 1,
                CState::Waiting { .. } => waiting += 1,
            }
        }
        if waiting > 0 {
            return Phase::Pending;
        }
        if running > 0 {
            return Phase::Running;
        }
        if stopped > 0 {
            return match self.restart_policy.as_str() {
                "Never" if stopped == succeeded => Phase::Succeeded,
                "Never" => Phase::Failed,
                "OnFailure" if stopped == succeeded => Phase::Succeeded,
                _ => Phase::Running,
            };
        }
        Phase::Pending
    }

    pub fn containers_ready(&self) -> bool {
        !self.containers.is_empty() && self.containers.iter().all(|c| c.ready)
    }

    /// Sets a condition, moving its transition time only when the status changes.
    pub fn set_condition(&mut self, kind: &str, status: bool, now: Timestamp) {
        match self.conditions.get(kind) {
            Some((old, _)) if *old == status => {}
            _ => {
                self.conditions.insert(kind.into(), (status, now));
            }
        }
    }

    /// Recomputes Initialized/ContainersReady/Ready (PodScheduled is set once at start).
    pub fn refresh_conditions(&mut self, gates_ok: bool, now: Timestamp) {
        let ready = self.containers_ready();
        self.set_condition("Initialized", self.initialized, now);
        self.set_condition("ContainersReady", ready, now);
        self.set_condition("Ready", ready && gates_ok, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(policy: &str, states: Vec<CState>) -> PodRecord {
        let containers = states
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let mut c = ContainerRecord::new(&format!("c{i}"), "zookeeper");
                c.state = s;
                c
            })
            .collect();
        PodRecord {
            restart_policy: policy.into(),
            init: vec![],
            containers,
            initialized: true,
            init_failed: false,
            pod_ip: None,
            host_ip: "10.244.1.1".into(),
            start_time: Timestamp::UNIX_EPOCH,
            conditions: BTreeMap::new(),
        }
    }

    fn term(code: i32) -> CState {
        CState::Terminated {
            exit_code: code,
            signal: None,
            reason: "x".into(),
            message: None,
            started_at: None,
            finished_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn run() -> CState {
        CState::Running {
            started_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn phases_follow_the_kubelet() {
        let waiting = CState::waiting("ErrImagePull", None);
        assert_eq!(
            record("Always", vec![waiting.clone()]).phase(),
            Phase::Pending
        );
        assert_eq!(
            record("Always", vec![run(), waiting]).phase(),
            Phase::Pending
        );
        assert_eq!(record("Always", vec![run()]).phase(), Phase::Running);
        assert_eq!(record("Always", vec![term(1)]).phase(), Phase::Running);
        assert_eq!(record("Never", vec![term(0)]).phase(), Phase::Succeeded);
        assert_eq!(
            record("Never", vec![term(0), term(2)]).phase(),
            Phase::Failed
        );
        assert_eq!(record("OnFailure", vec![term(0)]).phase(), Phase::Succeeded);
        assert_eq!(record("OnFailure", vec![term(3)]).phase(), Phase::Running);
        let mut crashlooping = record("Always", vec![CState::waiting("CrashLoopBackOff", None)]);
        crashlooping.containers[0].last_state = Some(term(1));
        assert_eq!(crashlooping.phase(), Phase::Running);
    }

    #[test]
    fn condition_times_move_only_on_change() {
        let mut r = record("Always", vec![run()]);
        let t1 = Timestamp::from_second(100).expect("ts");
        let t2 = Timestamp::from_second(200).expect("ts");
        r.refresh_conditions(true, t1);
        r.refresh_conditions(true, t2);
        assert_eq!(r.conditions["Ready"], (false, t1));
        r.containers[0].ready = true;
        r.refresh_conditions(true, t2);
        assert_eq!(r.conditions["Ready"], (true, t2));
        assert_eq!(r.conditions["Initialized"], (true, t1));
    }
}
