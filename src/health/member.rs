//! One member on its own: observation -> role, serving, zxid, reason.
use super::assessment::{MemberAssessment, Role};
use super::observation::MemberObservation;
use crate::zk::{ServerMode, ZkErrorKind};

pub(super) fn classify(obs: &MemberObservation) -> MemberAssessment {
    let mut m = MemberAssessment {
        id: obs.id,
        name: obs.name.clone(),
        address: obs.address.clone(),
        role: Role::Down,
        voter: !obs.observer,
        serving: false,
        zxid: None,
        epoch: None,
        lag: None,
        reason: None,
        restarts: obs.pod.as_ref().map(|p| p.restart_count),
        outstanding_requests: obs
            .metrics
            .as_ref()
            .and_then(|m| m.outstanding_requests)
            .or_else(|| {
                obs.status
                    .as_ref()
                    .and_then(|s| s.as_ref().ok())
                    .and_then(|s| s.outstanding)
            }),
        avg_latency_ms: obs.metrics.as_ref().and_then(|m| m.avg_latency_ms),
        zk_metrics: obs
            .metrics
            .as_ref()
            .map(|m| m.member_metrics.clone())
            .unwrap_or_default(),
    };
    match &obs.status {
        None => m.reason = Some("not probed yet".into()),
        Some(Err(failure)) if failure.kind == ZkErrorKind::NotServing => {
            m.role = Role::Looking;
            m.reason = Some("NotServing: electing a leader or without quorum".into());
        }
        Some(Err(failure)) => {
            m.reason = Some(format!("{}: {}", failure.kind, failure.message));
        }
        Some(Ok(srvr)) => {
            m.zxid = Some(srvr.zxid);
            m.epoch = Some(srvr.epoch());
            (m.role, m.serving) = match &srvr.mode {
                ServerMode::Leader => (Role::Leader, true),
                ServerMode::Follower => (Role::Follower, true),
                ServerMode::Observer => (Role::Observer, true),
                ServerMode::Standalone => (Role::Standalone, true),
                ServerMode::ReadOnly => {
                    m.reason = Some("ReadOnly: partitioned from the quorum".into());
                    (Role::Looking, false)
                }
                ServerMode::Other(mode) => {
                    m.reason = Some(format!("UnknownMode: {mode}"));
                    (Role::Looking, false)
                }
            };
        }
    }
    if m.role == Role::Observer {
        m.voter = false;
    }
    // The pod often explains an outage better than a refused connection does.
    if !m.serving
        && let Some(problem) = obs.pod.as_ref().and_then(|p| p.problem())
    {
        m.reason = Some(match m.reason.take() {
            Some(r) => format!("{r}; {problem}"),
            None => problem,
        });
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::observation::{ContainerState, PodView, ProbeFailure};
    use crate::health::tests::srvr;

    #[test]
    fn follower_is_serving_voter() {
        let obs = MemberObservation::new(2, "zk-1", "10.0.0.2:2181")
            .with_status(Ok(srvr(ServerMode::Follower, 0x3_0000_0007)));
        let m = classify(&obs);
        assert_eq!((m.role, m.serving, m.voter), (Role::Follower, true, true));
        assert_eq!((m.zxid, m.epoch), (Some(0x3_0000_0007), Some(3)));
        assert_eq!(m.reason, None);
    }

    #[test]
    fn observer_mode_is_not_a_voter_even_if_configured_as_one() {
        let obs =
            MemberObservation::new(4, "zk-3", "a:1").with_status(Ok(srvr(ServerMode::Observer, 1)));
        let m = classify(&obs);
        assert_eq!((m.role, m.voter, m.serving), (Role::Observer, false, true));
    }

    #[test]
    fn not_serving_is_looking_and_refused_is_down() {
        let looking = MemberObservation::new(1, "a", "a:1").with_status(Err(ProbeFailure {
            kind: ZkErrorKind::NotServing,
            message: "member is not serving requests".into(),
        }));
        assert_eq!(classify(&looking).role, Role::Looking);
        let down = MemberObservation::new(1, "a", "a:1").with_status(Err(ProbeFailure {
            kind: ZkErrorKind::ConnectRefused,
            message: "connection refused by a:1".into(),
        }));
        let m = classify(&down);
        assert_eq!(m.role, Role::Down);
        assert_eq!(
            m.reason.as_deref(),
            Some("ConnectRefused: connection refused by a:1")
        );
    }

    #[test]
    fn pod_problem_is_added_to_the_reason() {
        let obs = MemberObservation::new(1, "zk-0", "a:1")
            .with_status(Err(ProbeFailure {
                kind: ZkErrorKind::ConnectRefused,
                message: "connection refused by a:1".into(),
            }))
            .with_pod(PodView {
                name: "zk-0".into(),
                phase: "Running".into(),
                ready: false,
                container: ContainerState::Waiting {
                    reason: "CrashLoopBackOff".into(),
                },
                restart_count: 7,
            });
        let m = classify(&obs);
        assert_eq!(m.restarts, Some(7));
        assert!(
            m.reason
                .unwrap()
                .ends_with("container waiting: CrashLoopBackOff")
        );
    }

    #[test]
    fn unprobed_and_read_only() {
        assert_eq!(
            classify(&MemberObservation::new(1, "a", "a:1")).role,
            Role::Down
        );
        let ro =
            MemberObservation::new(1, "a", "a:1").with_status(Ok(srvr(ServerMode::ReadOnly, 5)));
        let m = classify(&ro);
        assert_eq!((m.role, m.serving), (Role::Looking, false));
    }
}
