//! Every metric the chart's PrometheusRule names is one the operator exports: the
//! rule's expressions are parsed as PromQL (promql-parser) and their selectors
//! collected; the operator's exposition text, from a registry with every family
//! populated, is parsed for its series names. Needs helm (install-deps.sh).
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use promql_parser::parser::{self, Expr};
use serde::Deserialize;
use serde_json::Value;
use zookeeper_operator::health::{EnsembleAssessment, MemberAssessment, Role};
use zookeeper_operator::telemetry::{ClusterLabels, Metrics};
use zookeeper_operator::zk::parse::MEMBER_METRICS;

const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/zookeeper-operator");
/// Prometheus' own per-target series, not the operator's.
const SCRAPE_SERIES: &[&str] = &["up"];

fn rendered_rule(extra: &[&str]) -> Value {
    let cache =
        std::env::var("ZKOP_CACHE").unwrap_or_else(|_| "/var/cache/zookeeper-operator".into());
    let helm = std::env::var("HELM").unwrap_or_else(|_| format!("{cache}/tools/helm"));
    let mut args = vec![
        "template",
        "zookeeper-operator",
        CHART,
        // On by default; rendered where the CRD is served.
        "--api-versions",
        "monitoring.coreos.com/v1/PrometheusRule",
    ];
    args.extend_from_slice(extra);
    let out = Command::new(&helm).args(&args).output().expect("helm runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_norway::Deserializer::from_slice(&out.stdout)
        .map(|doc| Value::deserialize(doc).expect("YAML"))
        .find(|doc| doc["kind"] == "PrometheusRule")
        .expect("a PrometheusRule")
}

fn selectors(expr: &Expr, out: &mut BTreeSet<String>) {
    match expr {
        Expr::VectorSelector(vs) => out.extend(vs.name.clone()),
        Expr::MatrixSelector(ms) => out.extend(ms.vs.name.clone()),
        Expr::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(p) = &a.param {
                selectors(p, out);
            }
        }
        Expr::Unary(u) => selectors(&u.expr, out),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Expr::Paren(p) => selectors(&p.expr, out),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::Call(c) => c.args.args.iter().for_each(|a| selectors(a, out)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// Metric names in the rule's expressions.
fn named(rule: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for group in rule["spec"]["groups"].as_array().expect("groups") {
        for r in group["rules"].as_array().expect("rules") {
            let text = r["expr"].as_str().expect("expr");
            let expr = parser::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            selectors(&expr, &mut out);
        }
    }
    out
}

/// Series names the operator exports, every family given a value first.
fn exported() -> BTreeSet<String> {
    let metrics = Metrics::default();
    metrics.observe_reconcile(Duration::from_millis(20), Some("Apply"));
    metrics
        .member_restarts
        .get_or_create(&ClusterLabels {
            namespace: "ns".into(),
            cluster: "zk".into(),
        })
        .inc();
    let member = MemberAssessment {
        id: 1,
        name: "zk-0".into(),
        address: String::new(),
        role: Role::Leader,
        voter: true,
        serving: true,
        zxid: Some(1),
        epoch: Some(1),
        lag: Some(0),
        reason: None,
        restarts: None,
        outstanding_requests: Some(0),
        avg_latency_ms: Some(1.0),
        // Every ZooKeeper member metric the operator can re-export from mntr.
        zk_metrics: MEMBER_METRICS.iter().map(|m| (m.name, 1.0)).collect(),
    };
    let ensemble = EnsembleAssessment {
        members: vec![member],
        leader: Some(1),
        epoch: Some(1),
        voters: 1,
        serving_voters: 1,
        majority: 1,
        quorum: true,
        election_in_progress: false,
        split_brain: vec![],
        lagging: vec![],
        overloaded: vec![],
        faults: vec![],
    };
    metrics.observe_ensemble("ns", "zk", &ensemble);
    metrics.observe_zk_members("ns", "zk", &ensemble, true);
    metrics
        .render()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_metric_the_alerts_name_is_exported() {
    let exported = exported();
    assert!(
        exported.contains("zookeeper_operator_member_up")
            && exported.contains("zookeeper_operator_reconciles_total"),
        "{exported:?}"
    );
    let named = named(&rendered_rule(&[]));
    assert!(
        named.contains("zookeeper_operator_quorum_serving_voters")
            && named.contains("zookeeper_operator_member_leader")
            && named.contains("outstanding_requests")
            && named.contains("fsynctime_count"),
        "the ensemble alerts are on by default: {named:?}"
    );
    let missing: Vec<&String> = named
        .iter()
        .filter(|n| !exported.contains(*n) && !SCRAPE_SERIES.contains(&n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "the alerts name metrics the operator does not export: {missing:?}\nexported: {exported:?}"
    );
}

/// The check itself catches a wrong name (as the chart once had).
#[test]
fn a_misnamed_metric_is_caught() {
    let mut out = BTreeSet::new();
    let expr = parser::parse(
        "max by (namespace) (zookeeper_member_up{job=\"x\"}) == 0 and rate(zookeeper_quorum_serving[5m]) > 0",
    )
    .expect("parses");
    selectors(&expr, &mut out);
    let exported = exported();
    assert_eq!(
        out,
        BTreeSet::from([
            "zookeeper_member_up".into(),
            "zookeeper_quorum_serving".into()
        ])
    );
    assert!(out.iter().all(|n| !exported.contains(n)));
}
