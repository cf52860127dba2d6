//! Which `mntr` values are member metrics, and the names they are exported under.
//!
//! The names are those of ZooKeeper's own `PrometheusMetricsProvider`, so one dashboard
//! or alert rule works whichever of the two is scraped. In 3.6+ `mntr` prints the same
//! registry the provider exports (`ZooKeeperServer.registerMetrics`: `registerGauge(
//! "avg_latency", ...)` and so on), so a gauge's mntr key is its Prometheus name. A summary
//! is printed by the default provider as `cnt_<name>`/`sum_<name>` and exported by the
//! Prometheus provider as `<name>_count`/`<name>_sum`: both spellings are read.
//! The list is fixed (not "every number in mntr"): it bounds the series per member.

/// One exported member metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberMetric {
    /// The Prometheus name (ZooKeeper's provider's).
    pub name: &'static str,
    /// The key the default metrics provider prints in `mntr` (without `zk_`).
    pub mntr_key: &'static str,
    pub help: &'static str,
}

const fn same(name: &'static str, help: &'static str) -> MemberMetric {
    MemberMetric {
        name,
        mntr_key: name,
        help,
    }
}

const fn summary_part(
    name: &'static str,
    mntr_key: &'static str,
    help: &'static str,
) -> MemberMetric {
    MemberMetric {
        name,
        mntr_key,
        help,
    }
}

/// Every member metric the operator exports: at most this many series per member.
pub const MEMBER_METRICS: &[MemberMetric] = &[
    same(
        "avg_latency",
        "Average request latency since the last reset (ms)",
    ),
    same(
        "max_latency",
        "Maximum request latency since the last reset (ms)",
    ),
    same(
        "min_latency",
        "Minimum request latency since the last reset (ms)",
    ),
    same("outstanding_requests", "Requests queued in the server"),
    same("packets_received", "Packets received from clients"),
    same("packets_sent", "Packets sent to clients"),
    same("num_alive_connections", "Open client connections"),
    same("global_sessions", "Global sessions"),
    same("local_sessions", "Local sessions"),
    same("znode_count", "Znodes in the data tree"),
    same("watch_count", "Watches set by clients"),
    same("ephemerals_count", "Ephemeral znodes"),
    same(
        "approximate_data_size",
        "Approximate size of the data tree (bytes)",
    ),
    same(
        "open_file_descriptor_count",
        "Open file descriptors of the server process",
    ),
    same(
        "max_file_descriptor_count",
        "File descriptor limit of the server process",
    ),
    same(
        "connection_drop_probability",
        "Probability of dropping a new connection (throttling)",
    ),
    same("outstanding_tls_handshake", "TLS handshakes in progress"),
    same("auth_failed_count", "Failed authentications"),
    same("uptime", "Time since the server started serving (ms)"),
    same("quorum_size", "Voting members in the configuration"),
    // Leader only.
    same("learners", "Connected learners (followers and observers)"),
    same(
        "synced_followers",
        "Voting followers in sync with the leader",
    ),
    same(
        "synced_non_voting_followers",
        "Non-voting followers in sync with the leader",
    ),
    same("synced_observers", "Observers in sync with the leader"),
    same(
        "pending_syncs",
        "Learners waiting for a sync from the leader",
    ),
    // Summaries: count and sum, so `rate(sum) / rate(count)` is the mean.
    summary_part("fsynctime_count", "cnt_fsynctime", "Transaction log fsyncs"),
    summary_part(
        "fsynctime_sum",
        "sum_fsynctime",
        "Time spent in transaction log fsyncs (ms)",
    ),
    summary_part(
        "election_time_count",
        "cnt_election_time",
        "Leader elections this server took part in",
    ),
    summary_part(
        "election_time_sum",
        "sum_election_time",
        "Time spent in leader elections (ms)",
    ),
    // 3.5 printed it; 3.6+ has the fsynctime summary instead.
    same(
        "fsync_threshold_exceed_count",
        "Fsyncs slower than fsync.warningthresholdms",
    ),
];

/// The member metric a `mntr` key (without `zk_`) carries, in either spelling.
pub fn member_metric(key: &str) -> Option<&'static MemberMetric> {
    MEMBER_METRICS
        .iter()
        .find(|m| m.mntr_key == key || m.name == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_and_keys_are_unique_and_valid_prometheus_names() {
        let names: BTreeSet<&str> = MEMBER_METRICS.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), MEMBER_METRICS.len());
        for m in MEMBER_METRICS {
            assert!(
                m.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                m.name
            );
            assert_eq!(member_metric(m.mntr_key), Some(m));
            assert_eq!(member_metric(m.name), Some(m));
        }
        assert_eq!(member_metric("jvm_threads_current"), None);
    }

    // Real replies: `mntr` of standalone servers started from Debian's 3.8.0 and sid's
    // 3.9.6 jars (default metrics provider), unedited.
    const STANDALONE_38: &str =
        include_str!("../../../tests/fixtures/mntr/mntr-3.8.0-standalone.txt");
    const STANDALONE_39: &str =
        include_str!("../../../tests/fixtures/mntr/mntr-3.9.6-standalone.txt");

    fn exported(raw: &str) -> std::collections::BTreeMap<&'static str, f64> {
        crate::zk::parse::parse_mntr(raw)
            .expect("a real reply parses")
            .member_metrics
            .into_iter()
            .collect()
    }

    #[test]
    fn real_38_and_39_replies_map_to_zookeepers_names() {
        for (version, raw) in [("3.8.0", STANDALONE_38), ("3.9.6", STANDALONE_39)] {
            let got = exported(raw);
            // What every serving member prints, whatever its role.
            for name in [
                "avg_latency",
                "max_latency",
                "min_latency",
                "outstanding_requests",
                "packets_received",
                "packets_sent",
                "num_alive_connections",
                "znode_count",
                "watch_count",
                "ephemerals_count",
                "approximate_data_size",
                "open_file_descriptor_count",
                "max_file_descriptor_count",
                "uptime",
                "global_sessions",
                "fsynctime_count",
                "fsynctime_sum",
            ] {
                assert!(
                    got.contains_key(name),
                    "{version}: {name} missing from {got:?}"
                );
            }
            // Leader-only values are not invented for a standalone server.
            assert!(!got.contains_key("synced_followers"), "{version}: {got:?}");
            assert!(!got.contains_key("pending_syncs"), "{version}: {got:?}");
            // README: "a 3.8/3.9 standalone server exports 23", of at most 30.
            assert_eq!(got.len(), 23, "{version}: {got:?}");
            assert_eq!(MEMBER_METRICS.len(), 30);
        }
        // Values as printed in the fixture.
        let got = exported(STANDALONE_39);
        assert_eq!(got.get("znode_count"), Some(&5.0));
        assert_eq!(got.get("open_file_descriptor_count"), Some(&56.0));
        assert_eq!(got.get("max_file_descriptor_count"), Some(&20000.0));
    }

    #[test]
    fn a_leader_exports_its_sync_state() {
        let raw = "zk_version\t3.8.6-1, built on 2025-01-01 00:00 UTC\nzk_server_state\tleader\nzk_synced_followers\t2\nzk_pending_syncs\t1\nzk_learners\t3\nzk_quorum_size\t3\nzk_cnt_election_time\t4\nzk_sum_election_time\t900\nzk_avg_election_time\t225.0\n";
        let got = exported(raw);
        assert_eq!(got.get("synced_followers"), Some(&2.0));
        assert_eq!(got.get("pending_syncs"), Some(&1.0));
        assert_eq!(got.get("learners"), Some(&3.0));
        assert_eq!(got.get("election_time_count"), Some(&4.0));
        assert_eq!(got.get("election_time_sum"), Some(&900.0));
        assert!(!got.contains_key("avg_election_time"), "{got:?}");
    }

    #[test]
    fn the_prometheus_providers_spelling_maps_to_the_same_names() {
        // With PrometheusMetricsProvider, mntr prints doubles and `<summary>_count`.
        let raw = "zk_version\t3.9.4-1, built on 2025-01-01 00:00 UTC\nzk_server_state\tfollower\nzk_znode_count\t12.0\nzk_fsynctime_count\t7.0\nzk_fsynctime_sum\t21.0\nzk_fsynctime{quantile=\"0.5\"}\t3.0\nzk_outstanding_requests\tNaN\n";
        let got = exported(raw);
        assert_eq!(got.get("znode_count"), Some(&12.0));
        assert_eq!(got.get("fsynctime_count"), Some(&7.0));
        assert_eq!(got.get("fsynctime_sum"), Some(&21.0));
        // A value that is not a finite number is left out, not exported as NaN.
        assert!(!got.contains_key("outstanding_requests"), "{got:?}");
    }
}
