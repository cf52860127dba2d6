//! One-shot observation of members given only by address: `srvr`, `mntr` and `conf`
//! (for the member's myid) in parallel, each bounded by the probe limits.
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::SystemTime;

use futures::future::join_all;

use super::error::ObserveError;
use crate::health::{MemberObservation, ProbeFailure};
use crate::zk::parse::PeerRole;
use crate::zk::{FourLetterClient, ProbeLimits, ZkError};

/// Probes every `HOST:PORT` once. Members whose `conf` names no myid get the lowest id
/// not used by another member, starting from their position (1-based).
pub async fn probe_addresses(
    addrs: &[String],
    limits: ProbeLimits,
) -> Result<Vec<MemberObservation>, ObserveError> {
    if addrs.is_empty() {
        return Err(ObserveError::NoMembers);
    }
    for addr in addrs {
        if addr
            .rsplit_once(':')
            .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
        {
            return Err(ObserveError::InvalidAddress { addr: addr.clone() });
        }
    }
    let probes = join_all(addrs.iter().map(|a| probe_one(a, limits))).await;

    let mut used: BTreeSet<u64> = probes.iter().filter_map(|p| p.myid).collect();
    let mut out = Vec::with_capacity(probes.len());
    for (i, p) in probes.into_iter().enumerate() {
        let id = p.myid.unwrap_or_else(|| {
            let mut id = i as u64 + 1;
            while used.contains(&id) {
                id += 1;
            }
            used.insert(id);
            id
        });
        let mut obs = p.observation;
        obs.id = id;
        out.push(obs);
    }
    Ok(out)
}

struct Probe {
    myid: Option<u64>,
    observation: MemberObservation,
}

async fn probe_one(addr: &str, limits: ProbeLimits) -> Probe {
    let mut obs = MemberObservation::new(0, addr, addr);
    let resolved: Option<SocketAddr> =
        tokio::time::timeout(limits.connect_timeout, tokio::net::lookup_host(addr))
            .await
            .ok()
            .and_then(Result::ok)
            .and_then(|mut it| it.next());
    let Some(sock) = resolved else {
        obs.status = Some(Err(ProbeFailure::from(ZkError::Unresolvable {
            addr: addr.to_string(),
        })));
        return Probe {
            myid: None,
            observation: obs,
        };
    };
    let client = FourLetterClient::new(sock, limits);
    let (srvr, mntr, conf) = tokio::join!(client.srvr(), client.mntr(), client.conf());
    if srvr.is_ok() {
        obs.last_seen = Some(SystemTime::now());
    }
    obs.status = Some(srvr.map_err(ProbeFailure::from));
    obs.metrics = mntr.ok();
    let conf = conf.ok();
    let myid = conf.as_ref().and_then(|c| c.server_id);
    // The member's own entry in the dynamic config says whether it votes.
    obs.observer = conf
        .as_ref()
        .zip(myid)
        .and_then(|(c, id)| c.servers.iter().find(|s| s.id == id))
        .is_some_and(|s| s.role == PeerRole::Observer);
    Probe {
        myid,
        observation: obs,
    }
}
