//! The shipped manifests: examples are valid clusters, install.yaml is current.
use serde::Deserialize;
use zookeeper_operator::api::{StorageMode, ZookeeperCluster};
use zookeeper_operator::validate::validate;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn example(file: &str) -> ZookeeperCluster {
    let mut cluster: ZookeeperCluster =
        serde_norway::from_str(&read(&format!("manifests/examples/{file}")))
            .expect("example parses as a ZookeeperCluster");
    // What the API server adds on create.
    cluster.metadata.namespace = Some("default".into());
    cluster.metadata.uid = Some("uid".into());
    cluster
}

#[test]
fn examples_are_valid_and_what_they_say() {
    let three = validate(&example("zookeeper-3.yaml")).expect("valid");
    assert_eq!(three.spec.replicas, 3);
    let prod = validate(&example("zookeeper-persistent.yaml")).expect("valid");
    assert_eq!(
        (prod.spec.replicas, prod.spec.storage.mode),
        (5, StorageMode::Persistent)
    );
    assert_eq!(prod.heap_bytes, Some(1536 << 20));
    let dev = validate(&example("zookeeper-dev.yaml")).expect("valid");
    assert_eq!(
        (dev.spec.replicas, dev.spec.storage.mode),
        (1, StorageMode::Ephemeral)
    );
    let files: Vec<_> = std::fs::read_dir(format!("{ROOT}/manifests/examples"))
        .expect("examples dir")
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(files.len(), 3, "every example is covered here");
}

/// The helm binary testkit/scripts/install-helm.sh caches (or $HELM).
fn helm() -> String {
    let path = std::env::var("HELM").unwrap_or_else(|_| {
        let cache =
            std::env::var("ZKOP_CACHE").unwrap_or_else(|_| "/var/cache/zookeeper-operator".into());
        format!("{cache}/tools/helm")
    });
    assert!(
        std::path::Path::new(&path).is_file(),
        "no helm at {path}: run testkit/scripts/install-helm.sh (or install-deps.sh)"
    );
    path
}

#[test]
fn install_yaml_is_rendered_from_the_chart() {
    let rendered = std::process::Command::new(format!("{ROOT}/charts/render-install-yaml.sh"))
        .env("HELM", helm())
        .output()
        .expect("run charts/render-install-yaml.sh");
    assert!(
        rendered.status.success(),
        "charts/render-install-yaml.sh failed: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let install = read("manifests/install.yaml");
    assert!(
        install == String::from_utf8_lossy(&rendered.stdout),
        "manifests/install.yaml is stale: regenerate with \
         `charts/render-install-yaml.sh > manifests/install.yaml`"
    );
    let docs: Vec<serde_json::Value> = serde_norway::Deserializer::from_str(&install)
        .map(|doc| serde_json::Value::deserialize(doc).expect("yaml document"))
        .filter(|v| !v.is_null())
        .collect();
    let kinds: Vec<&str> = docs.iter().filter_map(|v| v["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "CustomResourceDefinition",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "Service",
            "Deployment"
        ]
    );
    // The CRD in it is crds/zookeepercluster.yaml: tests/crd.rs and tests/helm.rs keep the
    // chain generated CRD -> crds/ -> chart -> install.yaml unbroken.
    // Everything namespaced lands in the namespace created first.
    for doc in &docs[2..] {
        let ns = &doc["metadata"]["namespace"];
        assert!(
            ns.is_null() || ns == "zookeeper-operator",
            "{} in namespace {ns}",
            doc["kind"]
        );
    }
}
