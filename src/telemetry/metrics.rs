//! The operator's own Prometheus metrics.
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::zk_members::ZkMemberMetrics;
use crate::health::{EnsembleAssessment, Role};

fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MemberLabels {
    pub namespace: String,
    pub cluster: String,
    pub member: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct ClusterLabels {
    pub namespace: String,
    pub cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub reason: String,
}

/// Cheap to clone: every handle shares one registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    pub reconciles: Counter,
    pub reconcile_errors: Family<ErrorLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub status_patches: Counter,
    /// Members restarted (or reset) by automatic recovery.
    pub member_restarts: Family<ClusterLabels, Counter>,
    pub member_up: Family<MemberLabels, Gauge>,
    pub member_serving: Family<MemberLabels, Gauge>,
    pub member_leader: Family<MemberLabels, Gauge>,
    pub member_zxid_lag: Family<MemberLabels, Gauge>,
    pub member_outstanding_requests: Family<MemberLabels, Gauge>,
    pub member_avg_latency_seconds: Family<MemberLabels, Gauge<f64, AtomicU64>>,
    pub quorum_serving_voters: Family<ClusterLabels, Gauge>,
    pub quorum_voters: Family<ClusterLabels, Gauge>,
    /// ZooKeeper's own metrics per member (`mntr`), under ZooKeeper's names.
    zk_members: Arc<ZkMemberMetrics>,
    /// The members each cluster has series for, so those that leave are removed.
    published: Arc<Mutex<HashMap<ClusterLabels, BTreeSet<String>>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("zookeeper_operator");
        let reconciles = Counter::default();
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        let reconcile_duration = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        let status_patches = Counter::default();
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Reconciles failed, by reason",
            reconcile_errors.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Reconcile duration",
            reconcile_duration.clone(),
        );
        registry.register(
            "status_patches",
            "Status patches written",
            status_patches.clone(),
        );
        let member_restarts = Family::<ClusterLabels, Counter>::default();
        registry.register(
            "member_restarts",
            "Members restarted by automatic recovery",
            member_restarts.clone(),
        );
        let member_up = Family::<MemberLabels, Gauge>::default();
        let member_serving = Family::<MemberLabels, Gauge>::default();
        let member_leader = Family::<MemberLabels, Gauge>::default();
        let member_zxid_lag = Family::<MemberLabels, Gauge>::default();
        let member_outstanding_requests = Family::<MemberLabels, Gauge>::default();
        let member_avg_latency_seconds = Family::<MemberLabels, Gauge<f64, AtomicU64>>::default();
        let quorum_serving_voters = Family::<ClusterLabels, Gauge>::default();
        let quorum_voters = Family::<ClusterLabels, Gauge>::default();
        registry.register("member_up", "1 when the member answers", member_up.clone());
        registry.register(
            "member_serving",
            "1 when the member serves clients",
            member_serving.clone(),
        );
        registry.register(
            "member_leader",
            "1 when the member leads",
            member_leader.clone(),
        );
        registry.register(
            "member_zxid_lag",
            "Transactions behind the leader (at the last health change)",
            member_zxid_lag.clone(),
        );
        registry.register(
            "member_outstanding_requests",
            "Requests queued in the member",
            member_outstanding_requests.clone(),
        );
        registry.register(
            "member_avg_latency_seconds",
            "Average request latency of the member",
            member_avg_latency_seconds.clone(),
        );
        registry.register(
            "quorum_serving_voters",
            "Voters serving clients",
            quorum_serving_voters.clone(),
        );
        registry.register("quorum_voters", "Voting members", quorum_voters.clone());
        Self {
            registry: Arc::new(registry),
            reconciles,
            reconcile_errors,
            reconcile_duration,
            status_patches,
            member_restarts,
            member_up,
            member_serving,
            member_leader,
            member_zxid_lag,
            member_outstanding_requests,
            member_avg_latency_seconds,
            quorum_serving_voters,
            quorum_voters,
            zk_members: Arc::default(),
            published: Arc::default(),
        }
    }
}

impl Metrics {
    pub fn observe_reconcile(&self, took: Duration, error_reason: Option<&str>) {
        self.reconciles.inc();
        self.reconcile_duration.observe(took.as_secs_f64());
        if let Some(reason) = error_reason {
            self.reconcile_errors
                .get_or_create(&ErrorLabels {
                    reason: reason.to_string(),
                })
                .inc();
        }
    }

    /// Per-member and per-cluster gauges from an assessment: afterwards the cluster's
    /// series are exactly its members', so a member that left (scale-down, or a pod that
    /// is gone) has no series left to look alive or dead. One writer calls this (the
    /// controller's janitor), so two views never take turns on one series.
    pub fn observe_ensemble(
        &self,
        namespace: &str,
        cluster: &str,
        assessment: &EnsembleAssessment,
    ) {
        let cluster_labels = ClusterLabels {
            namespace: namespace.to_string(),
            cluster: cluster.to_string(),
        };
        let members: BTreeSet<String> = assessment.members.iter().map(|m| m.name.clone()).collect();
        let left: Vec<String> = match self.published.lock() {
            Ok(mut published) => {
                let before = published.insert(cluster_labels.clone(), members.clone());
                before
                    .unwrap_or_default()
                    .difference(&members)
                    .cloned()
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        for member in left {
            self.remove_member(&MemberLabels {
                namespace: namespace.to_string(),
                cluster: cluster.to_string(),
                member,
            });
        }
        self.quorum_serving_voters
            .get_or_create(&cluster_labels)
            .set(gauge(assessment.serving_voters as u64));
        self.quorum_voters
            .get_or_create(&cluster_labels)
            .set(gauge(assessment.voters as u64));
        for member in &assessment.members {
            let labels = MemberLabels {
                namespace: namespace.to_string(),
                cluster: cluster.to_string(),
                member: member.name.clone(),
            };
            self.member_up
                .get_or_create(&labels)
                .set(i64::from(member.role != Role::Down));
            self.member_serving
                .get_or_create(&labels)
                .set(i64::from(member.serving));
            self.member_leader
                .get_or_create(&labels)
                .set(i64::from(member.role == Role::Leader));
            self.member_zxid_lag
                .get_or_create(&labels)
                .set(gauge(member.lag.unwrap_or(0)));
            self.member_outstanding_requests
                .get_or_create(&labels)
                .set(gauge(member.outstanding_requests.unwrap_or(0)));
            self.member_avg_latency_seconds
                .get_or_create(&labels)
                .set(member.avg_latency_ms.unwrap_or(0.0) / 1000.0);
        }
    }

    /// ZooKeeper's member metrics of one cluster (`spec.metrics.members`; off removes
    /// the cluster's series). Called by the same single writer as [`Self::observe_ensemble`].
    pub fn observe_zk_members(
        &self,
        namespace: &str,
        cluster: &str,
        assessment: &EnsembleAssessment,
        enabled: bool,
    ) {
        let cluster = ClusterLabels {
            namespace: namespace.to_string(),
            cluster: cluster.to_string(),
        };
        self.zk_members
            .observe(&cluster, &assessment.members, enabled);
    }

    fn remove_member(&self, labels: &MemberLabels) {
        self.member_up.remove(labels);
        self.member_serving.remove(labels);
        self.member_leader.remove(labels);
        self.member_zxid_lag.remove(labels);
        self.member_outstanding_requests.remove(labels);
        self.member_avg_latency_seconds.remove(labels);
    }

    /// Removes the series of every cluster for which `keep(namespace, cluster)` is false
    /// (deleted clusters).
    pub fn retain_clusters(&self, keep: impl Fn(&str, &str) -> bool) {
        self.zk_members
            .retain_clusters(|c| keep(&c.namespace, &c.cluster));
        let gone: Vec<(ClusterLabels, BTreeSet<String>)> = match self.published.lock() {
            Ok(mut published) => {
                let gone: Vec<ClusterLabels> = published
                    .keys()
                    .filter(|c| !keep(&c.namespace, &c.cluster))
                    .cloned()
                    .collect();
                gone.into_iter()
                    .filter_map(|c| published.remove(&c).map(|m| (c, m)))
                    .collect()
            }
            Err(_) => Vec::new(),
        };
        for (cluster, members) in gone {
            for member in members {
                self.remove_member(&MemberLabels {
                    namespace: cluster.namespace.clone(),
                    cluster: cluster.cluster.clone(),
                    member,
                });
            }
            self.quorum_serving_voters.remove(&cluster);
            self.quorum_voters.remove(&cluster);
        }
    }

    /// Forgets every per-cluster and per-member gauge (this replica stopped leading, or
    /// the clusters are gone): stale values would look like live ones.
    pub fn clear_ensembles(&self) {
        if let Ok(mut published) = self.published.lock() {
            published.clear();
        }
        self.zk_members.clear();
        self.member_up.clear();
        self.member_serving.clear();
        self.member_leader.clear();
        self.member_zxid_lag.clear();
        self.member_outstanding_requests.clear();
        self.member_avg_latency_seconds.clear();
        self.quorum_serving_voters.clear();
        self.quorum_voters.clear();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        // Two registries (the operator's prefixed one, ZooKeeper's unprefixed names), one
        // exposition with one `# EOF`.
        let encoded = encode_registry(&mut out, &self.registry)
            .and_then(|()| encode_registry(&mut out, self.zk_members.registry()))
            .and_then(|()| encode_eof(&mut out));
        if encoded.is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;
    use crate::health::{EnsembleAssessment, MemberAssessment, Role};

    #[test]
    fn ensemble_gauges_render_per_member_and_clear() {
        let member = |id: u64, role: Role| MemberAssessment {
            id,
            name: format!("zk-{}", id - 1),
            address: String::new(),
            role,
            voter: true,
            serving: role != Role::Down,
            zxid: Some(7),
            epoch: Some(1),
            lag: Some(id),
            reason: None,
            restarts: None,
            outstanding_requests: Some(5),
            avg_latency_ms: Some(250.0),
            zk_metrics: Vec::new(),
        };
        let assessment = EnsembleAssessment {
            members: vec![member(1, Role::Leader), member(2, Role::Down)],
            leader: Some(1),
            epoch: Some(1),
            voters: 2,
            serving_voters: 1,
            majority: 2,
            quorum: false,
            election_in_progress: false,
            split_brain: vec![],
            lagging: vec![],
            overloaded: vec![],
            faults: vec![],
        };
        let metrics = Metrics::default();
        metrics.observe_ensemble("ns", "zk", &assessment);
        let text = metrics.render();
        for line in [
            r#"zookeeper_operator_member_up{namespace="ns",cluster="zk",member="zk-0"} 1"#,
            r#"zookeeper_operator_member_up{namespace="ns",cluster="zk",member="zk-1"} 0"#,
            r#"zookeeper_operator_member_leader{namespace="ns",cluster="zk",member="zk-0"} 1"#,
            r#"zookeeper_operator_member_zxid_lag{namespace="ns",cluster="zk",member="zk-1"} 2"#,
            r#"zookeeper_operator_member_outstanding_requests{namespace="ns",cluster="zk",member="zk-0"} 5"#,
            r#"zookeeper_operator_member_avg_latency_seconds{namespace="ns",cluster="zk",member="zk-0"} 0.25"#,
            r#"zookeeper_operator_quorum_serving_voters{namespace="ns",cluster="zk"} 1"#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        metrics.clear_ensembles();
        assert!(!metrics.render().contains("member=\"zk-0\""));
    }

    #[test]
    fn members_that_leave_and_deleted_clusters_lose_their_series() {
        let member = |id: u64| MemberAssessment {
            id,
            name: format!("zk-{}", id - 1),
            address: String::new(),
            role: Role::Follower,
            voter: true,
            serving: true,
            zxid: None,
            epoch: None,
            lag: None,
            reason: None,
            restarts: None,
            outstanding_requests: None,
            avg_latency_ms: None,
            zk_metrics: Vec::new(),
        };
        let of = |ids: &[u64]| EnsembleAssessment {
            members: ids.iter().map(|i| member(*i)).collect(),
            leader: None,
            epoch: None,
            voters: ids.len(),
            serving_voters: ids.len(),
            majority: ids.len() / 2 + 1,
            quorum: true,
            election_in_progress: false,
            split_brain: vec![],
            lagging: vec![],
            overloaded: vec![],
            faults: vec![],
        };
        let metrics = Metrics::default();
        metrics.observe_ensemble("ns", "zk", &of(&[1, 2, 3, 4, 5]));
        metrics.observe_ensemble("ns", "other", &of(&[1]));
        metrics.observe_ensemble("ns", "zk", &of(&[1, 2, 3]));
        let text = metrics.render();
        let series = |text: &str, cluster: &str| {
            text.lines()
                .filter(|l| l.starts_with("zookeeper_operator_member_up{"))
                .filter(|l| l.contains(&format!("cluster=\"{cluster}\"")))
                .count()
        };
        assert_eq!(series(&text, "zk"), 3, "{text}");
        assert!(!text.contains("member=\"zk-4\""), "{text}");
        metrics.retain_clusters(|_, name| name != "zk");
        let text = metrics.render();
        assert_eq!(series(&text, "zk"), 0, "{text}");
        assert!(!text.contains("quorum_voters{namespace=\"ns\",cluster=\"zk\"}"));
        assert_eq!(series(&text, "other"), 1, "{text}");
    }
}
