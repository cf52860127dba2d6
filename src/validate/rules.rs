//! The rules a spec must follow, each naming the field it checks.
use k8s_openapi::api::core::v1::ResourceRequirements;

use super::names::{
    is_dns_label, is_dns_subdomain, is_image_repository, is_image_tag, is_label_value,
    is_qualified_name,
};
use super::quantity::parse_quantity;
use super::{FieldError, SpecWarning};
use crate::api::{
    MAX_EXTRA_ENTRIES, MAX_EXTRA_VALUE_LEN, MAX_NAME_LEN, OPERATOR_OWNED_KEYS,
    OPERATOR_OWNED_PREFIXES, TYPED_ZOO_CFG_KEYS, ZookeeperClusterSpec,
};
use crate::build::labels::SELECTOR_LABEL_KEYS;

pub fn check_name(name: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !is_dns_label(name) {
        errors.push(FieldError::new(
            "metadata.name",
            "must be a DNS label (lower-case alphanumerics and '-')",
        ));
    } else if name.len() > MAX_NAME_LEN {
        errors.push(FieldError::new(
            "metadata.name",
            format!(
                "must be at most {MAX_NAME_LEN} characters so pod and service names stay valid"
            ),
        ));
    }
    errors
}

pub fn check_spec(spec: &ZookeeperClusterSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut fail = |field: &str, message: String| errors.push(FieldError::new(field, message));

    if !(1..=255).contains(&spec.replicas) {
        fail(
            "spec.replicas",
            format!("must be between 1 and 255, got {}", spec.replicas),
        );
    }
    if let Some(max) = spec.pdb.max_unavailable
        && !(0..=255).contains(&max)
    {
        fail(
            "spec.pdb.maxUnavailable",
            format!("must be between 0 and 255, got {max}"),
        );
    }
    if !is_image_repository(&spec.image.repository) {
        fail(
            "spec.image.repository",
            format!(
                "'{}' is not an image repository (no tag; lower case)",
                spec.image.repository
            ),
        );
    }
    if !is_image_tag(&spec.image.tag) {
        fail(
            "spec.image.tag",
            format!("'{}' is not an image tag or sha256 digest", spec.image.tag),
        );
    }
    for (i, secret) in spec.image.pull_secrets.iter().enumerate() {
        if !is_dns_subdomain(&secret.name) {
            fail(
                &format!("spec.image.pullSecrets[{i}].name"),
                "must be a Secret name".into(),
            );
        }
    }

    match parse_quantity(&spec.storage.size.0) {
        Some(0) | None => fail(
            "spec.storage.size",
            format!(
                "'{}' is not a positive quantity such as 10Gi",
                spec.storage.size.0
            ),
        ),
        Some(_) => {}
    }
    if let Some(class) = &spec.storage.storage_class_name
        && !is_dns_subdomain(class)
    {
        fail(
            "spec.storage.storageClassName",
            format!("'{class}' is not a valid name"),
        );
    }

    check_config(spec, &mut fail);
    check_resources(spec, &mut fail);
    check_pod(spec, &mut fail);
    check_recovery(spec, &mut fail);
    check_rollout(spec, &mut fail);

    for (field, timing) in [
        ("spec.probes.readiness", &spec.probes.readiness),
        ("spec.probes.liveness", &spec.probes.liveness),
    ] {
        let ranges = [
            ("initialDelaySeconds", timing.initial_delay_seconds, 0, 3600),
            ("periodSeconds", timing.period_seconds, 1, 3600),
            ("timeoutSeconds", timing.timeout_seconds, 1, 3600),
            ("failureThreshold", timing.failure_threshold, 1, 100),
        ];
        for (name, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                fail(
                    &format!("{field}.{name}"),
                    format!("must be between {min} and {max}, got {value}"),
                );
            }
        }
    }
    if !is_dns_subdomain(&spec.cluster_domain) {
        fail(
            "spec.clusterDomain",
            format!("'{}' is not a DNS domain", spec.cluster_domain),
        );
    }
    if let Some(notifications) = &spec.notifications {
        errors.extend(super::notifications::check_notifications(notifications));
    }
    errors
}

/// The same bounds as the schema (for servers that skip it), and backoff bounds in order.
fn check_recovery(spec: &ZookeeperClusterSpec, fail: &mut impl FnMut(&str, String)) {
    let r = &spec.recovery;
    let ranges = [
        (
            "notServingAfterSeconds",
            r.not_serving_after_seconds,
            1,
            86400,
        ),
        ("notReadyAfterSeconds", r.not_ready_after_seconds, 1, 86400),
        (
            "leaderlessAfterSeconds",
            r.leaderless_after_seconds,
            1,
            86400,
        ),
        ("restartTimeoutSeconds", r.restart_timeout_seconds, 1, 86400),
        ("backoffInitialSeconds", r.backoff_initial_seconds, 1, 86400),
        ("backoffMaxSeconds", r.backoff_max_seconds, 1, 86400),
        ("maxRestarts", r.max_restarts, 1, 100),
        ("windowSeconds", r.window_seconds, 60, 604800),
    ];
    for (name, value, min, max) in ranges {
        if let Some(value) = value.filter(|v| !(min..=max).contains(v)) {
            fail(
                &format!("spec.recovery.{name}"),
                format!("must be between {min} and {max}, got {value}"),
            );
        }
    }
    if let (Some(initial), Some(max)) = (r.backoff_initial_seconds, r.backoff_max_seconds)
        && max < initial
    {
        fail(
            "spec.recovery.backoffMaxSeconds",
            format!("must be at least backoffInitialSeconds ({initial}), got {max}"),
        );
    }
}

fn check_rollout(spec: &ZookeeperClusterSpec, fail: &mut impl FnMut(&str, String)) {
    use crate::api::{MAX_STEP_TIMEOUT_SECONDS, MIN_STEP_TIMEOUT_SECONDS};
    let range = MIN_STEP_TIMEOUT_SECONDS..=MAX_STEP_TIMEOUT_SECONDS;
    if let Some(value) = spec
        .rollout
        .step_timeout_seconds
        .filter(|v| !range.contains(v))
    {
        fail(
            "spec.rollout.stepTimeoutSeconds",
            format!(
                "must be between {MIN_STEP_TIMEOUT_SECONDS} and {MAX_STEP_TIMEOUT_SECONDS}, got {value}"
            ),
        );
    }
}

fn check_config(spec: &ZookeeperClusterSpec, fail: &mut impl FnMut(&str, String)) {
    let c = &spec.config;
    let ranges = [
        ("spec.config.tickTime", c.tick_time, 100, 60_000),
        ("spec.config.initLimit", c.init_limit, 1, 1000),
        ("spec.config.syncLimit", c.sync_limit, 1, 1000),
        ("spec.config.maxClientCnxns", c.max_client_cnxns, 0, 100_000),
        (
            "spec.config.autopurgeSnapRetainCount",
            c.autopurge_snap_retain_count,
            3,
            1000,
        ),
        (
            "spec.config.autopurgePurgeInterval",
            c.autopurge_purge_interval,
            0,
            8760,
        ),
    ];
    for (field, value, min, max) in ranges {
        if !(min..=max).contains(&value) {
            fail(
                field,
                format!("must be between {min} and {max}, got {value}"),
            );
        }
    }
    for (field, value) in [
        ("spec.config.minSessionTimeout", c.min_session_timeout),
        ("spec.config.maxSessionTimeout", c.max_session_timeout),
    ] {
        if let Some(v) = value
            && v < 1
        {
            fail(field, format!("must be positive, got {v}"));
        }
    }
    if let (Some(min), Some(max)) = (c.min_session_timeout, c.max_session_timeout)
        && min > max
    {
        fail(
            "spec.config.minSessionTimeout",
            format!("must not exceed maxSessionTimeout ({min} > {max})"),
        );
    }
    if c.extra.len() > MAX_EXTRA_ENTRIES {
        fail(
            "spec.config.extra",
            format!(
                "must have at most {MAX_EXTRA_ENTRIES} entries, got {}",
                c.extra.len()
            ),
        );
    }
    for (key, value) in &c.extra {
        let field = format!("spec.config.extra.{key}");
        if OPERATOR_OWNED_KEYS.contains(&key.as_str())
            || OPERATOR_OWNED_PREFIXES.iter().any(|p| key.starts_with(p))
        {
            fail(
                &field,
                format!("'{key}' is set by the operator and cannot be overridden"),
            );
        } else if let Some((_, typed)) = TYPED_ZOO_CFG_KEYS.iter().find(|(k, _)| k == key) {
            fail(&field, format!("'{key}' has a typed field: use {typed}"));
        } else if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            fail(
                &field,
                "keys may hold only letters, digits, '.', '_' and '-'".into(),
            );
        }
        if value.contains(['\n', '\r']) {
            fail(&field, "values must be a single line".into());
        }
        if value.len() > MAX_EXTRA_VALUE_LEN {
            fail(
                &field,
                format!("values must be at most {MAX_EXTRA_VALUE_LEN} bytes"),
            );
        }
    }
}

fn check_resources(spec: &ZookeeperClusterSpec, fail: &mut impl FnMut(&str, String)) {
    let limit = memory(spec.resources.as_ref(), |r| r.limits.as_ref());
    let request = memory(spec.resources.as_ref(), |r| r.requests.as_ref());
    for (field, parsed) in [
        ("spec.resources.limits.memory", &limit),
        ("spec.resources.requests.memory", &request),
    ] {
        if let Some(Err(text)) = parsed {
            fail(field, format!("'{text}' is not a quantity"));
        }
    }
    if let (Some(Ok(limit)), Some(Ok(request))) = (&limit, &request)
        && request > limit
    {
        fail(
            "spec.resources.requests.memory",
            "must not exceed the memory limit".into(),
        );
    }
    if let Some(heap) = &spec.jvm.heap {
        match parse_quantity(&heap.0) {
            None | Some(0) => fail(
                "spec.jvm.heap",
                format!("'{}' is not a positive quantity", heap.0),
            ),
            Some(heap) => {
                if let Some(Ok(limit)) = limit
                    && heap >= limit
                {
                    fail(
                        "spec.jvm.heap",
                        "must be below the memory limit (the JVM needs room beyond the heap)"
                            .into(),
                    );
                }
            }
        }
    }
    for (i, flag) in spec.jvm.extra_flags.iter().enumerate() {
        if flag.contains(['\n', '\r', '\'', '"']) || flag.trim().is_empty() {
            fail(
                &format!("spec.jvm.extraFlags[{i}]"),
                "must be one non-empty flag without quotes or newlines".into(),
            );
        }
    }
}

type Parsed = Option<Result<u128, String>>;

fn memory(
    resources: Option<&ResourceRequirements>,
    pick: impl Fn(
        &ResourceRequirements,
    ) -> Option<
        &std::collections::BTreeMap<
            String,
            k8s_openapi::apimachinery::pkg::api::resource::Quantity,
        >,
    >,
) -> Parsed {
    let q = resources.and_then(pick)?.get("memory")?;
    Some(parse_quantity(&q.0).ok_or_else(|| q.0.clone()))
}

fn check_pod(spec: &ZookeeperClusterSpec, fail: &mut impl FnMut(&str, String)) {
    let pod = &spec.pod;
    for (key, value) in &pod.labels {
        let field = format!("spec.pod.labels.{key}");
        if SELECTOR_LABEL_KEYS.contains(&key.as_str()) {
            fail(
                &field,
                "is set by the operator to select the cluster's pods".into(),
            );
        } else if !is_qualified_name(key) || !is_label_value(value) {
            fail(&field, format!("'{key}: {value}' is not a valid label"));
        }
    }
    for key in pod.annotations.keys() {
        if !is_qualified_name(key) {
            fail(
                &format!("spec.pod.annotations.{key}"),
                format!("'{key}' is not a valid annotation key"),
            );
        }
    }
    for (key, value) in &pod.node_selector {
        if !is_qualified_name(key) || !is_label_value(value) {
            fail(
                &format!("spec.pod.nodeSelector.{key}"),
                format!("'{key}: {value}' is not a valid selector"),
            );
        }
    }
    if let Some(name) = &pod.priority_class_name
        && !is_dns_subdomain(name)
    {
        fail(
            "spec.pod.priorityClassName",
            format!("'{name}' is not a valid name"),
        );
    }
    if let Some(name) = &pod.service_account_name
        && !is_dns_subdomain(name)
    {
        fail(
            "spec.pod.serviceAccountName",
            format!("'{name}' is not a valid name"),
        );
    }
}

/// The heap: explicit, or 3/4 of the memory limit (the rest is for off-heap JVM memory
/// and thread stacks), rounded down to whole MiB.
pub fn heap_bytes(spec: &ZookeeperClusterSpec) -> Option<u64> {
    let bytes = match &spec.jvm.heap {
        Some(heap) => parse_quantity(&heap.0)?,
        None => match memory(spec.resources.as_ref(), |r| r.limits.as_ref())? {
            Ok(limit) => limit / 4 * 3,
            Err(_) => return None,
        },
    };
    let mib = u64::try_from(bytes >> 20).ok()?;
    (mib > 0).then_some(mib << 20)
}

pub fn warnings(spec: &ZookeeperClusterSpec) -> Vec<SpecWarning> {
    let mut warnings = Vec::new();
    if spec.replicas % 2 == 0 {
        warnings.push(SpecWarning {
            reason: "EvenReplicas",
            message: format!(
                "replicas is even ({}): it tolerates no more failures than {} members",
                spec.replicas,
                spec.replicas - 1
            ),
        });
    }
    // A budget set wider than the ensemble's tolerance lets one drain take the quorum
    // (the default of one is left alone: with one or two members nothing else works).
    let tolerated = spec.replicas - (spec.replicas / 2 + 1);
    if spec.pdb.enabled() && spec.pdb.max_unavailable.is_some_and(|m| m > tolerated) {
        warnings.push(SpecWarning {
            reason: "PdbAllowsQuorumLoss",
            message: format!(
                "pdb.maxUnavailable is {} but {} members tolerate only {tolerated} down: a node drain may take the quorum",
                spec.pdb.max_unavailable(),
                spec.replicas
            ),
        });
    }
    warnings
}
