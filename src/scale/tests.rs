//! The scale planner against a simulated ensemble: full 3 -> 5 -> 3, 3 -> 1 -> 3 and
//! 5 -> 1 changes with every leader position, and an exhaustive sweep of member health
//! for the safety rules (one member at a time, never below quorum, leader last).
use std::collections::BTreeSet;

use super::*;
use crate::health::{EnsembleAssessment, MemberAssessment, MemberId, Role};
use crate::zk::dynamic_config::DynamicConfig;

/// A committed membership of participants `ids` (`zk-<id-1>.h`) at `version`; shared by
/// the scale module's tests.
pub(super) fn committed_config<'a>(
    ids: impl IntoIterator<Item = &'a MemberId>,
    version: u64,
) -> DynamicConfig {
    let text: String = ids
        .into_iter()
        .map(|id| {
            format!(
                "server.{id}=zk-{}.h:2888:3888:participant;0.0.0.0:2181\n",
                id - 1
            )
        })
        .collect();
    DynamicConfig::parse(&format!("{text}version={version:x}\n")).expect("config")
}

/// The world the planner reads: committed voters, StatefulSet replicas, who leads, who
/// is down, whether a joiner has synced as a learner yet.
#[derive(Debug, Clone)]
struct World {
    committed: BTreeSet<MemberId>,
    version: u64,
    replicas: u64,
    leader: MemberId,
    down: BTreeSet<MemberId>,
    joiner_synced: bool,
}

impl World {
    fn new(n: u64, leader: MemberId) -> Self {
        Self {
            committed: (1..=n).collect(),
            version: 0x1_0000_0000,
            replicas: n,
            leader,
            down: BTreeSet::new(),
            joiner_synced: true,
        }
    }

    fn config(&self) -> DynamicConfig {
        committed_config(&self.committed, self.version)
    }

    fn role(&self, id: MemberId) -> Role {
        if self.down.contains(&id) || id > self.replicas {
            Role::Down
        } else if id == self.leader && self.committed.contains(&id) {
            Role::Leader
        } else if self.committed.contains(&id) || self.joiner_synced {
            Role::Follower
        } else {
            Role::Looking
        }
    }

    fn assessment(&self) -> EnsembleAssessment {
        let top = self
            .replicas
            .max(self.committed.last().copied().unwrap_or(0));
        let members: Vec<MemberAssessment> = (1..=top)
            .map(|id| {
                let role = self.role(id);
                MemberAssessment {
                    id,
                    name: format!("zk-{}", id - 1),
                    address: format!("10.0.0.{id}:2181"),
                    role,
                    voter: self.committed.contains(&id),
                    serving: matches!(role, Role::Leader | Role::Follower),
                    zxid: Some(1),
                    epoch: Some(1),
                    lag: Some(0),
                    reason: None,
                    restarts: None,
                    outstanding_requests: None,
                    avg_latency_ms: None,
                    zk_metrics: Vec::new(),
                }
            })
            .collect();
        let serving_voters = self.serving_voters();
        let voters = self.committed.len();
        let majority = voters / 2 + 1;
        let leads = self.role(self.leader) == Role::Leader;
        EnsembleAssessment {
            members,
            leader: leads.then_some(self.leader),
            epoch: Some(1),
            voters,
            serving_voters,
            majority,
            quorum: leads && serving_voters >= majority,
            election_in_progress: false,
            split_brain: Vec::new(),
            lagging: Vec::new(),
            overloaded: Vec::new(),
            faults: Vec::new(),
        }
    }

    fn serving_voters(&self) -> usize {
        self.committed
            .iter()
            .filter(|id| matches!(self.role(**id), Role::Leader | Role::Follower))
            .count()
    }

    fn plan(&self, desired: u64) -> ScalePlan {
        let config = self.config();
        let assessment = self.assessment();
        plan(&ScaleObservation {
            desired,
            statefulset_replicas: Some(self.replicas),
            committed: Some(&config),
            assessment: Some(&assessment),
        })
    }

    /// What the controller and ZooKeeper make of a plan.
    fn apply(&mut self, plan: &ScalePlan) {
        self.replicas = plan.replicas;
        match plan.step {
            Some(ScaleStep::AddMember { member, version }) => {
                assert_eq!(version, self.version, "reconfig against the committed id");
                self.committed.insert(member);
                self.version += 1;
            }
            Some(ScaleStep::RemoveMember {
                member, version, ..
            }) => {
                assert_eq!(version, self.version);
                self.committed.remove(&member);
                self.version += 1;
                if member == self.leader {
                    self.leader = *self.committed.first().expect("someone stays");
                }
            }
            _ => {}
        }
    }
}

/// Drives the world to `desired`, checking every safety rule at every step; returns the
/// steps taken.
fn drive(world: &mut World, desired: u64) -> Vec<ScaleStep> {
    let mut steps = Vec::new();
    for _ in 0..100 {
        let before = world.clone();
        let plan = world.plan(desired);
        assert_eq!(plan.blocked, None, "healthy world blocked: {world:?}");
        let Some(step) = plan.step.clone() else {
            assert_eq!(world.replicas, desired);
            assert_eq!(world.committed, (1..=desired).collect());
            assert_eq!(plan.members, (1..=desired).collect::<Vec<_>>());
            return steps;
        };
        // One member at a time: the replicas move by at most one, and at most one pod is
        // not a voter (the joiner, or the member just removed).
        assert!(plan.replicas.abs_diff(before.replicas) <= 1, "{plan:?}");
        world.apply(&plan);
        // At most one joiner: a pod wanted as a voter that is not one yet.
        let joiners = (1..=world.replicas.min(desired))
            .filter(|id| !world.committed.contains(id))
            .count();
        assert!(joiners <= 1, "{world:?}");
        assert!(
            before
                .committed
                .symmetric_difference(&world.committed)
                .count()
                <= 1,
            "two membership changes at once: {before:?} -> {world:?}"
        );
        // Never below quorum: the serving voters stay a majority of the committed config.
        assert!(
            world.serving_voters() > world.committed.len() / 2,
            "below quorum: {world:?}"
        );
        // No voter without a pod.
        assert!(
            world.committed.iter().all(|id| *id <= world.replicas),
            "{world:?}"
        );
        match &step {
            ScaleStep::RemoveMember {
                member,
                via,
                leader,
                ..
            } => {
                assert!(*via <= desired && via != member, "sent to one that stays");
                assert!(before.committed.contains(via));
                assert_eq!(*leader, *member == before.leader);
                if *leader {
                    let others = before
                        .committed
                        .iter()
                        .filter(|id| **id > desired && **id != before.leader)
                        .count();
                    assert_eq!(others, 0, "the leader goes last: {before:?}");
                }
            }
            ScaleStep::AddPod { member } => {
                assert_eq!(*member, before.replicas + 1);
                assert!(
                    plan.members.contains(member),
                    "the joiner seeds with itself"
                );
                assert!(before.committed.iter().all(|id| plan.members.contains(id)));
            }
            ScaleStep::RemovePod { member } => {
                assert_eq!(*member, before.replicas);
                assert!(
                    !before.committed.contains(member),
                    "only a non-voter's pod goes"
                );
            }
            ScaleStep::AddMember { member, .. } => {
                assert_eq!(
                    before.role(*member),
                    Role::Follower,
                    "synced before the add"
                );
            }
            ScaleStep::AwaitJoiner { .. } => {}
        }
        steps.push(step);
    }
    panic!("no convergence: {world:?}");
}

#[test]
fn grows_three_to_five_one_member_at_a_time() {
    let mut world = World::new(3, 2);
    let steps = drive(&mut world, 5);
    assert_eq!(
        steps,
        [
            ScaleStep::AddPod { member: 4 },
            ScaleStep::AddMember {
                member: 4,
                version: 0x1_0000_0000
            },
            ScaleStep::AddPod { member: 5 },
            ScaleStep::AddMember {
                member: 5,
                version: 0x1_0000_0001
            },
        ]
    );
}

#[test]
fn shrinks_five_to_three_followers_first_leader_last() {
    let mut world = World::new(5, 5);
    let steps = drive(&mut world, 3);
    let expected = [
        ScaleStep::RemoveMember {
            member: 4,
            version: 0x1_0000_0000,
            via: 1,
            leader: false,
        },
        ScaleStep::RemoveMember {
            member: 5,
            version: 0x1_0000_0001,
            via: 1,
            leader: true,
        },
        ScaleStep::RemovePod { member: 5 },
        ScaleStep::RemovePod { member: 4 },
    ];
    assert_eq!(steps, expected);
}

#[test]
fn every_change_between_one_and_five_with_every_leader_converges_safely() {
    for from in 1..=5 {
        for to in 1..=5 {
            for leader in 1..=from {
                let mut world = World::new(from, leader);
                let steps = drive(&mut world, to);
                let adds = steps
                    .iter()
                    .filter(|s| matches!(s, ScaleStep::AddMember { .. }))
                    .count() as u64;
                let removes = steps
                    .iter()
                    .filter(|s| matches!(s, ScaleStep::RemoveMember { .. }))
                    .count() as u64;
                assert_eq!(adds, to.saturating_sub(from), "{from}->{to}");
                assert_eq!(removes, from.saturating_sub(to), "{from}->{to}");
                // And back again.
                drive(&mut world, from);
            }
        }
    }
}

#[test]
fn a_joiner_that_has_not_synced_is_awaited_not_added() {
    let mut world = World::new(3, 1);
    world.joiner_synced = false;
    let plan = world.plan(4);
    assert_eq!(plan.step, Some(ScaleStep::AddPod { member: 4 }));
    world.apply(&plan);
    let plan = world.plan(4);
    assert_eq!(plan.step, Some(ScaleStep::AwaitJoiner { member: 4 }));
    assert_eq!(plan.replicas, 4, "the joiner's pod stays");
    assert_eq!(plan.members, [1, 2, 3, 4]);
    world.joiner_synced = true;
    assert!(matches!(
        world.plan(4).step,
        Some(ScaleStep::AddMember { member: 4, .. })
    ));
}

#[test]
fn nothing_starts_without_a_healthy_quorum_and_it_resumes_when_healthy() {
    let mut world = World::new(3, 1);
    world.down.insert(3);
    let plan = world.plan(5);
    assert_eq!(plan.step, None);
    assert_eq!(plan.replicas, 3, "replicas held, not spec.replicas");
    assert_eq!(plan.blocked, Some(ScaleBlock::NotServing(vec![3])));
    assert_eq!(
        plan.blocked.as_ref().map(ScaleBlock::reason),
        Some("ScalingWaitsForHealthyMembers")
    );
    let shrink = world.plan(1);
    assert_eq!(shrink.step, None);
    assert_eq!(shrink.replicas, 3);

    world.down.extend([2]);
    assert_eq!(world.plan(5).blocked, Some(ScaleBlock::NoQuorum));

    world.down.clear();
    assert_eq!(world.plan(5).step, Some(ScaleStep::AddPod { member: 4 }));
}

#[test]
fn without_the_committed_config_the_statefulset_is_held() {
    let assessment = World::new(3, 1).assessment();
    let plan = plan(&ScaleObservation {
        desired: 5,
        statefulset_replicas: Some(3),
        committed: None,
        assessment: Some(&assessment),
    });
    assert_eq!(plan.replicas, 3);
    assert_eq!(plan.members, [1, 2, 3]);
    assert_eq!(plan.step, None);
    assert_eq!(plan.blocked, Some(ScaleBlock::ConfigUnknown));
    // Settled: nothing to say.
    let settled = super::plan(&ScaleObservation {
        desired: 3,
        statefulset_replicas: Some(3),
        committed: None,
        assessment: None,
    });
    assert_eq!((settled.replicas, settled.blocked), (3, None));
}

#[test]
fn a_new_ensemble_forms_at_its_full_size() {
    let plan = plan(&ScaleObservation {
        desired: 5,
        statefulset_replicas: None,
        committed: None,
        assessment: None,
    });
    assert_eq!(plan.replicas, 5);
    assert_eq!(plan.members, [1, 2, 3, 4, 5]);
    assert_eq!((plan.step, plan.blocked), (None, None));
}

#[test]
fn a_joiner_no_longer_wanted_loses_its_pod_whatever_the_health() {
    let mut world = World::new(3, 1);
    world.apply(&world.plan(4)); // pod 4 starts
    world.down.insert(2);
    let plan = world.plan(3);
    assert_eq!(plan.step, Some(ScaleStep::RemovePod { member: 4 }));
    assert_eq!(plan.replicas, 3);
}

#[test]
fn exhaustive_health_sweep_changes_membership_only_when_every_voter_serves() {
    for n in 1..=5u64 {
        for desired in 1..=5u64 {
            for leader in 1..=n {
                for down_mask in 0u32..(1 << n) {
                    let mut world = World::new(n, leader);
                    world.down = (1..=n)
                        .filter(|id| down_mask & (1 << (id - 1)) != 0)
                        .collect();
                    let plan = world.plan(desired);
                    let changes = matches!(
                        plan.step,
                        Some(
                            ScaleStep::AddPod { .. }
                                | ScaleStep::AddMember { .. }
                                | ScaleStep::RemoveMember { .. }
                        )
                    );
                    if changes {
                        assert!(world.down.is_empty(), "{world:?} -> {plan:?}");
                    }
                    if desired != n && !world.down.is_empty() {
                        assert_eq!(plan.step, None, "{world:?}");
                        assert!(plan.blocked.is_some(), "{world:?}");
                        assert_eq!(plan.replicas, n);
                    }
                }
            }
        }
    }
}

#[test]
fn only_a_joiner_whose_pod_starts_is_down_on_purpose() {
    assert_eq!(ScaleStep::AddPod { member: 4 }.starting(), Some(4));
    assert_eq!(ScaleStep::AwaitJoiner { member: 4 }.starting(), Some(4));
    assert_eq!(
        ScaleStep::AddMember {
            member: 4,
            version: 1
        }
        .starting(),
        None
    );
    let removal = ScaleStep::RemoveMember {
        member: 5,
        version: 1,
        via: 1,
        leader: false,
    };
    assert_eq!(removal.starting(), None);
    assert_eq!(ScaleStep::RemovePod { member: 5 }.starting(), None);
}

#[test]
fn a_removal_held_for_an_unconfirmed_write_keeps_the_pod_and_says_why() {
    let plan = ScalePlan {
        replicas: 4,
        members: vec![1, 2, 3, 4],
        step: Some(ScaleStep::RemovePod { member: 5 }),
        blocked: None,
    };
    let held = plan.clone().hold_removal("timed out".into());
    assert_eq!(held.replicas, 5, "the pod of member 5 stays");
    assert_eq!(held.step, None);
    let block = held.blocked.expect("blocked");
    assert_eq!(block.reason(), "ScalingWaitsForWrite");
    assert!(
        block.describe().contains("(timed out)"),
        "{}",
        block.describe()
    );
    assert!(block.describe().contains("member 5 stays"));
    // Only a pod removal is held.
    let adding = ScalePlan {
        step: Some(ScaleStep::AddPod { member: 4 }),
        ..plan
    };
    assert_eq!(adding.clone().hold_removal("x".into()), adding);
}
