//! Property and exhaustive tests of the recovery policy's safety rules: whatever the
//! ensemble, the pods and the history, the one action chosen never makes things worse.
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use zookeeper_operator::health::{
    ContainerState, EnsembleAssessment, MemberAssessment, MemberId, PodView, Role,
};
use zookeeper_operator::recovery::{
    Decision, MemberHistory, RecoveryHistory, RecoveryPolicy, RestartReason, at, decide,
    decide_reset, exhausted, observe, record_restart, unix,
};

const NOW: u64 = 2_000_000;

/// The pod states that matter to the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PodKind {
    Ready,
    NotReady,
    CrashLoop,
    Terminated,
    PodFailed,
    Pending,
    ImagePull,
    ConfigError,
    Missing,
}

const POD_KINDS: [PodKind; 9] = [
    PodKind::Ready,
    PodKind::NotReady,
    PodKind::CrashLoop,
    PodKind::Terminated,
    PodKind::PodFailed,
    PodKind::Pending,
    PodKind::ImagePull,
    PodKind::ConfigError,
    PodKind::Missing,
];

fn pod(id: MemberId, kind: PodKind) -> Option<PodView> {
    let (phase, ready, container) = match kind {
        PodKind::Ready => ("Running", true, ContainerState::Running),
        PodKind::NotReady => ("Running", false, ContainerState::Running),
        PodKind::CrashLoop => ("Running", false, waiting("CrashLoopBackOff")),
        PodKind::Terminated => (
            "Running",
            false,
            ContainerState::Terminated {
                reason: "Error".into(),
                exit_code: 3,
            },
        ),
        PodKind::PodFailed => ("Failed", false, ContainerState::Unknown),
        PodKind::Pending => ("Pending", false, ContainerState::Unknown),
        PodKind::ImagePull => ("Pending", false, waiting("ImagePullBackOff")),
        PodKind::ConfigError => ("Pending", false, waiting("CreateContainerConfigError")),
        PodKind::Missing => return None,
    };
    Some(PodView {
        name: format!("zk-{}", id - 1),
        phase: phase.into(),
        ready,
        container,
        restart_count: 0,
    })
}

/// Which of the generated states a pod view is in (the inverse of [`pod`]).
trait Kind {
    fn kind(&self) -> PodKind;
}

impl Kind for PodView {
    fn kind(&self) -> PodKind {
        let same = |p: PodView| {
            (&p.phase, p.ready, &p.container) == (&self.phase, self.ready, &self.container)
        };
        POD_KINDS
            .into_iter()
            .find(|k| pod(1, *k).is_some_and(same))
            .unwrap_or(PodKind::Missing)
    }
}

fn waiting(reason: &str) -> ContainerState {
    ContainerState::Waiting {
        reason: reason.into(),
    }
}

/// A problem a new pod would have just the same.
fn unfixable(pod: &PodView) -> bool {
    pod.phase == "Pending"
        || matches!(&pod.container, ContainerState::Waiting { reason }
            if reason.contains("Image") || reason.starts_with("CreateContainer"))
}

#[derive(Debug, Clone)]
struct MemberSpec {
    role: Role,
    observer: bool,
    lagging: bool,
    zxid: Option<u64>,
    pod: PodKind,
    /// Known to the watcher; pods without an IP are not.
    in_assessment: bool,
}

/// An assessment built the way `health::assess` builds one from member verdicts.
fn ensemble(specs: &[MemberSpec]) -> (EnsembleAssessment, BTreeMap<MemberId, PodView>) {
    let mut members = Vec::new();
    let mut pods = BTreeMap::new();
    let mut lagging = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let id = i as u64 + 1;
        if let Some(p) = pod(id, s.pod) {
            pods.insert(id, p);
        }
        if !s.in_assessment {
            continue;
        }
        let serving = matches!(s.role, Role::Leader | Role::Follower | Role::Observer);
        if s.lagging && serving && s.role != Role::Leader {
            lagging.push(id);
        }
        members.push(MemberAssessment {
            id,
            name: format!("zk-{i}"),
            address: format!("10.0.0.{id}:2181"),
            role: s.role,
            voter: !s.observer && s.role != Role::Observer,
            serving,
            zxid: s.zxid,
            epoch: s.zxid.map(|z| (z >> 32) as u32),
            lag: None,
            reason: None,
            restarts: None,
            outstanding_requests: None,
            avg_latency_ms: None,
            zk_metrics: Vec::new(),
        });
    }
    let voters = specs.iter().filter(|s| !s.observer).count();
    let majority = voters / 2 + 1;
    let serving_voters = members
        .iter()
        .filter(|m| m.voter && m.serving && matches!(m.role, Role::Leader | Role::Follower))
        .count();
    let leader = members
        .iter()
        .find(|m| m.role == Role::Leader)
        .map(|m| m.id);
    let quorum = leader.is_some() && serving_voters >= majority;
    let a = EnsembleAssessment {
        members,
        leader,
        epoch: None,
        voters,
        serving_voters,
        majority,
        quorum,
        election_in_progress: !quorum,
        split_brain: Vec::new(),
        lagging,
        overloaded: Vec::new(),
        faults: Vec::new(),
    };
    (a, pods)
}

/// Every safety rule, checked against one decision. `Err` names the broken rule.
fn check(
    policy: &RecoveryPolicy,
    history: &RecoveryHistory,
    a: &EnsembleAssessment,
    pods: &BTreeMap<MemberId, PodView>,
    now: SystemTime,
    d: &Decision,
) -> Result<(), String> {
    if let Some(m) = d.member()
        && a.member(m).is_none()
        && !pods.contains_key(&m)
        && !history.members.contains_key(&m)
    {
        return Err(format!("decision about unknown member {m}"));
    }
    let Some(target) = d.restart() else {
        return Ok(());
    };
    if !policy.enabled || policy.paused {
        return Err("restart while recovery is disabled or paused".into());
    }
    let Some(pod) = pods.get(&target) else {
        return Err("restart of a member without a pod".into());
    };
    if unfixable(pod) {
        return Err(format!("restart of an unfixable pod {pod:?}"));
    }
    let Decision::Restart { pod: name, .. } = d else {
        unreachable!()
    };
    if *name != pod.name {
        return Err("restart names another pod".into());
    }
    if let Some(m) = a.member(target) {
        let serving_voter = m.voter && m.serving && matches!(m.role, Role::Leader | Role::Follower);
        if serving_voter && a.serving_voters < a.majority + 1 {
            return Err(format!(
                "restart of serving voter {target} leaves {} < majority {}",
                a.serving_voters - 1,
                a.majority
            ));
        }
        if m.role == Role::Leader {
            let unsynced_member = a
                .members
                .iter()
                .any(|o| o.id != target && (!o.serving || a.lagging.contains(&o.id)));
            let unknown_pod = pods.keys().any(|id| a.member(*id).is_none());
            if unsynced_member || unknown_pod {
                return Err("leader restarted while a follower is not synced".into());
            }
        }
    }
    let h = history.member(target).cloned().unwrap_or_default();
    let recent = h.recent_restarts(policy.window, now);
    if recent >= policy.max_restarts {
        return Err(format!("restart beyond the cap ({recent} in the window)"));
    }
    if let Some(last) = h.last_restart
        && now < at(last) + policy.backoff(recent)
    {
        return Err("restart within the backoff".into());
    }
    // Never two restarts at once: a recent restart not yet seen gone holds everything.
    // One that landed (its new process was seen back) is over: a later failure of that
    // member is a new fault, and a member already down may always be restarted.
    for (id, other) in &history.members {
        let Some(last) = other.last_restart else {
            continue;
        };
        let in_window = unix(now) < last + policy.restart_timeout.as_secs();
        let runs = pods
            .get(id)
            .is_some_and(|p| p.phase == "Running" && p.container == ContainerState::Running);
        if in_window && !other.landed && (!other.gone_since_restart || !runs) {
            return Err(format!("restart of {target} while {id} is in flight"));
        }
    }
    Ok(())
}

fn member_spec(observer: bool) -> impl Strategy<Value = MemberSpec> {
    let role = if observer {
        prop_oneof![Just(Role::Observer), Just(Role::Looking), Just(Role::Down)].boxed()
    } else {
        prop_oneof![
            4 => Just(Role::Follower),
            2 => Just(Role::Looking),
            2 => Just(Role::Down),
        ]
        .boxed()
    };
    let pod = prop_oneof![
        6 => Just(PodKind::Ready),
        2 => Just(PodKind::NotReady),
        2 => Just(PodKind::CrashLoop),
        1 => Just(PodKind::Terminated),
        1 => Just(PodKind::PodFailed),
        1 => Just(PodKind::Pending),
        1 => Just(PodKind::ImagePull),
        1 => Just(PodKind::ConfigError),
        1 => Just(PodKind::Missing),
    ];
    (
        role,
        any::<bool>(),
        proptest::option::weighted(0.9, 0u64..64),
        pod,
        proptest::bool::weighted(0.9),
    )
        .prop_map(
            move |(role, lagging, zxid, pod, in_assessment)| MemberSpec {
                role,
                observer,
                lagging,
                zxid,
                pod,
                in_assessment,
            },
        )
}

/// 3-7 voters, up to 2 observers, at most one leader (or none).
fn specs() -> impl Strategy<Value = Vec<MemberSpec>> {
    (3usize..=7, 0usize..=2)
        .prop_flat_map(|(voters, observers)| {
            let mut all = Vec::new();
            all.extend((0..voters).map(|_| member_spec(false).boxed()));
            all.extend((0..observers).map(|_| member_spec(true).boxed()));
            (all, proptest::option::of(0..voters))
        })
        .prop_map(|(mut specs, leader)| {
            match leader {
                Some(i) => specs[i].role = Role::Leader,
                // Without a leader nobody follows.
                None => specs
                    .iter_mut()
                    .filter(|s| s.role == Role::Follower || s.role == Role::Observer)
                    .for_each(|s| s.role = Role::Looking),
            }
            specs
        })
}

fn member_history() -> impl Strategy<Value = MemberHistory> {
    (
        proptest::collection::vec(0u64..4_000, 0..5),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(0u64..4_000),
    )
        .prop_map(|(ago, gone, landed, failing)| {
            let mut restarts: Vec<u64> = ago.iter().map(|a| NOW - a).collect();
            restarts.sort_unstable();
            MemberHistory {
                last_restart: restarts.last().copied(),
                restarts,
                incarnation: None,
                gone_since_restart: gone,
                // Only a restart whose old process was seen gone can have landed.
                landed: gone && landed,
                failing_since: failing.map(|f| NOW - f),
            }
        })
}

fn history(members: usize) -> impl Strategy<Value = RecoveryHistory> {
    (
        proptest::collection::vec(proptest::option::weighted(0.5, member_history()), members),
        proptest::option::of(0u64..400),
    )
        .prop_map(|(members, leaderless)| RecoveryHistory {
            members: members
                .into_iter()
                .enumerate()
                .filter_map(|(i, h)| Some((i as u64 + 1, h?)))
                .collect(),
            leaderless_since: leaderless.map(|l| NOW - l),
        })
}

fn policy() -> impl Strategy<Value = RecoveryPolicy> {
    (
        proptest::bool::weighted(0.9),
        proptest::bool::weighted(0.1),
        1usize..=4,
    )
        .prop_map(|(enabled, paused, max_restarts)| RecoveryPolicy {
            enabled,
            paused,
            max_restarts,
            ..RecoveryPolicy::default()
        })
}

fn case() -> impl Strategy<Value = (RecoveryPolicy, Vec<MemberSpec>, RecoveryHistory)> {
    specs().prop_flat_map(|specs| {
        let n = specs.len();
        (policy(), Just(specs), history(n))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// The chosen action breaks no safety rule, with or without a fresh observation.
    #[test]
    fn decisions_are_safe((policy, specs, history) in case()) {
        let (a, pods) = ensemble(&specs);
        let now = at(NOW);
        for h in [history.clone(), observe(&history, &a, &pods, now)] {
            let d = decide(&policy, &h, &a, &pods, now);
            prop_assert_eq!(&d, &decide(&policy, &h, &a, &pods, now), "deterministic");
            if let Err(why) = check(&policy, &h, &a, &pods, now, &d) {
                prop_assert!(false, "{}: {:?}\n{:#?}", why, d, a);
            }
            if let Decision::Exhausted { member, .. } = d {
                prop_assert!(exhausted(&policy, &h, &a, &pods, now).contains(&member));
            }
        }
    }

    /// A data reset happens only on request, for a crash-looping member, while the
    /// others hold a quorum, and within the same cap, backoff and in-flight hold.
    #[test]
    fn data_resets_only_with_a_healthy_quorum(
        (policy, specs, history) in case(),
        corrupt in proptest::collection::btree_set(1u64..=7, 1..4),
    ) {
        let policy = RecoveryPolicy { reset_corrupt_data: true, ..policy };
        let (a, pods) = ensemble(&specs);
        let now = at(NOW);
        let h = observe(&history, &a, &pods, now);
        if let Some(Decision::ResetData { member, pod, .. }) =
            decide_reset(&policy, &h, &a, &pods, &corrupt, now)
        {
            prop_assert!(policy.enabled && !policy.paused);
            prop_assert!(corrupt.contains(&member));
            prop_assert!(a.quorum && a.serving_voters >= a.majority);
            prop_assert!(a.member(member).is_none_or(|m| !m.serving));
            let p = &pods[&member];
            prop_assert_eq!(&p.name, &pod);
            prop_assert!(matches!(p.kind(), PodKind::CrashLoop | PodKind::Terminated));
            // The same cap, backoff and in-flight rules as a restart.
            let as_restart = Decision::Restart {
                member,
                pod,
                reason: RestartReason::CrashLoop,
                explanation: String::new(),
            };
            check(&policy, &h, &a, &pods, now, &as_restart).map_err(TestCaseError::fail)?;
        }
    }

    /// Right after a restart, with the same (stale) observations, nothing else restarts:
    /// never two members down because of the operator at once.
    #[test]
    fn never_two_restarts_at_once((policy, specs, history) in case(), later in 0u64..119) {
        let (a, pods) = ensemble(&specs);
        let now = at(NOW);
        let h = observe(&history, &a, &pods, now);
        if let Some(m) = decide(&policy, &h, &a, &pods, now).restart() {
            let h = record_restart(&policy, &h, m, Some("uid".into()), now);
            let then = now + Duration::from_secs(later);
            let h = observe(&h, &a, &pods, then);
            // The restarted member was not seen gone in this stale view unless its pod
            // already showed it gone; either way only member `m` may be in question.
            let d = decide(&policy, &h, &a, &pods, then);
            if let Some(again) = d.restart() {
                prop_assert!(
                    h.member(m).is_some_and(|x| x.gone_since_restart) && again != m,
                    "second restart {again} right after restarting {m}: {d:?}"
                );
                check(&policy, &h, &a, &pods, then, &d).map_err(TestCaseError::fail)?;
            }
        }
    }

}

proptest! {
    // Each case simulates hours of reconciles: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// Running the policy over time never restarts a member more often than the cap
    /// allows within any window, and never faster than the backoff.
    #[test]
    fn cap_and_backoff_hold_over_time((policy, specs, _h) in case(), step in 5u64..90) {
        let policy = RecoveryPolicy { enabled: true, paused: false, ..policy };
        let (a, pods) = ensemble(&specs);
        let mut h = RecoveryHistory::default();
        let mut restarts: BTreeMap<MemberId, Vec<u64>> = BTreeMap::new();
        let mut t = NOW;
        while t < NOW + 2 * 3_600 {
            h = observe(&h, &a, &pods, at(t));
            let d = decide(&policy, &h, &a, &pods, at(t));
            check(&policy, &h, &a, &pods, at(t), &d).map_err(TestCaseError::fail)?;
            if let Some(m) = d.restart() {
                h = record_restart(&policy, &h, m, None, at(t));
                restarts.entry(m).or_default().push(t);
            }
            t += step;
        }
        for times in restarts.values() {
            for (i, &start) in times.iter().enumerate() {
                let within = times[i..]
                    .iter()
                    .take_while(|&&x| x < start + policy.window.as_secs())
                    .count();
                prop_assert!(within <= policy.max_restarts, "{times:?}");
            }
            for pair in times.windows(2) {
                prop_assert!(pair[1] - pair[0] >= policy.backoff_initial.as_secs());
            }
        }
    }

}

proptest! {
    /// The history is small and survives serialization unchanged.
    #[test]
    fn history_round_trips(history in history(7)) {
        let json = serde_json::to_string(&history).unwrap();
        let back: RecoveryHistory = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, history);
    }
}

/// Every 3-member ensemble: roles (leader, follower, lagging follower, looking, down) x
/// every pod state x a handful of histories. Each decision must pass every rule.
#[test]
fn exhaustive_three_members() {
    let roles = [
        (Role::Leader, false),
        (Role::Follower, false),
        (Role::Follower, true),
        (Role::Looking, false),
        (Role::Down, false),
    ];
    let per_member: Vec<MemberSpec> = roles
        .iter()
        .flat_map(|&(role, lagging)| {
            POD_KINDS.iter().map(move |&pod| MemberSpec {
                role,
                observer: false,
                lagging,
                zxid: Some(7),
                pod,
                in_assessment: !matches!(pod, PodKind::Pending | PodKind::ImagePull),
            })
        })
        .collect();
    let failing = |id: u64| {
        (
            id,
            MemberHistory {
                failing_since: Some(NOW - 1_000),
                ..MemberHistory::default()
            },
        )
    };
    let base = RecoveryHistory {
        members: (1..=3).map(failing).collect(),
        leaderless_since: Some(NOW - 1_000),
    };
    let policy = RecoveryPolicy::default();
    let mut histories = vec![RecoveryHistory::default(), base.clone()];
    for id in 1..=3 {
        // A restart in flight, one in backoff, one member exhausted.
        for (ago, gone, count) in [(10, false, 1), (40, true, 2), (100, true, 3)] {
            let mut h = base.clone();
            let m = h.members.entry(id).or_default();
            m.restarts = (0..count).map(|k| NOW - ago - k * 10).rev().collect();
            m.last_restart = Some(NOW - ago);
            m.gone_since_restart = gone;
            histories.push(h);
        }
    }
    let now = at(NOW);
    let mut restarts = 0usize;
    let mut cases = 0usize;
    for x in &per_member {
        for y in &per_member {
            for z in &per_member {
                let specs = [x.clone(), y.clone(), z.clone()];
                if specs.iter().filter(|s| s.role == Role::Leader).count() > 1 {
                    continue;
                }
                let (a, pods) = ensemble(&specs);
                for h in &histories {
                    let d = decide(&policy, h, &a, &pods, now);
                    if let Err(why) = check(&policy, h, &a, &pods, now, &d) {
                        panic!("{why}: {d:?}\nspecs {specs:?}\nhistory {h:?}");
                    }
                    cases += 1;
                    restarts += usize::from(d.restart().is_some());
                }
            }
        }
    }
    // The rules must not make the policy useless: plenty of cases still act.
    assert!(
        cases > 100_000 && restarts > cases / 10,
        "{restarts}/{cases}"
    );
}

/// With quorum lost and every member running, the members restart lowest zxid first,
/// whatever their ids.
#[test]
fn stuck_election_order_is_by_zxid_for_every_permutation() {
    let zxids = [3u64, 9, 5, 1, 7];
    let policy = RecoveryPolicy::default();
    for rotation in 0..zxids.len() {
        let mut z = zxids;
        z.rotate_left(rotation);
        let specs: Vec<MemberSpec> = z
            .iter()
            .map(|&zxid| MemberSpec {
                role: Role::Looking,
                observer: false,
                lagging: false,
                zxid: Some(zxid),
                pod: PodKind::Ready,
                in_assessment: true,
            })
            .collect();
        let (a, pods) = ensemble(&specs);
        let mut h = observe(&RecoveryHistory::default(), &a, &pods, at(NOW));
        let mut t = NOW + 120;
        let mut order = Vec::new();
        while order.len() < z.len() {
            let d = decide(&policy, &h, &a, &pods, at(t));
            let m = d.restart().unwrap_or_else(|| panic!("{d:?}"));
            order.push(z[(m - 1) as usize]);
            h = record_restart(&policy, &h, m, None, at(t));
            // The member goes away and comes back, still without a leader.
            let mut gone = pods.clone();
            gone.remove(&m);
            h = observe(&h, &a, &gone, at(t + 1));
            h = observe(&h, &a, &pods, at(t + 2));
            t += 2;
        }
        assert_eq!(order, [1, 3, 5, 7, 9], "rotation {rotation}");
    }
}
