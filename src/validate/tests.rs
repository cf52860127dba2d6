//! Table tests: every invalid spec is rejected with an error naming its field.
use super::*;
use crate::api::ZookeeperCluster;

/// A cluster from YAML as a user would write it (defaults applied by serde, as the API
/// server applies them from the schema).
pub(crate) fn cluster(spec_yaml: &str) -> ZookeeperCluster {
    let yaml = format!(
        "apiVersion: zookeeper.ensemble.dev/v1alpha1\nkind: ZookeeperCluster\nmetadata:\n  name: zk\n  namespace: ns\n  uid: 1234\n  generation: 1\nspec:\n{}",
        spec_yaml
            .lines()
            .map(|l| format!("  {l}\n"))
            .collect::<String>()
    );
    serde_norway::from_str(&yaml).unwrap_or_else(|e| panic!("fixture does not parse: {e}\n{yaml}"))
}

#[test]
fn defaults_are_valid() {
    let valid = validate(&cluster("{}")).expect("defaults must validate");
    assert_eq!(valid.spec.replicas, 3);
    assert_eq!(valid.heap_bytes, None);
    assert!(valid.warnings.is_empty());
    assert_eq!(valid.spec.rollout.step_timeout_seconds(), 600);
}

#[test]
fn invalid_specs_name_their_field() {
    let cases: &[(&str, &str)] = &[
        ("replicas: 0", "spec.replicas"),
        ("replicas: 256", "spec.replicas"),
        ("replicas: -3", "spec.replicas"),
        ("image: {repository: ''}", "spec.image.repository"),
        (
            "image: {repository: 'zookeeper:3.9'}",
            "spec.image.repository",
        ),
        ("image: {repository: 'Zookeeper'}", "spec.image.repository"),
        ("image: {tag: '3.9 beta'}", "spec.image.tag"),
        ("image: {tag: 'sha256:abc'}", "spec.image.tag"),
        (
            "image: {pullSecrets: [{name: 'Bad_Name'}]}",
            "spec.image.pullSecrets[0].name",
        ),
        ("storage: {size: 'ten gigs'}", "spec.storage.size"),
        ("storage: {size: '0'}", "spec.storage.size"),
        (
            "storage: {storageClassName: 'Fast SSD'}",
            "spec.storage.storageClassName",
        ),
        ("config: {tickTime: 10}", "spec.config.tickTime"),
        ("config: {initLimit: 0}", "spec.config.initLimit"),
        ("config: {syncLimit: 5000}", "spec.config.syncLimit"),
        ("config: {maxClientCnxns: -1}", "spec.config.maxClientCnxns"),
        (
            "config: {autopurgeSnapRetainCount: 2}",
            "spec.config.autopurgeSnapRetainCount",
        ),
        (
            "config: {autopurgePurgeInterval: -1}",
            "spec.config.autopurgePurgeInterval",
        ),
        (
            "config: {minSessionTimeout: 0}",
            "spec.config.minSessionTimeout",
        ),
        (
            "config: {minSessionTimeout: 9000, maxSessionTimeout: 4000}",
            "spec.config.minSessionTimeout",
        ),
        (
            "config: {extra: {dataDir: /tmp}}",
            "spec.config.extra.dataDir",
        ),
        (
            "config: {extra: {clientPort: '2182'}}",
            "spec.config.extra.clientPort",
        ),
        (
            "config: {extra: {server.7: 'evil:2888:3888'}}",
            "spec.config.extra.server.7",
        ),
        (
            "config: {extra: {4lw.commands.whitelist: '*'}}",
            "spec.config.extra.4lw.commands.whitelist",
        ),
        (
            "config: {extra: {skipACL: 'yes'}}",
            "spec.config.extra.skipACL",
        ),
        (
            "config: {extra: {tickTime: '3000'}}",
            "spec.config.extra.tickTime",
        ),
        (
            "config: {extra: {'bad key': 'x'}}",
            "spec.config.extra.bad key",
        ),
        (
            "config: {extra: {jute.maxbuffer: \"1\\nserver.9=x\"}}",
            "spec.config.extra.jute.maxbuffer",
        ),
        (
            "resources: {limits: {memory: 'lots'}}",
            "spec.resources.limits.memory",
        ),
        (
            "resources: {limits: {memory: 1Gi}, requests: {memory: 2Gi}}",
            "spec.resources.requests.memory",
        ),
        ("jvm: {heap: 'big'}", "spec.jvm.heap"),
        ("recovery: {maxRestarts: 0}", "spec.recovery.maxRestarts"),
        (
            "rollout: {stepTimeoutSeconds: 5}",
            "spec.rollout.stepTimeoutSeconds",
        ),
        (
            "rollout: {stepTimeoutSeconds: 86401}",
            "spec.rollout.stepTimeoutSeconds",
        ),
        (
            "recovery: {windowSeconds: 10}",
            "spec.recovery.windowSeconds",
        ),
        (
            "recovery: {backoffInitialSeconds: 60, backoffMaxSeconds: 30}",
            "spec.recovery.backoffMaxSeconds",
        ),
        (
            "resources: {limits: {memory: 1Gi}}\njvm: {heap: 1Gi}",
            "spec.jvm.heap",
        ),
        ("jvm: {extraFlags: [\"-Dx='y'\"]}", "spec.jvm.extraFlags[0]"),
        (
            "pod: {labels: {app.kubernetes.io/instance: other}}",
            "spec.pod.labels.app.kubernetes.io/instance",
        ),
        ("pod: {labels: {team: 'has space'}}", "spec.pod.labels.team"),
        (
            "pod: {annotations: {'bad key!': x}}",
            "spec.pod.annotations.bad key!",
        ),
        (
            "pod: {nodeSelector: {'disk type': ssd}}",
            "spec.pod.nodeSelector.disk type",
        ),
        (
            "pod: {priorityClassName: 'High_Priority'}",
            "spec.pod.priorityClassName",
        ),
        (
            "pod: {serviceAccountName: 'ZK'}",
            "spec.pod.serviceAccountName",
        ),
        (
            "probes: {readiness: {periodSeconds: 0}}",
            "spec.probes.readiness.periodSeconds",
        ),
        (
            "probes: {liveness: {failureThreshold: 0}}",
            "spec.probes.liveness.failureThreshold",
        ),
        ("clusterDomain: 'Cluster Local'", "spec.clusterDomain"),
    ];
    assert!(cases.len() >= 20);
    for (spec, field) in cases {
        match validate(&cluster(spec)) {
            Err(ValidationError::InvalidSpec(errors)) => {
                assert!(
                    errors.iter().any(|e| e.field == *field),
                    "spec `{spec}`: expected an error for {field}, got {errors:?}"
                );
                let message = ValidationError::InvalidSpec(errors.clone()).to_string();
                assert!(
                    message.contains(field),
                    "message names the field: {message}"
                );
            }
            other => panic!("spec `{spec}` should be invalid ({field}), got {other:?}"),
        }
    }
}

#[test]
fn names_too_long_for_derived_objects_are_rejected() {
    let mut c = cluster("{}");
    c.metadata.name = Some("z".repeat(53));
    let err = validate(&c).expect_err("53 characters is too long");
    assert!(err.to_string().contains("metadata.name"));
    c.metadata.name = Some("z".repeat(52));
    assert!(validate(&c).is_ok());
}

#[test]
fn missing_uid_is_reported_not_panicked() {
    let mut c = cluster("{}");
    c.metadata.uid = None;
    assert_eq!(validate(&c), Err(ValidationError::MissingMetadata("uid")));
}

#[test]
fn even_replicas_warn_but_validate() {
    let valid = validate(&cluster("replicas: 4")).expect("4 is allowed");
    assert_eq!(valid.warnings.len(), 1);
    assert_eq!(valid.warnings[0].reason, "EvenReplicas");
    assert!(
        valid.warnings[0].message.contains("even"),
        "{:?}",
        valid.warnings
    );
}

#[test]
fn a_pdb_wider_than_the_tolerance_warns_and_a_negative_one_is_refused() {
    let wide = validate(&cluster("pdb: {maxUnavailable: 2}")).expect("allowed");
    assert_eq!(wide.warnings.len(), 1, "{:?}", wide.warnings);
    assert_eq!(wide.warnings[0].reason, "PdbAllowsQuorumLoss");
    assert!(
        wide.warnings[0]
            .message
            .contains("3 members tolerate only 1 down")
    );
    // Five members tolerate two; zero blocks drains but is allowed; the default (one)
    // never warns, even with one member; disabled never warns.
    for fine in [
        "{replicas: 5, pdb: {maxUnavailable: 2}}",
        "pdb: {maxUnavailable: 0}",
        "replicas: 1",
        "pdb: {enabled: false, maxUnavailable: 3}",
    ] {
        let valid = validate(&cluster(fine)).expect(fine);
        assert!(valid.warnings.is_empty(), "{fine}: {:?}", valid.warnings);
    }
    let Err(ValidationError::InvalidSpec(errors)) = validate(&cluster("pdb: {maxUnavailable: -1}"))
    else {
        panic!("a negative budget is refused");
    };
    assert_eq!(errors[0].field, "spec.pdb.maxUnavailable");
}

#[test]
fn heap_is_three_quarters_of_the_memory_limit_unless_set() {
    let derived = validate(&cluster("resources: {limits: {memory: 2Gi}}")).expect("valid");
    assert_eq!(derived.heap_bytes, Some(1536 << 20));
    let explicit = validate(&cluster(
        "resources: {limits: {memory: 2Gi}}\njvm: {heap: 1Gi}",
    ))
    .expect("valid");
    assert_eq!(explicit.heap_bytes, Some(1 << 30));
}

#[test]
fn storage_cannot_change_under_a_live_statefulset() {
    use crate::build::{Membership, ServerCapabilities, desired_objects};
    let original =
        validate(&cluster("storage: {storageClassName: fast, size: 5Gi}")).expect("valid");
    let sts = desired_objects(
        &original,
        ServerCapabilities {
            policy_v1: true,
            minor: Some(33),
        },
        &Membership::of_spec(&original),
    )
    .statefulset;

    let same = cluster("storage: {storageClassName: fast, size: 5Gi}");
    assert!(check_immutable(&same.spec, Some(&sts)).is_empty());

    let cases = [
        (
            "storage: {storageClassName: slow, size: 5Gi}",
            "spec.storage.storageClassName",
        ),
        ("storage: {size: 5Gi}", "spec.storage.storageClassName"),
        (
            "storage: {storageClassName: fast, size: 6Gi}",
            "spec.storage.size",
        ),
        (
            "storage: {mode: Ephemeral, storageClassName: fast, size: 5Gi}",
            "spec.storage.mode",
        ),
    ];
    for (spec, field) in cases {
        let errors = check_immutable(&cluster(spec).spec, Some(&sts));
        assert!(
            errors.iter().any(|e| e.field == field),
            "{spec}: {errors:?}"
        );
    }
    assert!(check_immutable(&cluster("storage: {storageClassName: slow}").spec, None).is_empty());
}

#[test]
fn invalid_notifications_name_their_field() {
    let hook = "webhook: {urlSecret: {name: hooks, key: url}}";
    let cases: &[(String, &str)] = &[
        (
            format!("notifications: {{receivers: [{{name: a, {hook}}}, {{name: a, {hook}}}]}}"),
            "spec.notifications.receivers[1].name",
        ),
        (
            "notifications: {receivers: [{name: a}]}".to_string(),
            "spec.notifications.receivers[0]",
        ),
        (
            format!(
                "notifications: {{receivers: [{{name: a, {hook}, slack: {{urlSecret: {{name: s, key: u}}}}}}]}}"
            ),
            "spec.notifications.receivers[0]",
        ),
        (
            format!("notifications: {{receivers: [{{name: Bad_Name, {hook}}}]}}"),
            "spec.notifications.receivers[0].name",
        ),
        (
            "notifications: {receivers: [{name: a, webhook: {urlSecret: {name: 'Not A Secret', key: url}}}]}".to_string(),
            "spec.notifications.receivers[0].webhook.urlSecret.name",
        ),
        (
            "notifications: {receivers: [{name: a, dingtalk: {urlSecret: {name: d, key: url}, signingSecret: {name: d, key: 'bad key!'}}}]}".to_string(),
            "spec.notifications.receivers[0].dingtalk.signingSecret.key",
        ),
        (
            "notifications: {receivers: [{name: m, email: {smarthost: 'mail.example', from: a@b.c, to: [x@y.z]}}]}".to_string(),
            "spec.notifications.receivers[0].email.smarthost",
        ),
        (
            "notifications: {receivers: [{name: m, email: {smarthost: 'mail:25', from: 'not-an-address', to: [x@y.z]}}]}".to_string(),
            "spec.notifications.receivers[0].email.from",
        ),
        (
            "notifications: {receivers: [{name: m, email: {smarthost: 'mail:25', from: a@b.c, to: [x@y.z], passwordSecret: {name: p, key: pw}}}]}".to_string(),
            "spec.notifications.receivers[0].email.username",
        ),
        (
            "notifications: {receivers: [{name: m, email: {smarthost: 'mail:25', from: a@b.c, to: [x@y.z], tls: None, caSecret: {name: ca, key: ca.crt}}}]}".to_string(),
            "spec.notifications.receivers[0].email.caSecret",
        ),
        (
            "notifications: {receivers: [{name: m, email: {smarthost: 'mail:465', from: a@b.c, to: [x@y.z], tls: Tls, caSecret: {name: 'Not A Secret', key: ca.crt}}}]}".to_string(),
            "spec.notifications.receivers[0].email.caSecret.name",
        ),
        (
            "notifications: {receivers: [{name: p, pagerduty: {routingKeySecret: {name: pd, key: key}, url: 'ftp://pd.example'}}]}".to_string(),
            "spec.notifications.receivers[0].pagerduty.url",
        ),
        (
            "notifications: {receivers: [{name: o, opsgenie: {apiKeySecret: {name: 'Not A Secret', key: key}}}]}".to_string(),
            "spec.notifications.receivers[0].opsgenie.apiKeySecret.name",
        ),
        (
            "notifications: {receivers: [{name: f, feishu: {urlSecret: {name: f, key: url}, signingSecret: {name: f, key: 'bad key!'}}}]}".to_string(),
            "spec.notifications.receivers[0].feishu.signingSecret.key",
        ),
        (
            "notifications: {receivers: [{name: t, teams: {urlSecret: {name: t, key: url}}, wecom: {urlSecret: {name: w, key: url}}}]}".to_string(),
            "spec.notifications.receivers[0]",
        ),
        (
            "notifications: {receivers: [{name: s, template: {urlSecret: {name: s, key: url}, body: '{% for a in alerts %}'}}]}".to_string(),
            "spec.notifications.receivers[0].template.body",
        ),
        (
            "notifications: {receivers: [{name: s, template: {urlSecret: {name: s, key: url}, body: 'ok', headers: {Content-Type: text/plain}}}]}".to_string(),
            "spec.notifications.receivers[0].template.headers.Content-Type",
        ),
        (
            "notifications: {forSeconds: -1}".to_string(),
            "spec.notifications.forSeconds",
        ),
        (
            "notifications: {repeatIntervalSeconds: 5}".to_string(),
            "spec.notifications.repeatIntervalSeconds",
        ),
    ];
    for (yaml, field) in cases {
        match validate(&cluster(yaml)) {
            Err(ValidationError::InvalidSpec(errors)) => assert!(
                errors.iter().any(|e| e.field == *field),
                "{yaml}: expected an error on {field}, got {errors:?}"
            ),
            other => panic!("{yaml}: expected InvalidSpec, got {other:?}"),
        }
    }
}

#[test]
fn a_full_notifications_spec_is_valid_with_defaults() {
    let valid = validate(&cluster(
        "notifications:\n  receivers:\n  - name: hook\n    webhook: {urlSecret: {name: hooks, key: url}, basicAuth: {username: u, passwordSecret: {name: hooks, key: pw}}}\n  - name: chat\n    minSeverity: Critical\n    slack: {urlSecret: {name: slack, key: url}}\n  - name: dd\n    dingtalk: {urlSecret: {name: dd, key: url}, signingSecret: {name: dd, key: secret}}\n  - name: mail\n    sendResolved: false\n    email: {smarthost: 'smtp.example.com:587', from: zk@example.com, to: [oncall@example.com], username: zk, passwordSecret: {name: smtp, key: password}, caSecret: {name: smtp, key: ca.crt}}",
    ))
    .expect("valid");
    let n = valid.spec.notifications.expect("set");
    assert!(n.use_default_receivers);
    assert_eq!((n.for_seconds, n.repeat_interval_seconds), (30, 14400));
    assert_eq!(n.receivers.len(), 4);
    assert_eq!(n.receivers[1].min_severity, crate::api::Severity::Critical);
    assert!(n.receivers[0].send_resolved && !n.receivers[3].send_resolved);
    assert_eq!(
        n.receivers[3].email.as_ref().map(|e| e.tls),
        Some(crate::api::SmtpTls::StartTls)
    );
}

#[test]
fn paging_chat_and_template_receivers_are_valid_with_defaults() {
    let valid = validate(&cluster(
        "notifications:\n  receivers:\n  - name: pd\n    pagerduty: {routingKeySecret: {name: pd, key: key}}\n  - name: og\n    opsgenie: {apiKeySecret: {name: og, key: key}, apiUrl: 'https://api.eu.opsgenie.com'}\n  - name: teams\n    teams: {urlSecret: {name: teams, key: url}}\n  - name: lark\n    feishu: {urlSecret: {name: lark, key: url}, signingSecret: {name: lark, key: secret}}\n  - name: wx\n    wecom: {urlSecret: {name: wx, key: url}}\n  - name: sms\n    template: {urlSecret: {name: sms, key: url}, body: '{\"text\": {{ title | tojson }}}'}",
    ))
    .expect("valid");
    let n = valid.spec.notifications.expect("set");
    assert_eq!(n.receivers.len(), 6);
    let pd = n.receivers[0].pagerduty.as_ref().expect("pagerduty");
    assert_eq!((pd.url.as_deref(), pd.timeout_seconds), (None, 10));
    let t = n.receivers[5].template.as_ref().expect("template");
    assert_eq!(t.content_type, "application/json");
}

#[test]
fn a_template_error_names_the_body_line_and_the_fix() {
    let yaml = "notifications: {receivers: [{name: s, template: {urlSecret: {name: s, key: url}, body: \"{\\n  \\\"text\\\": \\\"{{ alerts[0].annotations.summary }}\\\"\\n}\"}}]}";
    let Err(ValidationError::InvalidSpec(errors)) = validate(&cluster(yaml)) else {
        panic!("{yaml} must be invalid");
    };
    let e = errors
        .iter()
        .find(|e| e.field == "spec.notifications.receivers[0].template.body")
        .unwrap_or_else(|| panic!("{errors:?}"));
    assert!(
        e.message.contains("invalid JSON") && e.message.contains("tojson"),
        "{e:?}"
    );
    let yaml = "notifications: {receivers: [{name: s, template: {urlSecret: {name: s, key: url}, contentType: text/plain, body: \"a\\n{{ alerts[0].lables }}\"}}]}";
    let Err(ValidationError::InvalidSpec(errors)) = validate(&cluster(yaml)) else {
        panic!("{yaml} must be invalid");
    };
    assert!(
        errors.iter().any(
            |e| e.field == "spec.notifications.receivers[0].template.body"
                && e.message.starts_with("line 2:")
        ),
        "{errors:?}"
    );
}

#[test]
fn a_credential_in_a_plain_header_is_refused() {
    let yaml = "notifications: {receivers: [{name: s, template: {urlSecret: {name: s, key: url}, contentType: text/plain, body: ok, headers: {Authorization: Bearer abc}}}]}";
    let Err(ValidationError::InvalidSpec(errors)) = validate(&cluster(yaml)) else {
        panic!("{yaml} must be invalid");
    };
    assert!(
        errors.iter().any(|e| e.field
            == "spec.notifications.receivers[0].template.headers.Authorization"
            && e.message.contains("bearerTokenSecret")),
        "{errors:?}"
    );
}
