//! Gather's ZooKeeper reads: the committed membership, the leader's fresh `mntr`, and
//! the scale-down's write check (a probe: it proves the remaining members commit).
use std::net::SocketAddr;
use std::time::Duration;

use crate::health::{EnsembleAssessment, MemberId, Role};
use crate::zk::{DynamicConfig, ReconfigClient, ReconfigError, ReconfigOptions};

use super::super::scale::address;

const MNTR_TIMEOUT: Duration = Duration::from_secs(2);

/// The committed membership, asked of the leader (it has every committed change), else of
/// any serving member. `None` when no member answers.
pub async fn committed(
    password: &str,
    assessment: Option<&EnsembleAssessment>,
) -> Option<DynamicConfig> {
    let assessment = assessment?;
    let mut candidates: Vec<SocketAddr> = Vec::new();
    let serving = |m: &&crate::health::MemberAssessment| {
        m.serving && matches!(m.role, Role::Leader | Role::Follower)
    };
    if let Some(leader) = assessment.leader.and_then(|id| assessment.member(id)) {
        candidates.extend(leader.address.parse::<SocketAddr>().ok());
    }
    candidates.extend(
        assessment
            .members
            .iter()
            .filter(serving)
            .filter_map(|m| m.address.parse::<SocketAddr>().ok()),
    );
    for addr in candidates {
        match read_config(addr, password).await {
            Ok(config) => return Some(config),
            Err(error) => tracing::debug!(%addr, %error, "cannot read the committed membership"),
        }
    }
    None
}

async fn read_config(addr: SocketAddr, password: &str) -> Result<DynamicConfig, ReconfigError> {
    let mut client = ReconfigClient::connect(addr, password, ReconfigOptions::default()).await?;
    let config = client.get_config().await;
    // Closed rather than left to expire: this runs at every pass of a scale.
    client.close().await;
    config
}

/// Before a scale-down's pod goes, a write through the leader of the remaining members
/// must commit: the new membership is proven to take writes before the old member's
/// pod (and maybe its volume) is gone. `Err(why)` holds the removal.
pub async fn write_check(
    password: &str,
    assessment: Option<&EnsembleAssessment>,
    member: MemberId,
) -> Result<(), String> {
    let Some(addr) = address(assessment, None) else {
        return Err("no leader to write through".into());
    };
    let result = async {
        let mut client =
            ReconfigClient::connect(addr, password, ReconfigOptions::default()).await?;
        let result = client
            .write_check(&format!("member {member} left the ensemble"))
            .await;
        client.close().await;
        result
    }
    .await;
    match result {
        Ok(zxid) => {
            tracing::info!(member, zxid = %format!("{zxid:x}"), "a write committed without the removed member");
            Ok(())
        }
        Err(error) => Err(error.to_string()),
    }
}

pub fn leader_address(assessment: &EnsembleAssessment) -> Option<SocketAddr> {
    let leader = assessment.member(assessment.leader?)?;
    leader.address.parse().ok()
}

/// The leader's own count of synced followers, asked now: the watcher polls `mntr`
/// rarely, and a count from before the restart would call an absent follower synced.
pub async fn synced_followers(leader: SocketAddr) -> Option<u64> {
    let client = crate::zk::FourLetterClient::new(
        leader,
        crate::zk::ProbeLimits::with_timeout(MNTR_TIMEOUT),
    );
    match client.mntr().await {
        Ok(mntr) => mntr.synced_followers,
        Err(error) => {
            tracing::debug!(%leader, %error, "mntr of the leader");
            None
        }
    }
}
