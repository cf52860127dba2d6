//! Per-member signals derived from numbers: replication lag and overload.
use super::fault::{Fault, OverloadKind};
use super::observation::{MemberId, MemberObservation};
use super::thresholds::Thresholds;
use crate::zk::parse::{zxid_counter, zxid_epoch};

/// Transactions `member_zxid` is behind `leader_zxid`.
///
/// Within one epoch it is the counter difference. A member still at an older epoch has
/// not applied any transaction of the leader's epoch, so it is at least the leader's
/// counter behind. (A new leader's zxid is `epoch << 32` before its first write, so
/// followers that have not seen a write yet are correctly 0 behind.)
pub fn zxid_lag(leader_zxid: u64, member_zxid: u64) -> u64 {
    let (le, me) = (zxid_epoch(leader_zxid), zxid_epoch(member_zxid));
    let (lc, mc) = (
        u64::from(zxid_counter(leader_zxid)),
        u64::from(zxid_counter(member_zxid)),
    );
    match me.cmp(&le) {
        std::cmp::Ordering::Equal => lc.saturating_sub(mc),
        std::cmp::Ordering::Less => lc,
        std::cmp::Ordering::Greater => 0,
    }
}

/// Overload faults for one serving member; `mntr` values win over `srvr` ones.
pub fn overload_faults(obs: &MemberObservation, t: &Thresholds) -> Vec<Fault> {
    let member: MemberId = obs.id;
    let srvr = obs.status.as_ref().and_then(|s| s.as_ref().ok());
    let mntr = obs.metrics.as_ref();
    let exceeds = |what, value: Option<u64>, limit: u64| {
        value.filter(|v| *v > limit).map(|value| Fault::Overloaded {
            member,
            what,
            value,
            limit,
        })
    };

    // Just elected (or just joined): the request numbers describe the election's
    // aftermath, not load. Unknown uptime (no mntr) judges as before.
    let fresh = mntr
        .and_then(|m| m.uptime_ms)
        .is_some_and(|up| up < t.fresh_role_grace_ms);
    let settled = |v: Option<u64>| v.filter(|_| !fresh);
    let outstanding = settled(
        mntr.and_then(|m| m.outstanding_requests)
            .or_else(|| srvr.and_then(|s| s.outstanding)),
    );
    let avg_latency = mntr
        .and_then(|m| m.avg_latency_ms)
        .or_else(|| srvr.and_then(|s| s.latency).map(|l| l.avg_ms))
        .filter(|avg| *avg > t.max_avg_latency_ms && !fresh);
    let fds = mntr.and_then(|m| {
        let (open, max) = (m.open_file_descriptor_count?, m.max_file_descriptor_count?);
        (max > 0).then(|| (open, (max as f64 * t.max_fd_ratio).floor() as u64))
    });

    [
        exceeds(
            OverloadKind::OutstandingRequests,
            outstanding,
            t.max_outstanding_requests,
        ),
        avg_latency.map(|avg| Fault::Overloaded {
            member,
            what: OverloadKind::AvgLatency,
            value: avg.ceil() as u64,
            limit: t.max_avg_latency_ms.floor() as u64,
        }),
        exceeds(
            OverloadKind::PendingSyncs,
            settled(mntr.and_then(|m| m.pending_syncs)),
            t.max_pending_syncs,
        ),
        fds.and_then(|(open, limit)| exceeds(OverloadKind::OpenFileDescriptors, Some(open), limit)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zk::{Mntr, ServerMode, Srvr, parse::Latency};

    #[test]
    fn lag_within_and_across_epochs() {
        assert_eq!(zxid_lag(0x2_0000_0010, 0x2_0000_0004), 12);
        assert_eq!(zxid_lag(0x2_0000_0010, 0x2_0000_0010), 0);
        assert_eq!(zxid_lag(0x2_0000_0000, 0x1_0000_0009), 0);
        assert_eq!(zxid_lag(0x2_0000_0005, 0x1_0000_0009), 5);
        assert_eq!(zxid_lag(0x2_0000_0005, 0x3_0000_0000), 0);
        // A member ahead within the epoch (sampled later) is not behind.
        assert_eq!(zxid_lag(0x2_0000_0005, 0x2_0000_0009), 0);
    }

    fn obs_with(mntr: Mntr, srvr_outstanding: Option<u64>) -> MemberObservation {
        MemberObservation::new(1, "a", "a:1")
            .with_status(Ok(Srvr {
                version: None,
                mode: ServerMode::Leader,
                zxid: 1,
                latency: Some(Latency {
                    min_ms: 0.0,
                    avg_ms: 250.5,
                    max_ms: 900.0,
                }),
                received: None,
                sent: None,
                connections: None,
                outstanding: srvr_outstanding,
                node_count: None,
                read_only: false,
            }))
            .with_metrics(mntr)
    }

    #[test]
    fn thresholds_are_strictly_exceeded() {
        let t = Thresholds::default();
        let at_limit = Mntr {
            outstanding_requests: Some(10),
            avg_latency_ms: Some(100.0),
            pending_syncs: Some(10),
            open_file_descriptor_count: Some(85),
            max_file_descriptor_count: Some(100),
            ..Mntr::default()
        };
        assert!(overload_faults(&obs_with(at_limit, None), &t).is_empty());
    }

    #[test]
    fn each_signal_fires() {
        let t = Thresholds::default();
        let over = Mntr {
            outstanding_requests: Some(11),
            avg_latency_ms: Some(100.2),
            pending_syncs: Some(12),
            open_file_descriptor_count: Some(900),
            max_file_descriptor_count: Some(1000),
            ..Mntr::default()
        };
        let kinds: Vec<_> = overload_faults(&obs_with(over, None), &t)
            .into_iter()
            .map(|f| match f {
                Fault::Overloaded { what, .. } => what,
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                OverloadKind::OutstandingRequests,
                OverloadKind::AvgLatency,
                OverloadKind::PendingSyncs,
                OverloadKind::OpenFileDescriptors
            ]
        );
    }

    #[test]
    fn a_freshly_elected_leader_is_not_overloaded_by_its_election() {
        let t = Thresholds::default();
        // What a new leader reports ~15 s after the election: its stats are 15 s old
        // and hold the first, slow requests of every reconnecting client.
        let after_election = |uptime_ms| Mntr {
            uptime_ms: Some(uptime_ms),
            outstanding_requests: Some(40),
            avg_latency_ms: Some(250.0),
            pending_syncs: Some(12),
            open_file_descriptor_count: Some(50),
            max_file_descriptor_count: Some(1000),
            ..Mntr::default()
        };
        let fresh = obs_with(after_election(15_000), None);
        assert_eq!(overload_faults(&fresh, &t), vec![]);
        // The same numbers from a leader past the grace are overload.
        let settled = obs_with(after_election(60_000), None);
        assert_eq!(overload_faults(&settled, &t).len(), 3);
        // Running out of file descriptors is no election artefact.
        let mut fds = after_election(15_000);
        fds.open_file_descriptor_count = Some(990);
        assert!(matches!(
            overload_faults(&obs_with(fds, None), &t)[..],
            [Fault::Overloaded {
                what: OverloadKind::OpenFileDescriptors,
                ..
            }]
        ));
    }

    #[test]
    fn srvr_values_are_the_fallback() {
        let t = Thresholds::default();
        let faults = overload_faults(&obs_with(Mntr::default(), Some(50)), &t);
        assert_eq!(
            faults,
            vec![
                Fault::Overloaded {
                    member: 1,
                    what: OverloadKind::OutstandingRequests,
                    value: 50,
                    limit: 10
                },
                Fault::Overloaded {
                    member: 1,
                    what: OverloadKind::AvgLatency,
                    value: 251,
                    limit: 100
                }
            ]
        );
    }
}
