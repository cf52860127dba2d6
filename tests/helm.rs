//! The Helm chart (charts/zookeeper-operator): lint-clean; renders least-privilege RBAC
//! cluster-wide or per watched namespace; refuses bad values with a clear message; every
//! object it renders is accepted by a real apiserver (server-side dry run); and its RBAC is
//! enough for the operator, run as the chart's ServiceAccount under leader election, to
//! reconcile a cluster, while Secrets can only be read one by name (receivers' credentials),
//! never listed.
//! Needs helm from testkit/scripts/install-helm.sh.
mod support;

use std::process::{Command, Output};
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{Discovery, Scope};
use kube::{Client, Config};
use serde::Deserialize;
use serde_json::Value;
use support::*;
use zk_testkit::controlplane::ControlPlane;
use zookeeper_operator::api::{ZookeeperCluster, strip_cel_validations};
use zookeeper_operator::controller;
use zookeeper_operator::controller::notifications::DefaultReceivers;
use zookeeper_operator::leader::Elector;
use zookeeper_operator::telemetry::Metrics;

const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/zookeeper-operator");
const CLUSTER_CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/zookeeper-cluster");
const NS: &str = "zookeeper-operator";
const WATCHED: &str = "zk-prod";
const SA_USER: &str = "system:serviceaccount:zookeeper-operator:zookeeper-operator";

fn helm(args: &[&str]) -> Output {
    let cache =
        std::env::var("ZKOP_CACHE").unwrap_or_else(|_| "/var/cache/zookeeper-operator".into());
    let path = std::env::var("HELM").unwrap_or_else(|_| format!("{cache}/tools/helm"));
    assert!(
        std::path::Path::new(&path).is_file(),
        "no helm at {path}: run testkit/scripts/install-helm.sh (or install-deps.sh)"
    );
    Command::new(&path).args(args).output().expect("helm runs")
}

/// `helm template` of the operator chart as release `zookeeper-operator` in its namespace.
fn render(extra: &[&str]) -> Vec<Value> {
    render_chart(CHART, "zookeeper-operator", NS, extra)
}

fn render_chart(chart: &str, release: &str, namespace: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["template", release, chart, "--namespace", namespace];
    args.extend_from_slice(extra);
    let out = helm(&args);
    assert!(
        out.status.success(),
        "helm template {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_norway::Deserializer::from_slice(&out.stdout)
        .map(|doc| Value::deserialize(doc).expect("rendered YAML parses"))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// `helm template` that must fail; its stderr.
fn refused(chart: &str, extra: &[&str]) -> String {
    let mut args = vec!["template", "zookeeper-operator", chart];
    args.extend_from_slice(extra);
    let out = helm(&args);
    assert!(!out.status.success(), "helm accepted {extra:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn kinds(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .map(|d| format!("{}/{}", d["kind"].as_str().unwrap_or("?"), name(d)))
        .collect()
}

fn name(doc: &Value) -> &str {
    doc["metadata"]["name"].as_str().unwrap_or("?")
}

fn find<'a>(docs: &'a [Value], kind: &str, name_: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && name(d) == name_)
        .unwrap_or_else(|| panic!("no {kind}/{name_} in {:?}", kinds(docs)))
}

fn env(deployment: &Value) -> Vec<(String, String)> {
    let env = &deployment["spec"]["template"]["spec"]["containers"][0]["env"];
    env.as_array()
        .expect("env")
        .iter()
        .map(|e| {
            let value = e["value"].as_str().map(String::from);
            let field = e["valueFrom"]["fieldRef"]["fieldPath"].as_str();
            let shown = value.unwrap_or_else(|| format!("<{}>", field.unwrap_or("?")));
            (e["name"].as_str().unwrap_or("?").to_string(), shown)
        })
        .collect()
}

/// (apiGroups, resources, verbs, resourceNames) per rule, joined for easy comparison.
fn rules(role: &Value) -> Vec<String> {
    let join = |v: &Value| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    role["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            let names = join(&r["resourceNames"]);
            let base = format!(
                "{}|{}|{}",
                join(&r["apiGroups"]),
                join(&r["resources"]),
                join(&r["verbs"])
            );
            if names.is_empty() {
                base
            } else {
                format!("{base}|{names}")
            }
        })
        .collect()
}

const OPERATOR_RULES: [&str; 10] = [
    "zookeeper.ensemble.dev|zookeeperclusters|get,list,watch",
    "zookeeper.ensemble.dev|zookeeperclusters/finalizers|update",
    "zookeeper.ensemble.dev|zookeeperclusters/status|get,patch,update",
    "apps|statefulsets|get,list,watch,create,patch,update,delete",
    "|services,configmaps|get,list,watch,create,patch,update,delete",
    "policy|poddisruptionbudgets|get,list,watch,create,patch,update,delete",
    "|pods|get,list,watch,delete",
    "|persistentvolumeclaims|get,list,watch,patch,delete",
    "|secrets|get,create",
    "events.k8s.io|events|create,patch",
];

const LEASE_RULES: [&str; 2] = [
    "coordination.k8s.io|leases|create",
    "coordination.k8s.io|leases|get,patch|zookeeper-operator",
];

#[test]
fn chart_lints_clean_with_every_feature() {
    for (chart, extra) in [
        (CLUSTER_CHART, vec![]),
        (CHART, vec![]),
        (
            CHART,
            vec!["--set", "watchNamespaces={zk-prod}", "--set", "replicas=2"],
        ),
        (
            CHART,
            vec![
                "--set",
                "metrics.serviceMonitor.enabled=true",
                "--set",
                "metrics.prometheusRule.enabled=true",
                "--set",
                "metrics.prometheusRule.ensembleAlerts=true",
            ],
        ),
    ] {
        let mut args = vec!["lint", "--strict", chart];
        args.extend_from_slice(&extra);
        let out = helm(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "helm lint {extra:?}:\n{text}");
        assert!(
            !text.contains("[WARNING]") && !text.contains("[ERROR]"),
            "helm lint {extra:?}:\n{text}"
        );
    }
}

#[test]
fn chart_crd_is_the_checked_in_crd() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |p: &str| std::fs::read_to_string(format!("{root}/{p}")).expect(p);
    assert!(
        read("charts/zookeeper-operator/crds/zookeepercluster.yaml")
            == read("crds/zookeepercluster.yaml"),
        "the chart's CRD is stale: cp crds/zookeepercluster.yaml charts/zookeeper-operator/crds/ \
         && charts/render-install-yaml.sh > manifests/install.yaml"
    );
}

#[test]
fn default_values_run_one_restricted_operator_with_cluster_wide_rbac() {
    let docs = render(&[]);
    assert_eq!(
        kinds(&docs),
        [
            "ServiceAccount/zookeeper-operator",
            "ClusterRole/zookeeper-operator",
            "ClusterRoleBinding/zookeeper-operator",
            "Role/zookeeper-operator-leader-election",
            "RoleBinding/zookeeper-operator-leader-election",
            "Service/zookeeper-operator-metrics",
            "Deployment/zookeeper-operator",
        ]
    );
    assert_eq!(
        rules(find(&docs, "ClusterRole", "zookeeper-operator")),
        OPERATOR_RULES
    );
    let election = find(&docs, "Role", "zookeeper-operator-leader-election");
    assert_eq!(election["metadata"]["namespace"], NS);
    assert_eq!(rules(election), LEASE_RULES);

    let deployment = find(&docs, "Deployment", "zookeeper-operator");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(container["image"], "zookeeper-operator:0.1.0");
    assert_eq!(container["args"], serde_json::json!(["run"]));
    assert_eq!(pod["serviceAccountName"], "zookeeper-operator");
    let env = env(deployment);
    let expected_env = [
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info"),
        ("METRICS_ADDR", "0.0.0.0:8080"),
        ("POD_NAME", "<metadata.name>"),
        ("POD_NAMESPACE", "<metadata.namespace>"),
        ("LEASE_NAME", "zookeeper-operator"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    assert_eq!(env, expected_env, "no WATCH_NAMESPACE: every namespace");
    // The restricted Pod Security Standard, field by field.
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let sc = &container["securityContext"];
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    // The metrics Service reaches the container's port by name.
    let service = find(&docs, "Service", "zookeeper-operator-metrics");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
    assert_eq!(container["ports"][0]["name"], "http");
}

#[test]
fn every_rbac_rule_says_why() {
    for extra in [vec![], vec!["--set", "watchNamespaces={zk-prod}"]] {
        let mut args = vec!["template", "zookeeper-operator", CHART, "-n", NS];
        args.extend_from_slice(&extra);
        let text = String::from_utf8_lossy(&helm(&args).stdout).into_owned();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let mut seen = 0;
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with("- apiGroups:") {
                seen += 1;
                assert!(
                    i > 0 && lines[i - 1].starts_with('#'),
                    "rule without a comment: {line} (after {:?})",
                    lines[i - 1]
                );
            }
        }
        assert_eq!(seen, OPERATOR_RULES.len() + LEASE_RULES.len());
    }
}

#[test]
fn watched_namespace_gets_a_role_and_nothing_is_cluster_wide() {
    let docs = render(&["--set", "watchNamespaces={zk-prod}"]);
    assert!(
        !docs
            .iter()
            .any(|d| d["kind"] == "ClusterRole" || d["kind"] == "ClusterRoleBinding"),
        "{:?}",
        kinds(&docs)
    );
    let role = find(&docs, "Role", "zookeeper-operator");
    assert_eq!(role["metadata"]["namespace"], WATCHED);
    assert_eq!(rules(role), OPERATOR_RULES);
    let binding = find(&docs, "RoleBinding", "zookeeper-operator");
    assert_eq!(binding["metadata"]["namespace"], WATCHED);
    assert_eq!(binding["subjects"][0]["namespace"], NS);
    let env = env(find(&docs, "Deployment", "zookeeper-operator"));
    assert!(env.contains(&("WATCH_NAMESPACE".into(), WATCHED.into())));
}

#[test]
fn values_reach_the_deployment() {
    let dir = std::env::temp_dir().join(format!("zkop-helm-values-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let values = dir.join("values.yaml");
    std::fs::write(
        &values,
        r#"
replicas: 3
image: {repository: registry.example/zk-op, tag: "1.2.3", pullPolicy: Always}
logLevel: "info,zookeeper_operator=debug"
logFormat: text
resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 512Mi}}
nodeSelector: {kubernetes.io/os: linux}
tolerations: [{key: dedicated, operator: Equal, value: zk, effect: NoSchedule}]
affinity: {podAntiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: []}}
extraEnv: [{name: EXTRA, value: "yes"}]
leaderElection: {leaseName: zk-op-lease}
"#,
    )
    .expect("write values");
    let path = values.to_string_lossy().into_owned();
    let docs = render(&["-f", &path]);
    let deployment = find(&docs, "Deployment", "zookeeper-operator");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(deployment["spec"]["replicas"], 3);
    assert_eq!(container["image"], "registry.example/zk-op:1.2.3");
    assert_eq!(container["imagePullPolicy"], "Always");
    assert_eq!(container["resources"]["limits"]["memory"], "512Mi");
    assert_eq!(pod["nodeSelector"]["kubernetes.io/os"], "linux");
    assert_eq!(pod["tolerations"][0]["value"], "zk");
    assert!(pod["affinity"]["podAntiAffinity"].is_object());
    let env = env(deployment);
    for pair in [
        ("RUST_LOG", "info,zookeeper_operator=debug"),
        ("LOG_FORMAT", "text"),
        ("EXTRA", "yes"),
        ("LEASE_NAME", "zk-op-lease"),
    ] {
        assert!(
            env.contains(&(pair.0.into(), pair.1.into())),
            "{pair:?} in {env:?}"
        );
    }
    // The lease RBAC follows the lease name.
    let election = find(&docs, "Role", "zookeeper-operator-leader-election");
    assert_eq!(election["rules"][1]["resourceNames"][0], "zk-op-lease");
    let digest = format!("sha256:{}", "a".repeat(64));
    let pinned = render(&["--set", &format!("image.digest={digest}")]);
    let image = &find(&pinned, "Deployment", "zookeeper-operator")["spec"]["template"]["spec"]["containers"]
        [0]["image"];
    assert_eq!(image, &Value::from(format!("zookeeper-operator@{digest}")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_values_fail_with_the_path_and_the_rule() {
    let cases: [(&[&str], &str); 9] = [
        (
            &["--set", "replicas=-1"],
            "at '/replicas': minimum: got -1, want 0",
        ),
        (
            &["--set", "logFormat=xml"],
            "at '/logFormat': value must be one of 'text', 'json'",
        ),
        (
            &["--set", "replica=3"],
            "additional properties 'replica' not allowed",
        ),
        (
            &["--set", "watchNamespaces={a,b}"],
            "at '/watchNamespaces': maxItems: got 2, want 1",
        ),
        (
            &["--set", "watchNamespaces={Prod_NS}"],
            "at '/watchNamespaces/0'",
        ),
        (
            &["--set", "image.pullPolicy=Sometimes"],
            "at '/image/pullPolicy'",
        ),
        (&["--set", "image.digest=latest"], "at '/image/digest'"),
        (
            &["--set", "metrics.port=80"],
            "at '/metrics/port': minimum: got 80, want 1,024",
        ),
        (
            &[
                "--set",
                "metrics.serviceMonitor.enabled=true",
                "--set",
                "metrics.service.enabled=false",
            ],
            "metrics.serviceMonitor.enabled needs metrics.service.enabled",
        ),
    ];
    for (args, message) in cases {
        let stderr = refused(CHART, args);
        assert!(
            stderr.contains(message),
            "{args:?}: expected {message:?} in:\n{stderr}"
        );
    }
}

#[test]
fn monitoring_renders_a_service_monitor_and_alerts_on_exported_metrics() {
    assert!(
        render(&[])
            .iter()
            .all(|d| d["apiVersion"] != "monitoring.coreos.com/v1")
    );
    // The rule is on by default but rendered only where its CRD is served.
    let served = ["--api-versions", "monitoring.coreos.com/v1/PrometheusRule"];
    assert!(
        render(&served)
            .iter()
            .any(|d| d["kind"] == "PrometheusRule"),
        "on by default where the CRD is served"
    );
    let on = [
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--api-versions",
        "monitoring.coreos.com/v1/PrometheusRule",
    ];
    let docs = render(&on);
    let monitor = find(&docs, "ServiceMonitor", "zookeeper-operator");
    let service = find(&docs, "Service", "zookeeper-operator-metrics");
    let selector = monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("selector");
    for (key, value) in selector {
        assert_eq!(
            &service["metadata"]["labels"][key], value,
            "selects the Service by {key}"
        );
    }
    assert_eq!(
        monitor["spec"]["endpoints"][0]["port"],
        service["spec"]["ports"][0]["name"]
    );
    let rule = find(&docs, "PrometheusRule", "zookeeper-operator");
    let groups = rule["spec"]["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 2, "ensemble alerts on by default");
    assert_eq!(groups[1]["name"], "zookeeper-ensembles");
    let exprs: Vec<String> = groups[0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            assert!(r["alert"].is_string() && r["labels"]["severity"].is_string());
            assert!(r["annotations"]["summary"].is_string());
            r["expr"].as_str().expect("expr").to_string()
        })
        .collect();
    let all = exprs.join("\n");
    for metric in [
        "zookeeper_operator_reconcile_errors_total",
        "zookeeper_operator_reconciles_total",
        "zookeeper_operator_reconcile_duration_seconds_bucket",
        "up{job=\"zookeeper-operator-metrics\"",
    ] {
        assert!(all.contains(metric), "an alert on {metric}");
    }
    let mut with_ensemble = on.to_vec();
    with_ensemble.extend(["--set", "metrics.prometheusRule.ensembleAlerts=true"]);
    let docs = render(&with_ensemble);
    let rule = find(&docs, "PrometheusRule", "zookeeper-operator");
    let text = serde_json::to_string(&rule["spec"]["groups"][1]).expect("json");
    assert!(text.contains("ZookeeperQuorumLost") && text.contains("ZookeeperSplitBrain"));
    let mut without = on.to_vec();
    without.extend(["--set", "metrics.prometheusRule.ensembleAlerts=false"]);
    let docs = render(&without);
    let rule = find(&docs, "PrometheusRule", "zookeeper-operator");
    assert_eq!(rule["spec"]["groups"].as_array().map(Vec::len), Some(1));
}

#[test]
fn cluster_chart_renders_one_valid_cluster_and_refuses_bad_values() {
    let docs = render_chart(CLUSTER_CHART, "zk", "apps", &[]);
    assert_eq!(kinds(&docs), ["ZookeeperCluster/zk"]);
    let mut cluster: ZookeeperCluster =
        serde_json::from_value(docs[0].clone()).expect("a ZookeeperCluster");
    cluster.metadata.uid = Some("uid".into()); // what the API server adds
    let valid = zookeeper_operator::validate::validate(&cluster).expect("the operator accepts it");
    assert_eq!(valid.spec.replicas, 3);
    // Typed values and pass-through spec fields meet in one spec.
    let docs = render_chart(
        CLUSTER_CHART,
        "zk",
        "apps",
        &[
            "--set",
            "name=zk-prod",
            "--set",
            "replicas=5",
            "--set",
            "spec.config.maxClientCnxns=100",
        ],
    );
    assert_eq!(name(&docs[0]), "zk-prod");
    assert_eq!(docs[0]["spec"]["replicas"], 5);
    assert_eq!(docs[0]["spec"]["config"]["maxClientCnxns"], 100);
    for (args, message) in [
        (
            ["--set", "replicas=0"],
            "at '/replicas': minimum: got 0, want 1",
        ),
        (["--set", "storage.mode=Disk"], "at '/storage/mode'"),
        (
            ["--set", "spec.replicas=3"],
            "set it with the top-level value `replicas`",
        ),
    ] {
        let stderr = refused(CLUSTER_CHART, &args);
        assert!(
            stderr.contains(message),
            "{args:?}: expected {message:?} in:\n{stderr}"
        );
    }
}

/// An admin client that acts as `user` (impersonation), to test RBAC for real.
async fn client_as(cp: &ControlPlane, user: &str) -> Client {
    let kubeconfig = Kubeconfig::read_from(cp.kubeconfig_path()).expect("kubeconfig");
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    config.auth_info.impersonate = Some(user.into());
    Client::try_from(config).expect("client")
}

/// Server-side apply of one rendered object; `dry_run` leaves the cluster unchanged.
async fn apply(
    client: &Client,
    discovery: &Discovery,
    doc: &Value,
    dry_run: bool,
) -> Result<(), String> {
    let (group, version) = match doc["apiVersion"].as_str().unwrap_or("").split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (
            String::new(),
            doc["apiVersion"].as_str().unwrap_or("").to_string(),
        ),
    };
    let kind = doc["kind"].as_str().unwrap_or("");
    let gvk = GroupVersionKind::gvk(&group, &version, kind);
    let (resource, caps) = discovery
        .resolve_gvk(&gvk)
        .ok_or_else(|| format!("{gvk:?} is not served"))?;
    let api: Api<DynamicObject> = match (caps.scope, doc["metadata"]["namespace"].as_str()) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &resource),
        (Scope::Namespaced, None) => return Err(format!("{kind}/{} has no namespace", name(doc))),
        (Scope::Cluster, _) => Api::all_with(client.clone(), &resource),
    };
    let mut params = PatchParams::apply("helm-test").force();
    if dry_run {
        params = params.dry_run();
    }
    api.patch(name(doc), &params, &Patch::Apply(doc))
        .await
        .map(|_| ())
        .map_err(|e| format!("{kind}/{}: {e}", name(doc)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_objects_are_accepted_and_the_rbac_is_enough() {
    install_crypto();
    let cp = ControlPlane::start().await.expect("control plane starts");
    let admin = cp.client();
    for ns in [NS, WATCHED] {
        create_namespace(&admin, ns).await;
    }
    let discovery = Discovery::new(admin.clone())
        .run()
        .await
        .expect("discovery");

    // 1. Server-side dry run of everything the chart renders, in both RBAC modes.
    let monitoring = [
        "--include-crds",
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "metrics.prometheusRule.enabled=true",
        "--set",
        "metrics.prometheusRule.ensembleAlerts=true",
        "--api-versions",
        "monitoring.coreos.com/v1/PrometheusRule",
        "--set",
        "replicas=2",
    ];
    let mut docs = render(&monitoring);
    docs.extend(render(&["--set", "watchNamespaces={zk-prod}"]));
    let (mut accepted, mut not_served, mut errors) = (0, vec![], vec![]);
    for mut doc in docs {
        let kind = doc["kind"].as_str().unwrap_or("").to_string();
        // The test server has no Prometheus Operator CRDs; these two are checked in
        // `monitoring_renders_...` and must be the only ones left out here.
        if doc["apiVersion"] == "monitoring.coreos.com/v1" {
            not_served.push(kind);
            continue;
        }
        // Kubernetes 1.20 predates CEL in CRDs (the operator strips it there too).
        if kind == "CustomResourceDefinition" {
            strip_cel_validations(&mut doc);
        }
        match apply(&admin, &discovery, &doc, true).await {
            Ok(()) => accepted += 1,
            Err(e) => errors.push(e),
        }
    }
    assert!(
        errors.is_empty(),
        "server-side dry run refused: {errors:#?}"
    );
    not_served.sort();
    assert_eq!(not_served, ["PrometheusRule", "ServiceMonitor"]);
    assert!(
        !discovery
            .groups()
            .any(|g| g.name() == "monitoring.coreos.com"),
        "the server serves monitoring.coreos.com: dry-run those kinds too"
    );
    println!("server-side dry run accepted {accepted} operator-chart objects");

    // The cluster chart's object, once the CRD is served.
    install_crd(&admin).await;
    let discovery = Discovery::new(admin.clone())
        .run()
        .await
        .expect("discovery");
    for doc in render_chart(CLUSTER_CHART, "zk", WATCHED, &["--set", "replicas=5"]) {
        apply(&admin, &discovery, &doc, true)
            .await
            .expect("dry-run the ZookeeperCluster");
    }

    // 2. The default install's ServiceAccount and RBAC for real, then the operator as that
    //    ServiceAccount, under leader election, reconciles a cluster.
    for doc in render(&[]).iter().filter(|d| d["kind"] != "Deployment") {
        apply(&admin, &discovery, doc, false).await.expect("apply");
    }
    let operator = client_as(&cp, SA_USER).await;
    let secrets: Api<Secret> = Api::all(operator.clone());
    assert!(
        secrets.list(&ListParams::default()).await.is_err(),
        "the operator must not read Secrets"
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = Metrics::default();
    let run_metrics = metrics.clone();
    let elector = Elector::new(
        operator.clone(),
        NS,
        "zookeeper-operator",
        "helm-test".into(),
    );
    let mut role = elector.state();
    let run = tokio::spawn(elector.run(
        async move {
            let _ = stopped.await;
        },
        move |token| {
            let ready = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            controller::run(
                operator.clone(),
                controller::Settings::default(),
                run_metrics.clone(),
                ready,
                token.cancelled_owned(),
            )
        },
    ));
    let cluster: ZookeeperCluster = example("zookeeper-3.yaml");
    apply_cluster(&admin, WATCHED, &cluster).await;
    let statefulsets: Api<StatefulSet> = Api::namespaced(admin.clone(), WATCHED);
    wait_for(
        "the operator, as its ServiceAccount, to create the StatefulSet",
        Duration::from_secs(60),
        || async { statefulsets.get_opt("zk").await.ok().flatten() },
    )
    .await;
    let clusters: Api<ZookeeperCluster> = Api::namespaced(admin.clone(), WATCHED);
    wait_for(
        "status written by the operator",
        Duration::from_secs(60),
        || async {
            let c = clusters.get("zk").await.ok()?;
            condition(&c, "Progressing").map(|_| ())
        },
    )
    .await;
    assert!(
        role.borrow_and_update().is_leading(),
        "the operator ran as the leader"
    );
    let text = metrics.render();
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("zookeeper_operator_reconcile_errors_total{")),
        "no reconcile failed (e.g. Forbidden):\n{text}"
    );
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(20), run).await;
    cp.stop().await;
}

#[test]
fn default_receivers_are_mounted_and_only_their_secrets_are_readable() {
    let dir = std::env::temp_dir().join(format!("zkop-helm-receivers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let values = dir.join("values.yaml");
    std::fs::write(
        &values,
        r#"
notifications:
  defaultReceivers:
    - name: oncall
      minSeverity: Critical
      webhook:
        urlSecret: {name: hooks, key: url}
        basicAuth: {username: am, passwordSecret: {name: hook-auth, key: password}}
    - name: chat
      slack: {urlSecret: {name: slack, key: url}}
    - name: mail
      email:
        smarthost: relay.internal:587
        from: zookeeper@example.com
        to: [oncall@example.com]
        username: zookeeper
        passwordSecret: {name: smtp, key: password}
        caSecret: {name: smtp-ca, key: ca.crt}
"#,
    )
    .expect("write values");
    let docs = render(&["-f", &values.to_string_lossy()]);
    let _ = std::fs::remove_dir_all(&dir);

    // The file the operator reads is what the operator itself accepts.
    let cm = find(&docs, "ConfigMap", "zookeeper-operator-default-receivers");
    let text = cm["data"]["receivers.yaml"]
        .as_str()
        .expect("receivers.yaml");
    let parsed = DefaultReceivers::parse(NS, text).expect("the operator accepts the list");
    let names: Vec<&str> = parsed.receivers.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["oncall", "chat", "mail"]);
    assert_eq!(parsed.namespace, NS);
    let deployment = find(&docs, "Deployment", "zookeeper-operator");
    let pod = &deployment["spec"]["template"]["spec"];
    assert!(env(deployment).contains(&(
        "DEFAULT_RECEIVERS_FILE".into(),
        "/etc/zookeeper-operator/receivers.yaml".into()
    )));
    assert_eq!(
        pod["containers"][0]["volumeMounts"][0]["mountPath"],
        "/etc/zookeeper-operator"
    );
    assert_eq!(
        pod["volumes"][0]["configMap"]["name"],
        "zookeeper-operator-default-receivers"
    );
    assert!(
        deployment["spec"]["template"]["metadata"]["annotations"]
            ["zookeeper.ensemble.dev/default-receivers"]
            .is_string(),
        "a changed list rolls the operator"
    );
    let role = find(&docs, "Role", "zookeeper-operator-default-receivers");
    assert_eq!(role["metadata"]["namespace"], NS);
    assert_eq!(role["rules"][0]["verbs"], serde_json::json!(["get"]));
    assert_eq!(
        role["rules"][0]["resourceNames"],
        serde_json::json!(["hook-auth", "hooks", "slack", "smtp-ca", "smtp"])
    );
    let binding = find(&docs, "RoleBinding", "zookeeper-operator-default-receivers");
    assert_eq!(binding["subjects"][0]["name"], "zookeeper-operator");

    // Without the value: no file, no extra Role.
    let plain = render(&[]);
    assert!(
        !plain
            .iter()
            .any(|d| name(d).ends_with("-default-receivers"))
    );
    assert!(
        !env(find(&plain, "Deployment", "zookeeper-operator"))
            .iter()
            .any(|(k, _)| k == "DEFAULT_RECEIVERS_FILE")
    );
}
