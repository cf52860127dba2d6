//! The shipped manifests: examples are valid clusters, install.yaml is current.
use serde::Deserialize;
use zookeeper_operator::api::{StorageMode, ZookeeperCluster, crd_yaml};
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

#[test]
fn install_yaml_is_the_crd_plus_operator_yaml() {
    let install = read("manifests/install.yaml");
    let expected = format!(
        "{}---\n{}",
        crd_yaml(false).expect("crd"),
        read("manifests/operator.yaml")
    );
    assert!(
        install == expected,
        "manifests/install.yaml is stale: regenerate with \
         `{{ cargo run -- crd; echo ---; cat manifests/operator.yaml; }} > manifests/install.yaml`"
    );
    let kinds: Vec<String> = serde_norway::Deserializer::from_str(&install)
        .map(|doc| serde_json::Value::deserialize(doc).expect("yaml document"))
        .filter_map(|v| v["kind"].as_str().map(String::from))
        .collect();
    assert_eq!(
        kinds,
        [
            "CustomResourceDefinition",
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment"
        ]
    );
}
