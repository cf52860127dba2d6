//! The checked-in CRD is exactly what `zookeeper-operator crd` prints.
use zookeeper_operator::api::crd_yaml;

#[test]
fn checked_in_crd_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/zookeepercluster.yaml");
    let on_disk = std::fs::read_to_string(path).expect("crds/zookeepercluster.yaml exists");
    let generated = crd_yaml(false).expect("the CRD renders");
    assert!(
        on_disk == generated,
        "crds/zookeepercluster.yaml is stale: run `cargo run -- crd > crds/zookeepercluster.yaml`"
    );
}

#[test]
fn crd_carries_cel_rules_unless_stripped() {
    let full = crd_yaml(false).expect("renders");
    assert!(full.contains("x-kubernetes-validations"));
    assert!(full.contains("storage.storageClassName is immutable"));
    let stripped = crd_yaml(true).expect("renders");
    assert!(!stripped.contains("x-kubernetes-validations"));
    assert!(stripped.contains("shortNames"));
}

#[test]
fn crd_has_status_subresource_short_names_and_columns() {
    let yaml: serde_json::Value =
        serde_norway::from_str(&crd_yaml(false).expect("renders")).expect("yaml");
    let version = &yaml["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert!(version["subresources"]["status"].is_object());
    // `kubectl scale` writes spec.replicas; autoscalers read the status side.
    assert_eq!(
        version["subresources"]["scale"],
        serde_json::json!({
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector",
        })
    );
    assert_eq!(
        yaml["spec"]["names"]["shortNames"],
        serde_json::json!(["zk", "zkc"])
    );
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        columns,
        ["Replicas", "Ready", "Leader", "Quorum", "Available", "Age"]
    );
    let replicas =
        &version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["replicas"];
    assert_eq!(
        (replicas["minimum"].as_f64(), replicas["maximum"].as_f64()),
        (Some(1.0), Some(255.0))
    );
}
