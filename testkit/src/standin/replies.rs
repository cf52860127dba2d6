//! Four-letter-word replies as ZooKeeper 3.9 writes them (field names, order, tabs), from a
//! [`MemberView`]. Pure.

use super::ensemble::{MemberView, Role};

pub const VERSION: &str = "3.9.2-standin, built on 2024-02-12 22:16 UTC";
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";
pub const TICK_MS: i32 = 2000;

/// Per-member traffic counters shown by `srvr`/`mntr`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub received: u64,
    pub sent: u64,
    pub connections: u64,
    pub uptime_ms: u128,
}

/// Whether four bytes are a four-letter word rather than a jute length prefix.
pub fn is_word(head: &[u8; 4]) -> bool {
    head.iter().all(u8::is_ascii_lowercase)
}

/// The reply to `word`; `None` for words ZooKeeper would not answer with text.
pub fn render(word: &str, v: &MemberView, c: Counters, client_port: u16) -> String {
    let serving = v.role != Role::NotServing;
    match word {
        "ruok" => "imok".into(),
        "isro" if serving => "rw".into(),
        "isro" => "null".into(),
        "srvr" | "stat" | "mntr" | "conf" if !serving => NOT_SERVING.into(),
        "srvr" => srvr(v, c, None),
        "stat" => srvr(
            v,
            c,
            Some(" /127.0.0.1:40000[0](queued=0,recved=1,sent=0)\n"),
        ),
        "mntr" => mntr(v, c),
        "conf" => conf(v, client_port),
        other => format!("{other} is not executed because it is not in the whitelist.\n"),
    }
}

fn mode(v: &MemberView) -> &'static str {
    match v.role {
        Role::Leader => "leader",
        Role::Follower => "follower",
        Role::NotServing => "standalone",
    }
}

fn srvr(v: &MemberView, c: Counters, clients: Option<&str>) -> String {
    let mut s = format!("Zookeeper version: {VERSION}\n");
    if let Some(clients) = clients {
        s.push_str("Clients:\n");
        s.push_str(clients);
        s.push('\n');
    }
    s.push_str(&format!(
        "Latency min/avg/max: 0/0.1/3\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: 0\nZxid: 0x{:x}\nMode: {}\nNode count: 5\n",
        c.received,
        c.sent,
        c.connections,
        v.zxid,
        mode(v)
    ));
    if v.role == Role::Leader {
        s.push_str("Proposal sizes last/min/max: -1/-1/-1\n");
    }
    s
}

/// `mntr`: the keys the operator reads, then filler metrics so the reply is as large as a
/// real 3.9 one (~20 KiB: hundreds of summary and counter lines), since parsing it is part
/// of what watching a member costs.
fn mntr(v: &MemberView, c: Counters) -> String {
    let peer_state = match v.role {
        Role::Leader => "leading - broadcast",
        _ => "following - broadcast",
    };
    let mut s = format!(
        "zk_version\t{VERSION}\nzk_server_state\t{}\nzk_peer_state\t{peer_state}\nzk_avg_latency\t0.1\nzk_max_latency\t3\nzk_min_latency\t0\nzk_packets_received\t{}\nzk_packets_sent\t{}\nzk_num_alive_connections\t{}\nzk_outstanding_requests\t0\nzk_znode_count\t5\nzk_watch_count\t0\nzk_ephemerals_count\t0\nzk_approximate_data_size\t44\nzk_open_file_descriptor_count\t{}\nzk_max_file_descriptor_count\t1048576\nzk_uptime\t{}\nzk_quorum_size\t{}\n",
        mode(v),
        c.received,
        c.sent,
        c.connections,
        60 + c.connections,
        c.uptime_ms,
        v.voters,
    );
    if v.role == Role::Leader {
        let learners = v.voters.saturating_sub(1);
        s.push_str(&format!(
            "zk_learners\t{learners}\nzk_synced_followers\t{}\nzk_synced_non_voting_followers\t0\nzk_synced_observers\t0\nzk_pending_syncs\t0\nzk_last_proposal_size\t-1\nzk_max_proposal_size\t-1\nzk_min_proposal_size\t-1\n",
            v.synced_followers
        ));
    }
    for i in 0..100 {
        for q in ["cnt", "sum", "avg", "min", "max", "p50", "p95"] {
            s.push_str(&format!("zk_{q}_standin_metric_{i}\t0\n"));
        }
    }
    s
}

fn conf(v: &MemberView, client_port: u16) -> String {
    let mut s = format!(
        "clientPort={client_port}\nsecureClientPort=-1\ndataDir=/data/version-2\ndataDirSize=67108880\ndataLogDir=/data/version-2\ndataLogSize=67108880\ntickTime={TICK_MS}\nmaxClientCnxns=60\nminSessionTimeout={}\nmaxSessionTimeout={}\nclientPortListenBacklog=-1\nserverId={}\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3888\nquorumPort=2888\npeerType=0\nmembership: \n",
        2 * TICK_MS,
        20 * TICK_MS,
        v.myid
    );
    for (id, host) in &v.servers {
        s.push_str(&format!(
            "server.{id}={host}:2888:3888:participant;0.0.0.0:{client_port}\n"
        ));
    }
    s.push_str("version=100000000\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(role: Role) -> MemberView {
        MemberView {
            myid: 2,
            role,
            zxid: 0x1_0000_0003,
            voters: 3,
            synced_followers: 2,
            servers: vec![(1, "a".into()), (2, "b".into())],
        }
    }

    #[test]
    fn words_and_lengths_are_told_apart() {
        assert!(is_word(b"srvr"));
        assert!(!is_word(&45i32.to_be_bytes()));
    }

    #[test]
    fn not_serving_says_so_except_for_ruok() {
        let v = view(Role::NotServing);
        assert_eq!(render("srvr", &v, Counters::default(), 2181), NOT_SERVING);
        assert_eq!(render("ruok", &v, Counters::default(), 2181), "imok");
    }

    #[test]
    fn mntr_is_as_large_as_a_real_one() {
        let m = render("mntr", &view(Role::Leader), Counters::default(), 2181);
        assert!(m.len() > 12_000, "{}", m.len());
        assert!(m.contains("zk_synced_followers\t2\n"));
    }
}
