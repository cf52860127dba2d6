//! Ensemble verdict: who leads, whether a majority serves, and the list of faults.
use super::assessment::{EnsembleAssessment, MemberAssessment, Role};
use super::fault::{Fault, FaultKey};
use super::member::classify;
use super::observation::{MemberId, MemberObservation};
use super::signals::{overload_faults, zxid_lag};
use super::thresholds::Thresholds;

/// Assesses an ensemble from the latest observation of each member. Pure and cheap
/// (linear in members), so it can run after every observation change.
pub fn assess(observations: &[MemberObservation], thresholds: &Thresholds) -> EnsembleAssessment {
    let mut obs: Vec<&MemberObservation> = observations.iter().collect();
    obs.sort_by_key(|o| o.id);
    let mut members: Vec<MemberAssessment> = obs.iter().map(|o| classify(o)).collect();

    // Several leaders only happen around a partition; the newest epoch is the real one.
    let leaders: Vec<usize> = (0..members.len())
        .filter(|&i| members[i].role == Role::Leader)
        .collect();
    let primary = leaders
        .iter()
        .copied()
        .max_by_key(|&i| (members[i].epoch, std::cmp::Reverse(members[i].id)));
    let standalone = members
        .iter()
        .any(|m| m.role == Role::Standalone && m.serving);

    // The leader knows the voting membership, including members nobody told us about.
    let leader_quorum_size = primary
        .and_then(|i| obs[i].metrics.as_ref())
        .and_then(|m| m.quorum_size)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0);
    let voters = members
        .iter()
        .filter(|m| m.voter)
        .count()
        .max(leader_quorum_size);
    let majority = voters / 2 + 1;
    let serving_voters = members
        .iter()
        .filter(|m| {
            m.voter
                && m.serving
                && matches!(m.role, Role::Leader | Role::Follower | Role::Standalone)
        })
        .count();
    let reachable_voters = members
        .iter()
        .filter(|m| m.voter && m.role != Role::Down)
        .count();
    // The leader's own count (synced followers + itself) covers voters we do not watch.
    let leader_view = primary
        .and_then(|i| obs[i].metrics.as_ref())
        .and_then(|m| m.synced_followers)
        .map_or(0, |n| n as usize + 1);
    let quorum = (primary.is_some() || standalone) && serving_voters.max(leader_view) >= majority;
    let election_in_progress = !quorum && reachable_voters >= majority;

    // A leader whose own view (synced followers + itself) is a majority; unknown counts.
    let split_brain: Vec<MemberId> = if leaders.len() > 1 {
        let claiming: Vec<MemberId> = leaders
            .iter()
            .filter(|&&i| {
                obs[i]
                    .metrics
                    .as_ref()
                    .and_then(|m| m.synced_followers)
                    .is_none_or(|n| n as usize + 1 >= majority)
            })
            .map(|&i| members[i].id)
            .collect();
        if claiming.len() > 1 {
            claiming
        } else {
            Vec::new()
        }
    } else {
        Vec::new()
    };

    let mut faults = Vec::new();
    let leader_zxid = primary.and_then(|i| members[i].zxid);
    let mut lagging = Vec::new();
    let mut overloaded = Vec::new();
    for (m, o) in members.iter_mut().zip(&obs) {
        if let (Some(lz), Some(mz), Role::Follower | Role::Observer) = (leader_zxid, m.zxid, m.role)
        {
            let lag = zxid_lag(lz, mz);
            m.lag = Some(lag);
            if lag > thresholds.max_lag_txns {
                lagging.push(m.id);
                add_reason(m, "lagging behind the leader");
                faults.push(Fault::FollowerLagging { member: m.id, lag });
            }
        }
        if m.serving {
            let over = overload_faults(o, thresholds);
            if !over.is_empty() {
                overloaded.push(m.id);
                for f in &over {
                    if let Fault::Overloaded { what, .. } = f {
                        add_reason(m, &format!("overloaded: {}", what.as_str()));
                    }
                }
                faults.extend(over);
            }
        }
        // Looking members are part of an election while there is no quorum; with a
        // working quorum a member that cannot join is as good as down.
        let down = m.role == Role::Down || (m.role == Role::Looking && quorum);
        if down {
            faults.push(Fault::MemberDown {
                member: m.id,
                reason: m.reason.clone().unwrap_or_else(|| "not serving".into()),
            });
        }
    }
    if !quorum {
        faults.push(Fault::QuorumLost);
    }
    if election_in_progress {
        faults.push(Fault::ElectionInProgress);
    }
    if !split_brain.is_empty() {
        faults.push(Fault::SplitBrainSuspected {
            leaders: split_brain.clone(),
        });
    }
    faults.sort_by_key(|f: &Fault| -> FaultKey { f.key() });

    EnsembleAssessment {
        leader: primary.map(|i| members[i].id),
        epoch: primary.and_then(|i| members[i].epoch),
        members,
        voters,
        serving_voters,
        majority,
        quorum,
        election_in_progress,
        split_brain,
        lagging,
        overloaded,
        faults,
    }
}

fn add_reason(m: &mut MemberAssessment, reason: &str) {
    m.reason = Some(match m.reason.take() {
        Some(r) => format!("{r}; {reason}"),
        None => reason.to_string(),
    });
}
