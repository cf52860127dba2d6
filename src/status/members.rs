//! Per-member status: pod readiness plus what the member itself says (role, zxid).
use super::{Observed, is_pod_ready};
use crate::api::{MemberStatus, ZookeeperClusterStatus};
use crate::build::labels::{myid, pod_name};
use crate::validate::ValidCluster;

pub fn members(
    previous: Option<&ZookeeperClusterStatus>,
    cluster: &ValidCluster,
    observed: Observed<'_>,
    now: &str,
) -> Vec<MemberStatus> {
    (0..cluster.spec.replicas)
        .map(|ordinal| {
            let name = pod_name(&cluster.name, ordinal);
            let id = myid(ordinal);
            let ready = observed
                .pods
                .iter()
                .any(|p| p.metadata.name.as_deref() == Some(name.as_str()) && is_pod_ready(p));
            let before = previous.and_then(|p| p.members.iter().find(|m| m.myid == id));
            let seen = observed
                .quorum
                .and_then(|q| q.member(u64::try_from(id).unwrap_or_default()));
            let serving = seen.map(|m| m.serving);
            // When it stopped serving: kept while it stays down, cleared once it serves.
            let last_seen = match (serving, before.and_then(|b| b.serving)) {
                (Some(false), Some(true)) => Some(now.to_string()),
                (Some(false), _) => before.and_then(|b| b.last_seen.clone()),
                _ => None,
            };
            let (restarts, last_restart) = observed
                .recovery
                .map(|r| r.member(u64::try_from(id).unwrap_or_default()))
                .unwrap_or_else(|| {
                    before.map_or((None, None), |b| (b.restarts, b.last_restart.clone()))
                });
            MemberStatus {
                restarts,
                last_restart,
                name,
                myid: id,
                ready,
                role: seen.map(|m| m.role.as_str().to_string()),
                serving,
                zxid: seen.and_then(|m| m.zxid).map(|z| format!("0x{z:x}")),
                reason: seen.and_then(|m| m.reason.clone()),
                last_seen,
            }
        })
        .collect()
}
