//! Unit tests of the roll planner on small hand-built ensembles: one per rule, a full
//! simulated roll, and an exhaustive sweep of member health for the safety rules.
use super::*;
use crate::controller::arbitrate::Underway;
use crate::health::{EnsembleAssessment, MemberAssessment, MemberId, Role};

const T0: u64 = 1_000_000;
const TIMEOUT: u64 = 600;

fn member(id: MemberId, role: Role) -> MemberAssessment {
    MemberAssessment {
        id,
        name: format!("zk-{}", id - 1),
        address: format!("10.0.0.{id}:2181"),
        role,
        voter: role != Role::Observer,
        serving: matches!(role, Role::Leader | Role::Follower | Role::Standalone),
        zxid: Some(10),
        epoch: Some(0),
        lag: (role == Role::Follower).then_some(0),
        reason: None,
        restarts: None,
        outstanding_requests: None,
        avg_latency_ms: None,
        zk_metrics: Vec::new(),
    }
}

/// A whole ensemble, a roll due: every pod on revision "old", the StatefulSet on "new".
#[derive(Clone)]
struct World {
    pods: Vec<MemberPod>,
    members: Vec<MemberAssessment>,
    lagging: Vec<MemberId>,
    synced: Option<u64>,
    revision: Option<String>,
    underway: Option<Underway>,
    uids: u32,
    replicas: usize,
}

impl World {
    fn new(n: u64, leader: MemberId) -> Self {
        let members = (1..=n)
            .map(|id| {
                member(
                    id,
                    if id == leader {
                        Role::Leader
                    } else {
                        Role::Follower
                    },
                )
            })
            .collect();
        let pods = (1..=n)
            .map(|id| MemberPod {
                id,
                name: format!("zk-{}", id - 1),
                uid: format!("uid-{id}-0"),
                revision: Some("old".into()),
                change: ChangeKind::Configuration,
                ready: true,
                running: true,
                terminating: false,
            })
            .collect();
        Self {
            pods,
            members,
            lagging: Vec::new(),
            synced: Some(n - 1),
            revision: Some("new".into()),
            underway: None,
            uids: 0,
            replicas: n as usize,
        }
    }

    fn assessment(&self) -> EnsembleAssessment {
        let voters = self.members.iter().filter(|m| m.voter).count();
        let serving_voters = self.members.iter().filter(|m| m.voter && m.serving).count();
        let majority = voters / 2 + 1;
        let leader = self
            .members
            .iter()
            .find(|m| m.role == Role::Leader)
            .map(|m| m.id);
        EnsembleAssessment {
            members: self.members.clone(),
            leader,
            epoch: Some(0),
            voters,
            serving_voters,
            majority,
            quorum: leader.is_some() && serving_voters >= majority,
            election_in_progress: false,
            split_brain: Vec::new(),
            lagging: self.lagging.clone(),
            overloaded: Vec::new(),
            faults: Vec::new(),
        }
    }

    fn decide(&self, state: Option<&RolloutState>, now: u64) -> RolloutPlan {
        let a = self.assessment();
        let obs = RolloutObservation {
            update_revision: self.revision.as_deref(),
            replicas: self.replicas,
            pods: &self.pods,
            assessment: Some(&a),
            synced_followers: self.synced,
            waiting_for: self.underway.as_ref(),
        };
        decide(state, &obs, now, TIMEOUT)
    }

    fn pod(&mut self, id: MemberId) -> &mut MemberPod {
        self.pods.iter_mut().find(|p| p.id == id).expect("pod")
    }

    fn role(&mut self, id: MemberId, role: Role) {
        let m = self
            .members
            .iter_mut()
            .find(|m| m.id == id)
            .expect("member");
        *m = member(id, role);
    }

    /// The StatefulSet recreated the deleted pod on the new revision; not Ready yet.
    fn recreate(&mut self, id: MemberId) {
        self.uids += 1;
        let uid = format!("uid-{id}-{}", self.uids);
        let revision = self.revision.clone();
        let pod = self.pod(id);
        pod.uid = uid;
        pod.revision = revision;
        pod.ready = false;
        pod.terminating = false;
        self.role(id, Role::Down);
    }

    /// The new pod is Ready and its member serves as a synced follower.
    fn rejoin(&mut self, id: MemberId) {
        self.pod(id).ready = true;
        self.role(id, Role::Follower);
    }
}

fn restarted(plan: &RolloutPlan) -> &RollStep {
    match &plan.decision {
        RolloutDecision::Restart(step) => step,
        other => panic!("expected a restart, got {other:?}"),
    }
}

fn blocked_why(plan: &RolloutPlan) -> &str {
    match &plan.decision {
        RolloutDecision::Blocked { why, .. } => why,
        other => panic!("expected blocked, got {other:?}"),
    }
}

/// Runs a whole roll; the leader's restart hands leadership to `next_leader`. Returns
/// the restarted pods with their roles, in order, and the final plan.
fn roll(mut w: World, next_leader: MemberId) -> (Vec<(String, String)>, RolloutPlan) {
    let mut state: Option<RolloutState> = None;
    let mut order = Vec::new();
    let mut now = T0;
    for _ in 0..50 {
        now += 5;
        let plan = w.decide(state.as_ref(), now);
        state = plan.state.clone();
        match &plan.decision {
            RolloutDecision::Idle => return (order, plan),
            RolloutDecision::Restart(step) => {
                order.push((step.pod.clone(), step.role.clone()));
                if step.role == "leader" {
                    w.role(next_leader, Role::Leader);
                }
                w.pod(step.member).terminating = true;
                // While the old pod terminates, nothing else happens.
                let again = w.decide(state.as_ref(), now + 1);
                assert!(
                    matches!(again.decision, RolloutDecision::Waiting { .. }),
                    "{again:?}"
                );
                w.synced = w.synced.map(|n| n.saturating_sub(1));
                w.recreate(step.member);
                let again = w.decide(state.as_ref(), now + 2);
                assert!(
                    matches!(again.decision, RolloutDecision::Waiting { .. }),
                    "{again:?}"
                );
                w.rejoin(step.member);
                w.synced = Some(w.pods.len() as u64 - 1);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("the roll did not end: {order:?}");
}

#[test]
fn nothing_outdated_nothing_to_do() {
    let mut w = World::new(3, 1);
    w.revision = Some("old".into());
    let plan = w.decide(None, T0);
    assert_eq!(plan.decision, RolloutDecision::Idle);
    assert_eq!((plan.state, plan.finished), (None, None));
    // A roll that never restarted anything (blocked, then the change reverted) does not
    // announce its end.
    let blocked = RolloutState {
        revision: "new".into(),
        ..RolloutState::default()
    };
    assert_eq!(w.decide(Some(&blocked), T0).finished, None);
    w.revision = None;
    assert_eq!(w.decide(None, T0).decision, RolloutDecision::Idle);
}

#[test]
fn an_unknown_revision_mid_roll_neither_continues_nor_ends_it() {
    let mut w = World::new(3, 1);
    let plan = w.decide(None, T0);
    w.recreate(2);
    w.rejoin(2);
    w.revision = None;
    let next = w.decide(plan.state.as_ref(), T0 + 30);
    assert!(
        matches!(&next.decision, RolloutDecision::Blocked { outdated: 0, why } if why.contains("not observed")),
        "{next:?}"
    );
    assert_eq!(next.finished, None);
    let state = next.state.expect("the roll is remembered");
    assert_eq!((state.rolled.len(), &state.step), (1, &None));
    w.revision = Some("new".into());
    let resumed = w.decide(Some(&state), T0 + 35);
    assert_eq!(restarted(&resumed).position, 2);
}

#[test]
fn followers_by_ordinal_then_the_leader_last() {
    for (leader, expected) in [
        (1, ["zk-1", "zk-2", "zk-0"]),
        (2, ["zk-0", "zk-2", "zk-1"]),
        (3, ["zk-0", "zk-1", "zk-2"]),
    ] {
        let next = if leader == 3 { 1 } else { 3 };
        let (order, end) = roll(World::new(3, leader), next);
        let pods: Vec<&str> = order.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(pods, expected, "leader {leader}");
        let roles: Vec<&str> = order.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(roles, ["follower", "follower", "leader"]);
        assert_eq!(end.finished, Some(3), "the end of the roll is told");
        assert_eq!(end.state, None, "nothing persisted once done");
    }
}

#[test]
fn five_members_roll_each_once_leader_last() {
    let (order, _) = roll(World::new(5, 3), 1);
    let pods: Vec<&str> = order.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(pods, ["zk-0", "zk-1", "zk-3", "zk-4", "zk-2"]);
}

#[test]
fn the_step_names_member_role_position_and_why() {
    let w = World::new(3, 1);
    let plan = w.decide(None, T0);
    let step = restarted(&plan).clone();
    assert_eq!(
        plan.decision.message(),
        "restarting zk-1 (follower) 1/3: configuration changed"
    );
    assert_eq!((step.uid.as_str(), step.started), ("uid-2-0", T0));
    let state = plan.state.expect("persisted");
    assert_eq!(state.rolled, ["zk-1"]);
    assert_eq!(state.revision, "new");
    assert_eq!(state.step.as_ref(), Some(&step));
    let verdict = crate::status::rollout::progressing(&plan.decision).expect("a verdict");
    assert!(verdict.status);
    assert_eq!(verdict.reason, "RollingRestart");
}

#[test]
fn one_at_a_time_even_when_the_rest_looks_whole() {
    let mut w = World::new(3, 1);
    let plan = w.decide(None, T0);
    let state = plan.state.clone();
    // The old pod is gone and nothing replaced it yet: the ensemble of the two others
    // has quorum, but the step is not done, so no second restart.
    w.pods.retain(|p| p.id != 2);
    w.members.retain(|m| m.id != 2);
    let next = w.decide(state.as_ref(), T0 + 10);
    match next.decision {
        RolloutDecision::Waiting { waiting_for, .. } => {
            assert!(
                waiting_for.contains("zk-1 to be recreated"),
                "{waiting_for}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn done_only_when_the_leader_counts_every_follower_synced() {
    let mut w = World::new(3, 1);
    let plan = w.decide(None, T0);
    let state = plan.state.clone();
    w.recreate(2);
    w.rejoin(2);
    w.synced = Some(1);
    let waiting = w.decide(state.as_ref(), T0 + 10);
    match &waiting.decision {
        RolloutDecision::Waiting { waiting_for, .. } => {
            assert!(
                waiting_for.contains("1 of 2 followers synced"),
                "{waiting_for}"
            )
        }
        other => panic!("{other:?}"),
    }
    w.synced = None;
    assert!(matches!(
        w.decide(state.as_ref(), T0 + 10).decision,
        RolloutDecision::Waiting { .. }
    ));
    w.lagging = vec![2];
    w.synced = Some(2);
    assert!(matches!(
        w.decide(state.as_ref(), T0 + 10).decision,
        RolloutDecision::Waiting { .. }
    ));
    w.lagging.clear();
    let next = w.decide(state.as_ref(), T0 + 10);
    assert_eq!(
        next.completed.as_ref().map(|s| s.pod.as_str()),
        Some("zk-1")
    );
    let step = restarted(&next);
    assert_eq!(
        (step.pod.as_str(), step.position, step.total),
        ("zk-2", 2, 3)
    );
}

#[test]
fn never_without_a_healthy_quorum() {
    // Even the member that is down already is not restarted without a quorum.
    let mut w = World::new(3, 1);
    w.role(1, Role::Looking);
    assert!(blocked_why(&w.decide(None, T0)).contains("no serving quorum"));
    let mut w = World::new(3, 1);
    w.members.iter_mut().for_each(|m| m.role = Role::Looking);
    w.members.iter_mut().for_each(|m| m.serving = false);
    assert!(blocked_why(&w.decide(None, T0)).contains("is not serving"));
    let w = World::new(3, 1);
    let plan = {
        let a = EnsembleAssessment {
            quorum: false,
            ..w.assessment()
        };
        let obs = RolloutObservation {
            update_revision: Some("new"),
            replicas: 3,
            pods: &w.pods,
            assessment: Some(&a),
            synced_followers: Some(2),
            waiting_for: None,
        };
        decide(None, &obs, T0, TIMEOUT)
    };
    assert!(blocked_why(&plan).contains("no serving quorum"));
    let obs = RolloutObservation {
        update_revision: Some("new"),
        replicas: 3,
        pods: &w.pods,
        assessment: None,
        synced_followers: Some(2),
        waiting_for: None,
    };
    assert!(blocked_why(&decide(None, &obs, T0, TIMEOUT)).contains("first health probe"));
}

#[test]
fn never_while_another_member_is_unwell() {
    // zk-2 already runs the new template, so only a serving member could be restarted.
    let updated = |w: &mut World| w.pod(3).revision = Some("new".into());
    let mut w = World::new(3, 1);
    updated(&mut w);
    w.pod(3).ready = false;
    assert_eq!(blocked_why(&w.decide(None, T0)), "zk-2 is not Ready");
    let mut w = World::new(3, 1);
    updated(&mut w);
    w.lagging = vec![3];
    assert_eq!(
        blocked_why(&w.decide(None, T0)),
        "zk-2 has not caught up with the leader"
    );
    let mut w = World::new(3, 1);
    w.pods.retain(|p| p.id != 3);
    w.role(3, Role::Down);
    assert_eq!(
        blocked_why(&w.decide(None, T0)),
        "member 3 has no running pod"
    );
    let mut w = World::new(3, 1);
    w.synced = Some(1);
    assert!(blocked_why(&w.decide(None, T0)).contains("1 of 2 followers synced"));
    let mut w = World::new(3, 1);
    w.underway = Some(Underway::RecoveryRestart("zk-2".into()));
    assert_eq!(
        blocked_why(&w.decide(None, T0)),
        "the roll waits for automatic recovery restarting zk-2"
    );
    let mut w = World::new(3, 1);
    w.underway = Some(Underway::ScaleStep(
        "adding member 4: waiting for it to sync as a follower".into(),
    ));
    assert_eq!(
        blocked_why(&w.decide(None, T0)),
        "the roll waits for the scale change (adding member 4: waiting for it to sync as a follower)"
    );
}

#[test]
fn an_operator_restarted_mid_roll_resumes_without_restarting_twice() {
    let mut w = World::new(3, 1);
    let first = w.decide(None, T0);
    let persisted = first.state.clone();
    // Stopped between persisting the step and deleting the pod: the same delete again.
    let again = w.decide(persisted.as_ref(), T0 + 3);
    assert_eq!(
        again.decision,
        RolloutDecision::Reissue(restarted(&first).clone())
    );
    // Stopped after the delete: the member came back meanwhile; the roll continues with
    // the next member, never the one already rolled.
    w.recreate(2);
    w.rejoin(2);
    let next = w.decide(persisted.as_ref(), T0 + 30);
    let step = restarted(&next);
    assert_eq!((step.pod.as_str(), step.position), ("zk-2", 2));
    assert_eq!(next.state.expect("state").rolled, ["zk-1", "zk-2"]);
}

#[test]
fn a_step_past_its_timeout_stalls_and_nothing_else_restarts() {
    let mut w = World::new(3, 1);
    let plan = w.decide(None, T0);
    let state = plan.state.clone();
    w.recreate(2);
    let before = w.decide(state.as_ref(), T0 + TIMEOUT - 1);
    assert!(matches!(before.decision, RolloutDecision::Waiting { .. }));
    let stalled = w.decide(state.as_ref(), T0 + TIMEOUT);
    match &stalled.decision {
        RolloutDecision::Stalled { waiting_for, .. } => {
            assert!(
                waiting_for.contains("zk-1 to become Ready"),
                "{waiting_for}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !stalled.decision.in_flight(),
        "recovery may act on a stalled member"
    );
    let verdict = crate::status::rollout::progressing(&stalled.decision).expect("verdict");
    assert_eq!(
        (verdict.status, verdict.reason.as_str()),
        (false, "RollingRestartStalled")
    );
    // The message does not move with the clock (no status write per pass).
    let later = w.decide(state.as_ref(), T0 + TIMEOUT + 100);
    assert_eq!(later.decision.message(), stalled.decision.message());
    // Once the member finally rejoins, the roll goes on.
    w.rejoin(2);
    let resumed = w.decide(state.as_ref(), T0 + TIMEOUT + 200);
    assert_eq!(restarted(&resumed).pod, "zk-2");
}

#[test]
fn a_new_revision_mid_roll_starts_a_new_count() {
    let mut w = World::new(3, 1);
    let plan = w.decide(None, T0);
    w.recreate(2);
    w.rejoin(2);
    w.revision = Some("newer".into());
    let next = w.decide(plan.state.as_ref(), T0 + 30);
    let step = restarted(&next);
    assert_eq!(
        (step.pod.as_str(), step.position, step.total),
        ("zk-1", 1, 3)
    );
    assert_eq!(next.state.expect("state").revision, "newer");
}

#[test]
fn a_single_member_rolls_since_nothing_else_can() {
    let w = World::new(1, 1);
    let step = w.decide(None, T0);
    assert_eq!(restarted(&step).role, "leader");
}

#[test]
fn change_kinds() {
    use ChangeKind::*;
    let marks = |hash, image, stamp| TemplateMarks {
        config_hash: Some(hash),
        image: Some(image),
        restart_stamp: stamp,
    };
    let k = |ph, th, pi, ti| change_kind(marks(ph, pi, None), marks(th, ti, None));
    assert_eq!(k("a", "b", "zk:1", "zk:1"), Configuration);
    assert_eq!(k("a", "b", "zk:1", "zk:2"), Image);
    assert_eq!(k("a", "a", "zk:1", "zk:1"), Template);
    assert_eq!(Image.as_str(), "image changed");
    // A new restart stamp alone is a requested restart; with a config change, the config
    // is named (it is what the member comes back with).
    let t1 = Some("2026-12-07T15:00:00Z");
    assert_eq!(
        change_kind(marks("a", "zk:1", None), marks("a", "zk:1", t1)),
        RestartRequested
    );
    assert_eq!(
        change_kind(marks("a", "zk:1", None), marks("b", "zk:1", t1)),
        Configuration
    );
    assert_eq!(RestartRequested.as_str(), "restart requested");
}

/// Every combination of member health, leader, synced count and recovery for three
/// members: a restart is only ever decided when the ensemble is whole, recovery is idle,
/// and it targets the leader only once no follower is outdated.
#[test]
fn exhaustively_never_below_quorum_and_leader_last() {
    #[derive(Clone, Copy, Debug)]
    enum Health {
        Fine,
        NotReady,
        NotServing,
        Lagging,
        Missing,
    }
    let all = [
        Health::Fine,
        Health::NotReady,
        Health::NotServing,
        Health::Lagging,
        Health::Missing,
    ];
    let mut restarts = 0;
    for h1 in all {
        for h2 in all {
            for h3 in all {
                for leader in 1..=3u64 {
                    for synced in [None, Some(0), Some(1), Some(2)] {
                        for recovery in [None, Some("zk-0")] {
                            for updated in 0..=3u64 {
                                let mut w = World::new(3, leader);
                                w.synced = synced;
                                w.underway =
                                    recovery.map(|pod| Underway::RecoveryRestart(pod.into()));
                                for (id, h) in [(1, h1), (2, h2), (3, h3)] {
                                    match h {
                                        Health::Fine => {}
                                        Health::NotReady => w.pod(id).ready = false,
                                        Health::NotServing => w.role(id, Role::Looking),
                                        Health::Lagging => w.lagging.push(id),
                                        Health::Missing => w.pods.retain(|p| p.id != id),
                                    }
                                }
                                // The first `updated` ids already run the new revision.
                                for p in w.pods.iter_mut().filter(|p| p.id <= updated) {
                                    p.revision = Some("new".into());
                                }
                                let plan = w.decide(None, T0);
                                let RolloutDecision::Restart(step) = &plan.decision else {
                                    continue;
                                };
                                restarts += 1;
                                let case = format!(
                                    "{h1:?} {h2:?} {h3:?} leader {leader} synced {synced:?} recovery {recovery:?} updated {updated}"
                                );
                                assert_eq!(recovery, None, "{case}");
                                let a = w.assessment();
                                assert!(a.quorum, "{case}");
                                let healths = [h1, h2, h3];
                                let unwell: Vec<u64> = (1..=3u64)
                                    .filter(|id| !matches!(healths[*id as usize - 1], Health::Fine))
                                    .collect();
                                if unwell.is_empty() {
                                    // Restarting a serving member: the rest keeps a
                                    // majority and the leader counts every follower synced.
                                    assert_eq!(synced, Some(2), "{case}");
                                    assert!(a.serving_voters > a.majority, "{case}");
                                } else {
                                    // Only ever the one member that is down already.
                                    assert_eq!(unwell, [step.member], "{case}");
                                    continue;
                                }
                                let outdated_followers = w
                                    .pods
                                    .iter()
                                    .filter(|p| p.id > updated && p.id != leader)
                                    .count();
                                assert_eq!(
                                    step.member == leader,
                                    outdated_followers == 0,
                                    "{case}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(
        restarts > 0,
        "the sweep must reach restarts to prove anything"
    );
}

/// A member stuck on a template that was since replaced (a bad image rolled back) is
/// restarted onto the new one, first, while everyone else is whole; never if another
/// member is unwell too.
#[test]
fn a_member_stuck_on_a_replaced_template_is_restarted_first() {
    let mut w = World::new(3, 1);
    let first = w.decide(None, T0);
    let state = first.state.clone();
    assert_eq!(restarted(&first).pod, "zk-1");
    w.recreate(2); // on "new", which cannot start
    w.revision = Some("fixed".into());
    w.synced = Some(1);
    let next = w.decide(state.as_ref(), T0 + 30);
    let step = restarted(&next);
    assert_eq!(
        (step.pod.as_str(), step.position, step.total),
        ("zk-1", 1, 3)
    );
    assert!(
        next.completed.is_none(),
        "a superseded step is not a completed one"
    );
    w.pod(3).ready = false;
    let blocked = w.decide(state.as_ref(), T0 + 30);
    assert_eq!(blocked_why(&blocked), "zk-2 is not Ready");
}
