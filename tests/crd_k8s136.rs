//! The CRD on Kubernetes 1.36's own CRD server (the apiextensions-apiserver that every
//! 1.36 cluster runs; see tests/README.md): accepted with its CEL rules and no warning,
//! every example accepted, every invalid spec the schema or CEL claims to reject rejected
//! with its field path, server-side apply as the operator and a status patch through the
//! subresource.
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use serde_json::{Value, json};
use zk_testkit::controlplane::{CRD_SERVER_VERSION, CrdServer};
use zookeeper_operator::api::{ZookeeperCluster, crd_json};

const CRD_NAME: &str = "zookeeperclusters.zookeeper.ensemble.dev";
const NS: &str = "team-a";

fn resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("zookeeper.ensemble.dev", "v1alpha1", "ZookeeperCluster"),
        "zookeeperclusters",
    )
}

/// Applies the CRD as `zookeeper-operator crd` prints it, returning the server's
/// `Warning` headers, and waits until it is Established.
async fn install_crd(client: &kube::Client) -> Vec<String> {
    let crd = crd_json(false).expect("the CRD renders");
    let body = serde_json::to_vec(&crd).expect("json");
    let request = http::Request::patch(format!(
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD_NAME}?fieldManager=zookeeper-operator&force=true"
    ))
    .header("Content-Type", "application/apply-patch+yaml")
    .body(body)
    .expect("request");
    let response = client
        .send(request.map(Into::into))
        .await
        .expect("the CRD request is answered");
    let status = response.status();
    let warnings: Vec<String> = response
        .headers()
        .get_all("warning")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    assert!(
        status.is_success(),
        "the 1.36 server refused the CRD ({status}): {}",
        String::from_utf8_lossy(&body)
    );
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for _ in 0..100 {
        let established = api
            .get(CRD_NAME)
            .await
            .ok()
            .and_then(|c| c.status)
            .is_some_and(|s| {
                s.conditions
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
        if established {
            return warnings;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the CRD was not Established within 10 s");
}

fn example_docs() -> Vec<(String, Value)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/manifests/examples");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("manifests/examples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read example");
            let doc: Value = serde_norway::from_str(&text).expect("example is YAML");
            (p.display().to_string(), doc)
        })
        .collect()
}

fn cluster(name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "zookeeper.ensemble.dev/v1alpha1",
        "kind": "ZookeeperCluster",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    })
}

async fn create(api: &Api<DynamicObject>, doc: &Value) -> Result<DynamicObject, kube::Error> {
    let obj: DynamicObject = serde_json::from_value(doc.clone()).expect("object");
    api.create(&PostParams::default(), &obj).await
}

/// The 422 of a rejected object: every cause's field and message.
fn causes(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!("{} {:?}", status.message, status.details),
        other => panic!("expected a rejection from the server, got {other}"),
    }
}

#[tokio::test]
async fn the_crd_installs_on_kubernetes_1_36_with_its_rules_and_no_warning() {
    let server = CrdServer::start()
        .await
        .expect("the 1.36 CRD server starts");
    let client = server.client().expect("client");
    let version = client.apiserver_version().await.expect("version");
    assert_eq!(version.git_version, CRD_SERVER_VERSION);

    let warnings = install_crd(&client).await;
    assert!(warnings.is_empty(), "the server warned: {warnings:#?}");

    // The server kept every rule (it would have refused the CRD had one not compiled).
    let stored: Api<CustomResourceDefinition> = Api::all(client.clone());
    let stored =
        serde_json::to_value(stored.get(CRD_NAME).await.expect("stored CRD")).expect("json");
    let rules = stored.to_string().matches("\"rule\":").count();
    let ours = crd_json(false)
        .expect("renders")
        .to_string()
        .matches("\"rule\":")
        .count();
    assert!(ours >= 11, "the CRD carries its CEL rules ({ours})");
    assert_eq!(rules, ours, "every rule is stored");

    // Applying it again (an upgrade with nothing changed) is just as quiet.
    assert!(install_crd(&client).await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn examples_are_accepted_applied_as_the_operator_and_status_is_patched() {
    let server = CrdServer::start()
        .await
        .expect("the 1.36 CRD server starts");
    let client = server.client().expect("client");
    install_crd(&client).await;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &resource());

    let examples = example_docs();
    assert!(examples.len() >= 3, "examples found: {}", examples.len());
    for (path, mut doc) in examples {
        doc["metadata"]["namespace"] = json!(NS);
        let name = doc["metadata"]["name"]
            .as_str()
            .expect("example has a name")
            .to_string();
        // Server-side apply as the operator's field manager, as `kubectl apply --server-side`.
        let obj: DynamicObject = serde_json::from_value(doc).expect("object");
        api.patch(
            &name,
            &PatchParams::apply("zookeeper-operator").force(),
            &Patch::Apply(&obj),
        )
        .await
        .unwrap_or_else(|e| panic!("{path} is refused: {e}"));
        // What the server stored (defaults applied) decodes as the operator's type.
        let typed: Api<ZookeeperCluster> = Api::namespaced(client.clone(), NS);
        let stored = typed
            .get(&name)
            .await
            .unwrap_or_else(|e| panic!("{path} does not decode: {e}"));
        assert!(stored.spec.replicas >= 1);
    }

    // The status subresource takes the operator's status patch and the spec is untouched.
    let typed: Api<ZookeeperCluster> = Api::namespaced(client.clone(), NS);
    let before = typed.get("zk").await.expect("zk");
    let status = json!({
        "apiVersion": "zookeeper.ensemble.dev/v1alpha1",
        "kind": "ZookeeperCluster",
        "status": {
            "observedGeneration": 1,
            "readyReplicas": 3,
            "leader": "zk-1",
            "quorum": "3/3",
            "connectionString": "zk-client.team-a.svc.cluster.local:2181",
            "conditions": [{
                "type": "Available", "status": "True", "reason": "QuorumServing",
                "message": "3 of 3 members serving", "lastTransitionTime": "2026-12-07T12:00:00Z",
                "observedGeneration": 1
            }]
        }
    });
    let patched = typed
        .patch_status(
            "zk",
            &PatchParams::apply("zookeeper-operator").force(),
            &Patch::Apply(&status),
        )
        .await
        .expect("status patch through the subresource");
    let got = patched.status.expect("status");
    assert_eq!(got.leader.as_deref(), Some("zk-1"));
    assert_eq!(got.observed_generation, Some(1));
    assert_eq!(
        patched.spec, before.spec,
        "a status patch leaves the spec alone"
    );
    assert_eq!(patched.metadata.generation, before.metadata.generation);

    // An explicit null size is defaulted (not stored as null, which would not decode).
    create(
        &api,
        &cluster("null-size", json!({"storage": {"size": null}})),
    )
    .await
    .expect("a null size is defaulted");
    let stored = typed
        .get("null-size")
        .await
        .expect("the null-size cluster decodes");
    assert_eq!(stored.spec.storage.size.0, "10Gi");
    server.stop().await;
}

#[tokio::test]
async fn invalid_specs_are_rejected_naming_their_field() {
    let server = CrdServer::start()
        .await
        .expect("the 1.36 CRD server starts");
    let client = server.client().expect("client");
    install_crd(&client).await;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &resource());

    // (spec, the field the server names, words of its message). Each case is also one
    // the operator's own validation rejects (src/validate/tests.rs), for older servers.
    let many: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("key{i}"), json!("v"))).collect();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"replicas": 0}),
            "spec.replicas",
            "greater than or equal to 1",
        ),
        (
            json!({"replicas": 256}),
            "spec.replicas",
            "less than or equal to 255",
        ),
        (
            json!({"image": {"repository": ""}}),
            "spec.image.repository",
            "at least 1",
        ),
        (
            json!({"config": {"tickTime": 10}}),
            "spec.config.tickTime",
            "greater than or equal to 100",
        ),
        (
            json!({"config": {"initLimit": 0}}),
            "spec.config.initLimit",
            "greater than or equal to 1",
        ),
        (
            json!({"config": {"syncLimit": 5000}}),
            "spec.config.syncLimit",
            "less than or equal to 1000",
        ),
        (
            json!({"config": {"maxClientCnxns": -1}}),
            "spec.config.maxClientCnxns",
            "greater than or equal to 0",
        ),
        (
            json!({"config": {"autopurgeSnapRetainCount": 2}}),
            "spec.config.autopurgeSnapRetainCount",
            "greater than or equal to 3",
        ),
        (
            json!({"config": {"minSessionTimeout": 0}}),
            "spec.config.minSessionTimeout",
            "greater than or equal to 1",
        ),
        (
            json!({"config": {"minSessionTimeout": 9000, "maxSessionTimeout": 4000}}),
            "spec.config.minSessionTimeout",
            "must not exceed config.maxSessionTimeout",
        ),
        (
            json!({"config": {"extra": {"dataDir": "/tmp"}}}),
            "spec.config.extra",
            "keys the operator owns",
        ),
        (
            json!({"config": {"extra": {"server.7": "evil:2888:3888"}}}),
            "spec.config.extra",
            "keys the operator owns",
        ),
        (
            json!({"config": {"extra": {"4lw.commands.whitelist": "*"}}}),
            "spec.config.extra",
            "keys the operator owns",
        ),
        (
            json!({"config": {"extra": {"skipACL": "yes"}}}),
            "spec.config.extra",
            "keys the operator owns",
        ),
        (
            json!({"config": {"extra": many}}),
            "spec.config.extra",
            "must have at most 64 items",
        ),
        (
            json!({"config": {"extra": {"tickTime": "3000"}}}),
            "spec.config.extra",
            "keys that have a typed field",
        ),
        (
            json!({"config": {"extra": {"bad key": "x"}}}),
            "spec.config.extra",
            "only letters, digits",
        ),
        (
            json!({"config": {"extra": {"jute.maxbuffer": "1\nserver.9=x"}}}),
            "spec.config.extra",
            "single line",
        ),
        (
            json!({"config": {"extra": {"jute.maxbuffer": "9".repeat(1025)}}}),
            "spec.config.extra.jute.maxbuffer",
            "1024",
        ),
        (
            json!({"image": {"tag": "3.9 beta"}}),
            "spec.image.tag",
            "should match",
        ),
        (
            json!({"image": {"tag": "sha256:abc"}}),
            "spec.image.tag",
            "should match",
        ),
        (
            json!({"storage": {"size": "ten gigs"}}),
            "spec.storage.size",
            "positive quantity",
        ),
        (
            json!({"storage": {"size": "0"}}),
            "spec.storage.size",
            "positive quantity",
        ),
        (
            json!({"storage": {"storageClassName": "Fast SSD"}}),
            "spec.storage.storageClassName",
            "should match",
        ),
        (
            json!({"jvm": {"heap": "big"}}),
            "spec.jvm.heap",
            "positive quantity",
        ),
        (
            json!({"storage": {"mode": "Tmpfs"}}),
            "spec.storage.mode",
            "Unsupported value",
        ),
        (
            json!({"storage": {"retention": {"whenScaled": "Keep"}}}),
            "spec.storage.retention.whenScaled",
            "Unsupported value",
        ),
        (
            json!({"probes": {"readiness": {"periodSeconds": 0}}}),
            "spec.probes.readiness.periodSeconds",
            "greater than or equal to 1",
        ),
        (
            json!({"clusterDomain": "Bad_Domain"}),
            "spec.clusterDomain",
            "should match",
        ),
        (
            json!({"notifications": {"receivers": [{"name": "two-kinds",
                "webhook": {"urlSecret": {"name": "s", "key": "url"}},
                "slack": {"urlSecret": {"name": "s", "key": "url"}}}]}}),
            "spec.notifications.receivers[0]",
            "exactly one of webhook, slack, dingtalk, email",
        ),
        (
            json!({"notifications": {"receivers": [{"name": "no-kind"}]}}),
            "spec.notifications.receivers[0]",
            "exactly one of webhook, slack, dingtalk, email",
        ),
        (
            json!({"notifications": {"receivers": [{"name": "two-chats",
                "teams": {"urlSecret": {"name": "s", "key": "url"}},
                "wecom": {"urlSecret": {"name": "s", "key": "url"}}}]}}),
            "spec.notifications.receivers[0]",
            "pagerduty, opsgenie, teams, feishu, wecom, template",
        ),
        (
            json!({"notifications": {"receivers": [{"name": "pd",
                "pagerduty": {"routingKeySecret": {"name": "s", "key": "k"},
                              "url": "ftp://events.example"}}]}}),
            "spec.notifications.receivers[0].pagerduty.url",
            "should match",
        ),
        (
            json!({"notifications": {"receivers": [{"name": "sms",
                "template": {"urlSecret": {"name": "s", "key": "url"},
                             "body": "x".repeat(16385)}}]}}),
            "spec.notifications.receivers[0].template.body",
            "16384",
        ),
    ];
    for (i, (spec, field, words)) in cases.iter().enumerate() {
        let name = format!("bad-{i}");
        let error = create(&api, &cluster(&name, spec.clone()))
            .await
            .expect_err(&format!("{spec} must be refused"));
        let text = causes(&error);
        assert!(
            text.contains(field),
            "{spec}: the server did not name {field}: {text}"
        );
        assert!(
            text.contains(words),
            "{spec}: expected '{words}' in: {text}"
        );
        // The operator's own check agrees (what a server without CEL relies on); an
        // unknown enum value does not even decode, which the operator reports as well.
        if words == &"Unsupported value" {
            continue;
        }
        let spec_yaml = serde_norway::to_string(spec).expect("yaml");
        let local = zookeeper_operator::validate::validate(&typed_cluster(&spec_yaml));
        let local = local.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            local.contains(field),
            "{spec}: validate() does not reject {field}: {local:?}"
        );
    }

    // The name bounds every derived name (a root-level rule: the only one that sees it).
    let long = "z".repeat(53);
    let error = create(&api, &cluster(&long, json!({})))
        .await
        .expect_err("a 53-character name must be refused");
    let text = causes(&error);
    assert!(
        text.contains("metadata.name must be at most 52 characters"),
        "{text}"
    );
    create(&api, &cluster(&"z".repeat(52), json!({})))
        .await
        .expect("a 52-character name is fine");

    // Transition rules: on update, storage may not change.
    let created = create(
        &api,
        &cluster(
            "immutable",
            json!({"storage": {"size": "10Gi", "storageClassName": "fast"}}),
        ),
    )
    .await
    .expect("a valid cluster");
    assert!(created.metadata.uid.is_some());
    let updates: Vec<(Value, &str, &str)> = vec![
        (
            json!({"storage": {"mode": "Ephemeral"}}),
            "spec.storage.mode",
            "storage.mode is immutable",
        ),
        (
            json!({"storage": {"storageClassName": "slow"}}),
            "spec.storage.storageClassName",
            "storage.storageClassName is immutable",
        ),
        (
            json!({"storage": {"storageClassName": null}}),
            "spec.storage.storageClassName",
            "storage.storageClassName is immutable",
        ),
        (
            json!({"storage": {"size": "20Gi"}}),
            "spec.storage.size",
            "storage.size cannot change",
        ),
        (
            json!({"storage": {"size": "5Gi"}}),
            "spec.storage.size",
            "storage.size cannot change",
        ),
    ];
    for (patch, field, words) in updates {
        let error = api
            .patch(
                "immutable",
                &PatchParams::default(),
                &Patch::Merge(&json!({"spec": patch})),
            )
            .await
            .expect_err(&format!("{patch} must be refused on update"));
        let text = causes(&error);
        assert!(
            text.contains(field),
            "{patch}: the server did not name {field}: {text}"
        );
        assert!(
            text.contains(words),
            "{patch}: expected '{words}' in: {text}"
        );
    }
    // The same size spelled differently is no change.
    api.patch(
        "immutable",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"storage": {"size": "10240Mi"}}})),
    )
    .await
    .expect("10Gi -> 10240Mi is the same size");
    server.stop().await;
}

/// kubectl (1.35, from install-helm.sh) works against the server: discovery, server-side
/// apply of a file, `get` with the printer columns, `explain` from OpenAPI.
#[tokio::test]
async fn kubectl_applies_gets_and_explains() {
    let server = CrdServer::start()
        .await
        .expect("the 1.36 CRD server starts");
    let client = server.client().expect("client");
    install_crd(&client).await;
    let kubectl = "/var/cache/zookeeper-operator/tools/kubectl";
    let run = |args: &[&str]| {
        let out = std::process::Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(server.kubeconfig_path())
            .args(args)
            .output()
            .expect("kubectl runs (installed by testkit/scripts/install-deps.sh)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "kubectl {args:?} failed: {text}");
        text
    };
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/manifests/examples/zookeeper-3.yaml"
    );
    let applied = run(&["apply", "--server-side", "-n", NS, "-f", example]);
    assert!(!applied.contains("Warning"), "{applied}");
    let listed = run(&["get", "zk", "-n", NS]);
    assert!(
        listed.contains("REPLICAS") && listed.contains("QUORUM"),
        "{listed}"
    );
    let explained = run(&["explain", "zookeeperclusters.spec.storage.size"]);
    assert!(explained.contains("Volume size per member"), "{explained}");
    server.stop().await;
}

fn typed_cluster(spec_yaml: &str) -> ZookeeperCluster {
    let indented: String = spec_yaml.lines().map(|l| format!("  {l}\n")).collect();
    let yaml = format!(
        "apiVersion: zookeeper.ensemble.dev/v1alpha1\nkind: ZookeeperCluster\nmetadata:\n  name: zk\n  namespace: ns\n  uid: u\n  generation: 1\nspec:\n{indented}"
    );
    serde_norway::from_str(&yaml).expect("the case decodes as the operator's type")
}

/// What the operator learns from a server at start: its version, and that policy/v1 is not
/// served (a 404, the only answer that switches PodDisruptionBudgets off). A server that
/// cannot be asked fails the start instead of silently switching them off.
#[tokio::test]
async fn the_operator_reads_the_server_version_and_fails_when_it_cannot_ask() {
    let server = CrdServer::start()
        .await
        .expect("the 1.36 CRD server starts");
    let client = server.client().expect("client");
    let capabilities = zookeeper_operator::controller::server_capabilities(&client)
        .await
        .expect("the 1.36 server answers");
    assert_eq!(capabilities.minor, Some(36));
    assert!(
        !capabilities.policy_v1,
        "the CRD server serves no policy/v1"
    );

    // The same server, stopped: every attempt fails, and so does the start.
    server.stop().await;
    let started = std::time::Instant::now();
    let error = zookeeper_operator::controller::server_capabilities(&client)
        .await
        .expect_err("no answer is not 'no policy/v1'");
    assert!(
        format!("{error:#}").contains("cannot ask the Kubernetes server"),
        "{error:#}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(7),
        "it retried with backoff"
    );
}
