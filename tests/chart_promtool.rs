//! The chart's alert rules through Prometheus' own `promtool` (Debian's `prometheus`
//! package, installed by testkit/scripts/install-deps.sh): `check rules` on the rendered
//! PrometheusRule's groups, `test rules` with tests/fixtures/promtool/alerts_test.yaml
//! (every alert fires when it should and not when it should not), and each alert's
//! severity, summary, description and runbook (docs/runbooks/<AlertName>.md).
//! Fails, never skips, when helm or promtool is missing.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn rendered_groups() -> Value {
    let cache =
        std::env::var("ZKOP_CACHE").unwrap_or_else(|_| "/var/cache/zookeeper-operator".into());
    let helm = std::env::var("HELM").unwrap_or_else(|_| format!("{cache}/tools/helm"));
    let chart = format!("{ROOT}/charts/zookeeper-operator");
    let out = Command::new(&helm)
        .args(["template", "zookeeper-operator", &chart])
        // On by default where the Prometheus Operator's CRD is served.
        .args(["--api-versions", "monitoring.coreos.com/v1/PrometheusRule"])
        .output()
        .unwrap_or_else(|e| panic!("{helm} runs (install-deps.sh): {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rule = serde_norway::Deserializer::from_slice(&out.stdout)
        .map(|doc| Value::deserialize(doc).expect("YAML"))
        .find(|doc| doc["kind"] == "PrometheusRule")
        .expect("a PrometheusRule, on by default");
    rule["spec"]["groups"].clone()
}

fn promtool(args: &[&str], dir: &Path) -> String {
    let bin = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let out = Command::new(&bin)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{bin} runs: {e}; install Debian's `prometheus` (testkit/scripts/install-deps.sh)"
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zkop-promtool-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn alerts(groups: &Value) -> BTreeMap<String, Value> {
    groups
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules").iter())
        .map(|r| (r["alert"].as_str().expect("alert").to_string(), r.clone()))
        .collect()
}

#[test]
fn promtool_accepts_the_rendered_rules() {
    let groups = rendered_groups();
    let dir = workdir("check");
    let file = dir.join("rules.yaml");
    std::fs::write(&file, serde_json::json!({ "groups": groups }).to_string()).expect("write");
    let text = promtool(&["check", "rules", "rules.yaml"], &dir);
    let count = alerts(&groups).len();
    assert!(
        text.contains(&format!("SUCCESS: {count} rules found")),
        "{text}"
    );
}

#[test]
fn every_alert_fires_when_it_should_and_not_otherwise() {
    let groups = rendered_groups();
    let names = alerts(&groups);
    let fixture = format!("{ROOT}/tests/fixtures/promtool/alerts_test.yaml");
    let tests: Value =
        serde_norway::from_str(&std::fs::read_to_string(&fixture).expect("fixture")).expect("YAML");
    // Each alert has a case where it fires and a case where it must stay quiet.
    let mut fires = BTreeMap::<String, bool>::new();
    let mut quiet = BTreeMap::<String, bool>::new();
    for case in tests["tests"].as_array().expect("tests") {
        for check in case["alert_rule_test"].as_array().expect("alert_rule_test") {
            let name = check["alertname"].as_str().expect("alertname").to_string();
            let expected = check["exp_alerts"].as_array().map_or(0, Vec::len);
            if expected > 0 {
                fires.insert(name, true);
            } else {
                quiet.insert(name, true);
            }
        }
    }
    for name in names.keys() {
        assert!(
            fires.contains_key(name),
            "no promtool case where {name} fires"
        );
        assert!(
            quiet.contains_key(name),
            "no promtool case where {name} stays quiet"
        );
    }
    assert!(
        fires.keys().all(|n| names.contains_key(n)),
        "tests of unknown alerts: {fires:?}"
    );

    // Annotations are templates checked by `check rules` and below; `test rules` would
    // compare their expansions too, so the logic is tested on a copy without them.
    let mut bare = groups.clone();
    for group in bare.as_array_mut().expect("groups") {
        for rule in group["rules"].as_array_mut().expect("rules") {
            rule.as_object_mut().expect("rule").remove("annotations");
        }
    }
    let dir = workdir("test");
    std::fs::write(
        dir.join("rules.yaml"),
        serde_json::json!({ "groups": bare }).to_string(),
    )
    .expect("write");
    std::fs::copy(&fixture, dir.join("alerts_test.yaml")).expect("copy");
    let text = promtool(&["test", "rules", "alerts_test.yaml"], &dir);
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn every_alert_has_severity_summary_description_and_a_runbook() {
    let names = alerts(&rendered_groups());
    assert!(names.len() >= 15, "{:?}", names.keys());
    for (name, rule) in &names {
        assert!(
            matches!(
                rule["labels"]["severity"].as_str(),
                Some("critical" | "warning")
            ),
            "{name}: severity"
        );
        for key in ["summary", "description"] {
            assert!(
                rule["annotations"][key]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{name}: {key}"
            );
        }
        let url = format!("docs/runbooks/{name}.md");
        assert_eq!(
            rule["annotations"]["runbook_url"].as_str(),
            Some(url.as_str()),
            "{name}"
        );
        let runbook = std::fs::read_to_string(format!("{ROOT}/{url}"))
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        for section in [
            format!("# {name}"),
            "## Meaning".into(),
            "## Confirm".into(),
            "## Act".into(),
        ] {
            assert!(runbook.contains(&section), "{url} lacks {section:?}");
        }
        assert!(
            runbook.contains("kubectl") && runbook.contains("zookeeper-operator probe"),
            "{url}: how to confirm with kubectl and `zookeeper-operator probe`"
        );
    }
}
