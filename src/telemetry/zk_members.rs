//! ZooKeeper's own member metrics, read from `mntr` and exported per member under the
//! names of ZooKeeper's `PrometheusMetricsProvider` (no operator prefix), so one dashboard
//! works with either source. Gauges throughout: the values are snapshots of ZooKeeper's
//! own counters, and a prometheus-client counter would append `_total` to the name.
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::metrics::ClusterLabels;
use crate::health::MemberAssessment;
use crate::zk::parse::MEMBER_METRICS;

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
pub struct MemberRoleLabels {
    pub namespace: String,
    pub cluster: String,
    pub member: String,
    /// A role change replaces the member's series (the old role's go).
    pub role: String,
}

type ZkGauge = Family<MemberRoleLabels, Gauge<f64, AtomicU64>>;

/// One series written: the metric's index in [`MEMBER_METRICS`] and its labels.
type Written = (usize, MemberRoleLabels);

pub struct ZkMemberMetrics {
    registry: Registry,
    /// Index-aligned with [`MEMBER_METRICS`].
    families: Vec<ZkGauge>,
    /// The series each cluster has, so the ones not written again are removed.
    published: Mutex<HashMap<ClusterLabels, BTreeSet<Written>>>,
}

impl Default for ZkMemberMetrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let families = MEMBER_METRICS
            .iter()
            .map(|metric| {
                let family = ZkGauge::default();
                registry.register(metric.name, metric.help, family.clone());
                family
            })
            .collect();
        Self {
            registry,
            families,
            published: Mutex::default(),
        }
    }
}

impl ZkMemberMetrics {
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Afterwards the cluster's series are exactly what `members` carry (none when
    /// `enabled` is false): members that left, changed role or stopped answering `mntr`
    /// lose theirs.
    pub fn observe(&self, cluster: &ClusterLabels, members: &[MemberAssessment], enabled: bool) {
        let mut written = BTreeSet::new();
        for member in members.iter().filter(|_| enabled) {
            let labels = MemberRoleLabels {
                namespace: cluster.namespace.clone(),
                cluster: cluster.cluster.clone(),
                member: member.name.clone(),
                role: member.role.as_str().to_string(),
            };
            for (name, value) in &member.zk_metrics {
                let Some(index) = MEMBER_METRICS.iter().position(|m| m.name == *name) else {
                    continue;
                };
                self.families[index].get_or_create(&labels).set(*value);
                written.insert((index, labels.clone()));
            }
        }
        let before = match self.published.lock() {
            Ok(mut published) if written.is_empty() => published.remove(cluster),
            Ok(mut published) => published.insert(cluster.clone(), written.clone()),
            Err(_) => None,
        };
        for (index, labels) in before.unwrap_or_default().difference(&written) {
            self.families[*index].remove(labels);
        }
    }

    /// Removes the series of every cluster for which `keep` is false (deleted clusters).
    pub fn retain_clusters(&self, keep: impl Fn(&ClusterLabels) -> bool) {
        let gone: Vec<BTreeSet<Written>> = match self.published.lock() {
            Ok(mut published) => {
                let keys: Vec<ClusterLabels> =
                    published.keys().filter(|c| !keep(c)).cloned().collect();
                keys.iter().filter_map(|c| published.remove(c)).collect()
            }
            Err(_) => Vec::new(),
        };
        for (index, labels) in gone.iter().flatten() {
            self.families[*index].remove(labels);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut published) = self.published.lock() {
            published.clear();
        }
        for family in &self.families {
            family.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Metrics;
    use crate::health::{EnsembleAssessment, MemberAssessment, Role};

    fn member(id: u64, role: Role, zk_metrics: Vec<(&'static str, f64)>) -> MemberAssessment {
        MemberAssessment {
            id,
            name: format!("zk-{}", id - 1),
            address: String::new(),
            role,
            voter: true,
            serving: role != Role::Down,
            zxid: None,
            epoch: None,
            lag: None,
            reason: None,
            restarts: None,
            outstanding_requests: None,
            avg_latency_ms: None,
            zk_metrics,
        }
    }

    fn of(members: Vec<MemberAssessment>) -> EnsembleAssessment {
        EnsembleAssessment {
            voters: members.len(),
            serving_voters: members.len(),
            majority: members.len() / 2 + 1,
            members,
            leader: None,
            epoch: None,
            quorum: true,
            election_in_progress: false,
            split_brain: vec![],
            lagging: vec![],
            overloaded: vec![],
            faults: vec![],
        }
    }

    fn series<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
        text.lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .collect()
    }

    #[test]
    fn members_export_zookeepers_names_with_role_labels() {
        let metrics = Metrics::default();
        let ensemble = of(vec![
            member(
                1,
                Role::Leader,
                vec![("znode_count", 5.0), ("synced_followers", 1.0)],
            ),
            member(
                2,
                Role::Follower,
                vec![("znode_count", 5.0), ("avg_latency", 0.5)],
            ),
        ]);
        metrics.observe_zk_members("ns", "zk", &ensemble, true);
        let text = metrics.render();
        for line in [
            r#"znode_count{namespace="ns",cluster="zk",member="zk-0",role="leader"} 5.0"#,
            r#"synced_followers{namespace="ns",cluster="zk",member="zk-0",role="leader"} 1.0"#,
            r#"avg_latency{namespace="ns",cluster="zk",member="zk-1",role="follower"} 0.5"#,
            "# TYPE znode_count gauge",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        // One exposition: the operator's metrics and ZooKeeper's, a single EOF at the end.
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
        assert!(text.trim_end().ends_with("# EOF"));
        assert!(
            text.contains("zookeeper_operator_reconciles_total"),
            "{text}"
        );
    }

    #[test]
    fn series_go_with_the_member_its_old_role_the_switch_and_the_cluster() {
        let metrics = Metrics::default();
        let zk = |m: &[(u64, Role)]| {
            of(m.iter()
                .map(|(id, role)| member(*id, *role, vec![("znode_count", 1.0)]))
                .collect())
        };
        metrics.observe_zk_members(
            "ns",
            "zk",
            &zk(&[(1, Role::Leader), (2, Role::Follower), (3, Role::Follower)]),
            true,
        );
        metrics.observe_zk_members("ns", "other", &zk(&[(1, Role::Standalone)]), true);
        assert_eq!(series(&metrics.render(), "znode_count").len(), 4);

        // zk-2 left, zk-0 lost the lead, zk-1 took it.
        metrics.observe_zk_members(
            "ns",
            "zk",
            &zk(&[(1, Role::Follower), (2, Role::Leader)]),
            true,
        );
        let text = metrics.render();
        let zk_series: Vec<&str> = series(&text, "znode_count")
            .into_iter()
            .filter(|l| l.contains(r#"cluster="zk""#))
            .collect();
        assert_eq!(zk_series.len(), 2, "{text}");
        assert!(!text.contains(r#"member="zk-2""#), "{text}");
        assert!(text.contains(r#"member="zk-0",role="follower""#), "{text}");
        assert!(!text.contains(r#"member="zk-0",role="leader""#), "{text}");

        // A member that stops answering mntr (down) keeps no stale values.
        metrics.observe_zk_members(
            "ns",
            "zk",
            &of(vec![
                member(1, Role::Down, vec![]),
                member(2, Role::Leader, vec![("znode_count", 1.0)]),
            ]),
            true,
        );
        let text = metrics.render();
        assert!(!text.contains(r#"cluster="zk",member="zk-0""#), "{text}");

        // spec.metrics.members: false removes the cluster's series.
        metrics.observe_zk_members("ns", "zk", &zk(&[(2, Role::Leader)]), false);
        assert!(!metrics.render().contains(r#"cluster="zk""#));

        // A deleted cluster loses its series; the others keep theirs.
        metrics.observe_zk_members("ns", "zk", &zk(&[(2, Role::Leader)]), true);
        metrics.retain_clusters(|_, name| name != "zk");
        let text = metrics.render();
        assert!(!text.contains(r#"cluster="zk""#), "{text}");
        assert_eq!(series(&text, "znode_count").len(), 1, "{text}");
        metrics.clear_ensembles();
        assert!(series(&metrics.render(), "znode_count").is_empty());
    }
}
