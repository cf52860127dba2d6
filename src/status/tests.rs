use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;
use crate::validate::{ValidCluster, validate};

fn valid(spec: &str) -> ValidCluster {
    validate(&crate::validate::tests::cluster(spec)).expect("valid fixture")
}

fn sts(replicas: i32, updated: i32) -> StatefulSet {
    StatefulSet {
        metadata: ObjectMeta {
            generation: Some(1),
            ..ObjectMeta::default()
        },
        status: Some(StatefulSetStatus {
            observed_generation: Some(1),
            replicas,
            updated_replicas: Some(updated),
            current_revision: Some("r1".into()),
            update_revision: Some("r1".into()),
            ..StatefulSetStatus::default()
        }),
        ..StatefulSet::default()
    }
}

fn pods(ready: &[bool]) -> Vec<Pod> {
    ready
        .iter()
        .enumerate()
        .map(|(i, ready)| Pod {
            metadata: ObjectMeta {
                name: Some(format!("zk-{i}")),
                ..ObjectMeta::default()
            },
            status: Some(PodStatus {
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if *ready { "True" } else { "False" }.into(),
                    ..PodCondition::default()
                }]),
                ..PodStatus::default()
            }),
            ..Pod::default()
        })
        .collect()
}

/// Status from the StatefulSet and pods alone (before any quorum assessment).
fn by_pods(
    previous: Option<&ZookeeperClusterStatus>,
    cluster: &ValidCluster,
    statefulset: Option<&StatefulSet>,
    pods: &[Pod],
    now: &str,
) -> ZookeeperClusterStatus {
    compute(
        previous,
        cluster,
        Observed {
            statefulset,
            pods,
            quorum: None,
            recovery: None,
            rollout: None,
            scale: None,
        },
        now,
    )
}

fn condition<'a>(status: &'a ZookeeperClusterStatus, type_: &str) -> (&'a str, &'a str) {
    let c = find(&status.conditions, type_).unwrap_or_else(|| panic!("no {type_} condition"));
    (c.status.as_str(), c.reason.as_str())
}

#[test]
fn a_new_cluster_is_creating() {
    let status = by_pods(None, &valid("{}"), None, &[], "t0");
    assert_eq!(condition(&status, AVAILABLE), ("False", reason::CREATING));
    assert_eq!(
        condition(&status, PROGRESSING),
        ("True", reason::ROLLING_OUT)
    );
    assert_eq!(
        condition(&status, DEGRADED),
        ("False", reason::ALL_MEMBERS_READY)
    );
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(
        status.connection_string.as_deref(),
        Some(
            "zk-0.zk-headless.ns.svc.cluster.local:2181,zk-1.zk-headless.ns.svc.cluster.local:2181,zk-2.zk-headless.ns.svc.cluster.local:2181"
        )
    );
}

#[test]
fn members_starting_keep_the_cluster_creating_until_a_quorum_is_ready() {
    let cluster = valid("{}");
    let starting = pods(&[true, false, false]);
    let s = sts(3, 3);
    let status = by_pods(None, &cluster, Some(&s), &starting, "t0");
    assert_eq!(condition(&status, AVAILABLE), ("False", reason::CREATING));
    assert_eq!(condition(&status, PROGRESSING), ("True", reason::CREATING));
    assert_eq!(condition(&status, DEGRADED).0, "False");
}

#[test]
fn a_ready_cluster_is_available_and_settled() {
    let cluster = valid("{}");
    let all = pods(&[true, true, true]);
    let s = sts(3, 3);
    let status = by_pods(None, &cluster, Some(&s), &all, "t0");
    assert_eq!(
        condition(&status, AVAILABLE),
        ("True", reason::QUORUM_READY)
    );
    assert_eq!(
        condition(&status, PROGRESSING),
        ("False", reason::RECONCILED)
    );
    assert_eq!(
        condition(&status, DEGRADED),
        ("False", reason::ALL_MEMBERS_READY)
    );
    assert_eq!(status.ready_replicas, 3);
    assert_eq!(
        status
            .members
            .iter()
            .map(|m| (m.myid, m.ready))
            .collect::<Vec<_>>(),
        [(1, true), (2, true), (3, true)]
    );
}

#[test]
fn losing_members_degrades_then_loses_availability() {
    let cluster = valid("{}");
    let s = sts(3, 3);
    let healthy = compute(
        None,
        &cluster,
        Observed {
            statefulset: Some(&s),
            pods: &pods(&[true, true, true]),
            quorum: None,
            recovery: None,
            rollout: None,
            scale: None,
        },
        "t0",
    );

    let one_down = compute(
        Some(&healthy),
        &cluster,
        Observed {
            statefulset: Some(&s),
            pods: &pods(&[true, false, true]),
            quorum: None,
            recovery: None,
            rollout: None,
            scale: None,
        },
        "t1",
    );
    assert_eq!(
        condition(&one_down, AVAILABLE),
        ("True", reason::QUORUM_READY)
    );
    assert_eq!(
        condition(&one_down, DEGRADED),
        ("True", reason::MEMBERS_NOT_READY)
    );
    assert!(find(&one_down.conditions, DEGRADED).is_some_and(|c| c.message.contains("zk-1")));

    let two_down = compute(
        Some(&one_down),
        &cluster,
        Observed {
            statefulset: Some(&s),
            pods: &pods(&[true, false, false]),
            quorum: None,
            recovery: None,
            rollout: None,
            scale: None,
        },
        "t2",
    );
    assert_eq!(
        condition(&two_down, AVAILABLE),
        ("False", reason::QUORUM_NOT_READY)
    );
    let available = find(&two_down.conditions, AVAILABLE).expect("available");
    assert_eq!(available.last_transition_time.as_deref(), Some("t2"));
    let degraded = find(&two_down.conditions, DEGRADED).expect("degraded");
    assert_eq!(
        degraded.last_transition_time.as_deref(),
        Some("t1"),
        "Degraded did not flip again"
    );
}

#[test]
fn recomputing_an_unchanged_cluster_changes_nothing() {
    let cluster = valid("{}");
    let s = sts(3, 3);
    let all = pods(&[true, true, true]);
    let first = by_pods(None, &cluster, Some(&s), &all, "t0");
    let again = by_pods(Some(&first), &cluster, Some(&s), &all, "t9");
    assert_eq!(first, again, "no timestamps rewritten, so no status patch");
}

#[test]
fn a_rollout_is_progressing() {
    let cluster = valid("replicas: 5");
    let mut s = sts(3, 3);
    let status = by_pods(None, &cluster, Some(&s), &pods(&[true; 3]), "t0");
    assert_eq!(
        condition(&status, PROGRESSING),
        ("True", reason::ROLLING_OUT)
    );
    s.status.as_mut().expect("status").update_revision = Some("r2".into());
    s.status.as_mut().expect("status").replicas = 5;
    let status = by_pods(None, &cluster, Some(&s), &pods(&[true; 5]), "t0");
    assert!(
        find(&status.conditions, PROGRESSING)
            .is_some_and(|c| c.status == "True" && c.message.contains("revision"))
    );
}

#[test]
fn even_replicas_are_mentioned_in_the_available_message() {
    let status = by_pods(None, &valid("replicas: 4"), None, &[], "t0");
    let available = find(&status.conditions, AVAILABLE).expect("available");
    assert!(available.message.contains("even"), "{}", available.message);
}

#[test]
fn an_invalid_spec_is_reported_and_keeps_what_was_observed() {
    let cluster = valid("{}");
    let s = sts(3, 3);
    let healthy = by_pods(None, &cluster, Some(&s), &pods(&[true; 3]), "t0");
    let mut broken = crate::validate::tests::cluster("replicas: 0");
    broken.metadata.generation = Some(2);
    let error = validate(&broken).expect_err("invalid");
    let status = invalid(Some(&healthy), Some(2), &error, "t1");
    assert_eq!(
        condition(&status, AVAILABLE),
        ("False", reason::INVALID_SPEC)
    );
    assert!(
        find(&status.conditions, AVAILABLE).is_some_and(|c| c.message.contains("spec.replicas"))
    );
    assert_eq!(status.observed_generation, Some(2));
    assert_eq!(status.members, healthy.members);
    assert_eq!(status.ready_replicas, 3);
    // The scale subresource keeps reading replicas and selector while the spec is bad.
    assert_eq!(status.selector, healthy.selector);
}

/// `status.restartedAt` records a restart request only once the StatefulSet's template
/// carries it and every member runs that template; until then the last one stays.
#[test]
fn restarted_at_is_recorded_once_every_member_runs_the_stamped_template() {
    use crate::api::RESTART_REQUESTED_AT_ANNOTATION as KEY;
    let stamped = |stamp: &str, updated: i32| {
        let mut s = sts(3, updated);
        s.spec = Some(k8s_openapi::api::apps::v1::StatefulSetSpec {
            template: k8s_openapi::api::core::v1::PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    annotations: Some([(KEY.to_string(), stamp.to_string())].into()),
                    ..ObjectMeta::default()
                }),
                spec: None,
            },
            ..Default::default()
        });
        s
    };
    let cluster = ValidCluster {
        restart_requested_at: Some("t-new".into()),
        ..valid("{}")
    };
    let previous = ZookeeperClusterStatus {
        restarted_at: Some("t-old".into()),
        ..ZookeeperClusterStatus::default()
    };
    let all = pods(&[true; 3]);
    let at = |s: &StatefulSet| by_pods(Some(&previous), &cluster, Some(s), &all, "t0").restarted_at;
    // The roll is under way: one of three members on the stamped template.
    assert_eq!(at(&stamped("t-new", 1)).as_deref(), Some("t-old"));
    // The template not (yet) stamped with the request.
    assert_eq!(at(&stamped("t-old", 3)).as_deref(), Some("t-old"));
    // Every member runs the stamped template.
    assert_eq!(at(&stamped("t-new", 3)).as_deref(), Some("t-new"));
    // No request at all: whatever was recorded stays.
    let plain = valid("{}");
    let status = by_pods(Some(&previous), &plain, Some(&sts(3, 3)), &all, "t0");
    assert_eq!(status.restarted_at.as_deref(), Some("t-old"));
}

/// Paused: `Progressing=False/Paused` whatever would progress, naming what waits; the
/// other conditions still come from what is observed.
#[test]
fn a_paused_cluster_says_so_and_what_waits() {
    let cluster = valid("paused: true");
    let all = pods(&[true; 3]);
    let settled = by_pods(None, &cluster, Some(&sts(3, 3)), &all, "t0");
    let progressing = find(&settled.conditions, PROGRESSING).expect("Progressing");
    assert_eq!(
        (progressing.status.as_str(), progressing.reason.as_str()),
        ("False", reason::PAUSED)
    );
    assert_eq!(progressing.message, PAUSED_MESSAGE);
    assert_eq!(
        condition(&settled, AVAILABLE),
        ("True", reason::QUORUM_READY),
        "health is still reported"
    );
    // A template change waiting: one of three members updated.
    let rolling = by_pods(None, &cluster, Some(&sts(3, 1)), &all, "t0");
    let progressing = find(&rolling.conditions, PROGRESSING).expect("Progressing");
    assert_eq!(progressing.reason, reason::PAUSED);
    assert!(
        progressing
            .message
            .ends_with("waiting: 1/3 members updated to the latest revision"),
        "{}",
        progressing.message
    );
}

/// The scale subresource reads `status.replicas` (what the StatefulSet runs, not the
/// spec's wish) and `status.selector`.
#[test]
fn status_carries_what_the_scale_subresource_reads() {
    let cluster = valid("replicas: 5");
    let s = sts(3, 3);
    let status = by_pods(None, &cluster, Some(&s), &pods(&[true; 3]), "t0");
    assert_eq!(status.replicas, 3, "running members, while growing to 5");
    assert_eq!(
        status.selector.as_deref(),
        Some("app.kubernetes.io/instance=zk,app.kubernetes.io/name=zookeeper")
    );
}

mod quorum_mode {
    use super::*;
    use crate::health::{EnsembleAssessment, Fault, MemberAssessment, Role};

    fn member(id: u64, role: Role, zxid: u64) -> MemberAssessment {
        let serving = matches!(role, Role::Leader | Role::Follower);
        MemberAssessment {
            id,
            name: format!("zk-{}", id - 1),
            address: format!("10.0.0.{id}:2181"),
            role,
            voter: true,
            serving,
            zxid: serving.then_some(zxid),
            epoch: serving.then_some(1),
            lag: None,
            reason: (!serving).then(|| "connection refused".to_string()),
            restarts: None,
            outstanding_requests: None,
            avg_latency_ms: None,
            zk_metrics: Vec::new(),
        }
    }

    fn assessment(roles: [Role; 3], zxid: u64) -> EnsembleAssessment {
        let members: Vec<_> = roles
            .iter()
            .enumerate()
            .map(|(i, r)| member(i as u64 + 1, *r, zxid))
            .collect();
        let serving = members.iter().filter(|m| m.serving).count();
        let leader = members
            .iter()
            .find(|m| m.role == Role::Leader)
            .map(|m| m.id);
        let faults = members
            .iter()
            .filter(|m| !m.serving)
            .map(|m| Fault::MemberDown {
                member: m.id,
                reason: "connection refused".into(),
            })
            .chain((serving < 2).then_some(Fault::QuorumLost))
            .collect();
        EnsembleAssessment {
            members,
            leader,
            epoch: leader.map(|_| 1),
            voters: 3,
            serving_voters: serving,
            majority: 2,
            quorum: serving >= 2 && leader.is_some(),
            election_in_progress: false,
            split_brain: vec![],
            lagging: vec![],
            overloaded: vec![],
            faults,
        }
    }

    fn compute_with(
        previous: Option<&ZookeeperClusterStatus>,
        q: &EnsembleAssessment,
        now: &str,
    ) -> ZookeeperClusterStatus {
        let s = sts(3, 3);
        let p = pods(&[true, true, true]);
        compute(
            previous,
            &valid("{}"),
            Observed {
                statefulset: Some(&s),
                pods: &p,
                quorum: Some(q),
                recovery: None,
                rollout: None,
                scale: None,
            },
            now,
        )
    }

    #[test]
    fn a_serving_quorum_is_available_with_leader_roles_and_quorum() {
        let status = compute_with(
            None,
            &assessment(
                [Role::Follower, Role::Leader, Role::Follower],
                0x1_0000_0005,
            ),
            "t0",
        );
        assert_eq!(
            condition(&status, AVAILABLE),
            ("True", reason::QUORUM_READY)
        );
        assert_eq!(
            condition(&status, DEGRADED),
            ("False", reason::ALL_MEMBERS_READY)
        );
        assert_eq!(status.leader.as_deref(), Some("zk-1"));
        assert_eq!(status.quorum.as_deref(), Some("3/3"));
        let roles: Vec<_> = status
            .members
            .iter()
            .map(|m| m.role.clone().unwrap_or_default())
            .collect();
        assert_eq!(roles, ["follower", "leader", "follower"]);
        assert_eq!(status.members[1].zxid.as_deref(), Some("0x100000005"));
        let available = find(&status.conditions, AVAILABLE).expect("available");
        assert!(
            available
                .message
                .contains("leader zk-1 (epoch 1); 3/3 voters serving"),
            "{}",
            available.message
        );
    }

    #[test]
    fn a_member_down_degrades_names_the_pod_and_remembers_when_it_was_last_seen() {
        let healthy = compute_with(
            None,
            &assessment([Role::Follower, Role::Leader, Role::Follower], 5),
            "t0",
        );
        let down = compute_with(
            Some(&healthy),
            &assessment([Role::Down, Role::Leader, Role::Follower], 5),
            "t1",
        );
        assert_eq!(condition(&down, AVAILABLE).0, "True");
        assert_eq!(condition(&down, DEGRADED), ("True", "MemberDown"));
        let degraded = find(&down.conditions, DEGRADED).expect("degraded");
        assert!(
            degraded.message.contains("zk-0: down (connection refused)"),
            "{}",
            degraded.message
        );
        assert_eq!(down.quorum.as_deref(), Some("2/3"));
        assert_eq!(down.members[0].serving, Some(false));
        assert_eq!(down.members[0].last_seen.as_deref(), Some("t1"));
        assert_eq!(
            down.members[0].reason.as_deref(),
            Some("connection refused")
        );
        let still = compute_with(
            Some(&down),
            &assessment([Role::Down, Role::Leader, Role::Follower], 5),
            "t2",
        );
        assert_eq!(
            still.members[0].last_seen.as_deref(),
            Some("t1"),
            "kept while it stays down"
        );
        assert_eq!(still, down, "nothing changed, nothing to patch");
    }

    #[test]
    fn losing_the_quorum_is_reported_as_such() {
        let healthy = compute_with(
            None,
            &assessment([Role::Follower, Role::Leader, Role::Follower], 5),
            "t0",
        );
        let lost = compute_with(
            Some(&healthy),
            &assessment([Role::Down, Role::Looking, Role::Down], 5),
            "t1",
        );
        assert_eq!(condition(&lost, AVAILABLE), ("False", reason::QUORUM_LOST));
        assert_eq!(condition(&lost, DEGRADED), ("True", reason::QUORUM_LOST));
        assert_eq!(lost.leader, None);
        assert_eq!(lost.quorum.as_deref(), Some("0/3"));
    }

    #[test]
    fn zxid_changes_alone_are_not_worth_a_patch() {
        let before = compute_with(
            None,
            &assessment([Role::Follower, Role::Leader, Role::Follower], 5),
            "t0",
        );
        let after = compute_with(
            Some(&before),
            &assessment([Role::Follower, Role::Leader, Role::Follower], 9),
            "t1",
        );
        assert_ne!(before, after);
        assert!(!differs_materially(Some(&before), &after));
        let down = compute_with(
            Some(&before),
            &assessment([Role::Down, Role::Leader, Role::Follower], 9),
            "t1",
        );
        assert!(differs_materially(Some(&before), &down));
        assert!(differs_materially(None, &before));
    }

    /// The leader counts its followers synced a moment before they serve: the first
    /// quorum of a new cluster with members still joining is forming, not degraded.
    #[test]
    fn a_new_ensemble_forms_until_every_member_serves() {
        let creating = compute_with(
            None,
            &assessment([Role::Down, Role::Down, Role::Down], 0),
            "2026-01-01T00:00:00Z",
        );
        assert!(first_formation(Some(&creating)));
        let first_quorum = assessment([Role::Looking, Role::Leader, Role::Follower], 5);
        let joining = compute_with(Some(&creating), &first_quorum, "2026-01-01T00:00:20Z");
        assert_eq!(condition(&joining, AVAILABLE).0, "True");
        assert_eq!(
            condition(&joining, DEGRADED),
            ("False", reason::MEMBERS_JOINING)
        );
        assert!(first_formation(Some(&joining)), "still forming");
        assert!(
            notices::notices(Some(&creating), &joining)
                .iter()
                .all(|n| !n.warning)
        );
        let all = assessment([Role::Follower, Role::Leader, Role::Follower], 5);
        let formed = compute_with(Some(&joining), &all, "2026-01-01T00:00:21Z");
        assert_eq!(
            condition(&formed, DEGRADED),
            ("False", reason::ALL_MEMBERS_READY)
        );
        assert!(!first_formation(Some(&formed)));
        // A member that never joins is a fault once the grace has run out.
        let late = compute_with(Some(&joining), &first_quorum, "2026-01-01T00:05:00Z");
        assert_eq!(condition(&late, DEGRADED).0, "True");
        assert!(!first_formation(Some(&late)));
        // Once formed, a member not serving is degraded at once.
        let down = compute_with(Some(&formed), &first_quorum, "2026-01-01T00:00:30Z");
        assert_eq!(condition(&down, DEGRADED).0, "True");
    }
}

/// With `OnDelete` the StatefulSet controller never advances `currentRevision`: once
/// every pod is updated the cluster is settled anyway.
#[test]
fn a_stale_current_revision_is_not_a_rollout() {
    let cluster = valid("{}");
    let mut s = sts(3, 3);
    if let Some(st) = s.status.as_mut() {
        st.current_revision = Some("r0".into());
    }
    let status = by_pods(None, &cluster, Some(&s), &pods(&[true, true, true]), "t0");
    assert_eq!(
        condition(&status, PROGRESSING),
        ("False", reason::RECONCILED)
    );
}

/// The roll's verdict replaces the StatefulSet's counters, and its state is persisted.
#[test]
fn a_roll_sets_progressing_and_persists_its_step() {
    use crate::rollout::{RollStep, RolloutDecision, RolloutPlan, RolloutState};
    let cluster = valid("{}");
    let s = sts(3, 2);
    let step = RollStep {
        member: 2,
        pod: "zk-1".into(),
        uid: "u".into(),
        role: "follower".into(),
        started: 5,
        position: 1,
        total: 3,
        why: "configuration changed".into(),
    };
    let state = RolloutState {
        revision: "r2".into(),
        rolled: vec!["zk-1".into()],
        step: Some(step.clone()),
    };
    let observed = |decision: RolloutDecision| RolloutPlan {
        decision,
        state: Some(state.clone()),
        completed: None,
        finished: None,
    };
    let plan = observed(RolloutDecision::Restart(step.clone()));
    let all = pods(&[true, true, true]);
    let status = compute(
        None,
        &cluster,
        Observed {
            statefulset: Some(&s),
            pods: &all,
            quorum: None,
            recovery: None,
            rollout: Some(&plan),
            scale: None,
        },
        "t0",
    );
    assert_eq!(condition(&status, PROGRESSING), ("True", "RollingRestart"));
    let message = &find(&status.conditions, PROGRESSING)
        .expect("progressing")
        .message;
    assert_eq!(
        message,
        "restarting zk-1 (follower) 1/3: configuration changed"
    );
    assert_eq!(status.rollout.as_ref(), Some(&state));
    let stalled = observed(RolloutDecision::Stalled {
        step,
        timeout: 600,
        waiting_for: "zk-1 to become Ready".into(),
    });
    let status = compute(
        Some(&status),
        &cluster,
        Observed {
            statefulset: Some(&s),
            pods: &all,
            quorum: None,
            recovery: None,
            rollout: Some(&stalled),
            scale: None,
        },
        "t1",
    );
    assert_eq!(
        condition(&status, PROGRESSING),
        ("False", "RollingRestartStalled")
    );
    let message = &find(&status.conditions, PROGRESSING)
        .expect("progressing")
        .message;
    assert!(message.contains("did not rejoin within 600s"), "{message}");
}
