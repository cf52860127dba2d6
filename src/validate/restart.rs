//! The restart annotation (`crate::api::RESTART_REQUESTED_AT_ANNOTATION`) resolved to the
//! value the pod template carries. A valid new value is taken as it is asked; anything
//! else (no annotation, an unparsable one) keeps what the live template already carries,
//! so removing the annotation or mistyping it restarts nothing.
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use super::SpecWarning;
use crate::api::{RESTART_REQUESTED_AT_ANNOTATION, ZookeeperCluster};

/// The Event reason (and warning) for an annotation that is not a timestamp.
pub const INVALID_RESTART_REQUEST: &str = "InvalidRestartRequest";

/// How much of a bad value the warning quotes (values can be long; Events are short).
const QUOTED: usize = 64;

/// The restart the pod template asks for, and a warning when the annotation is unusable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestartRequest {
    /// The timestamp on the pod template, normalised (`2026-12-07T15:04:05Z`), so one
    /// instant written two ways is one restart.
    pub stamp: Option<String>,
    pub warning: Option<SpecWarning>,
}

pub fn restart_request(cluster: &ZookeeperCluster, live: Option<&StatefulSet>) -> RestartRequest {
    // What the members run on: the live template's stamp; only without a StatefulSet
    // (being re-created) the one status recorded. A template that lost its stamp gets
    // none back, so a removed or unparsable annotation never restarts anyone.
    let kept = || match live {
        Some(_) => template_stamp(live),
        None => cluster.status.as_ref()?.restarted_at.clone(),
    };
    let Some(raw) = cluster.annotations().get(RESTART_REQUESTED_AT_ANNOTATION) else {
        return RestartRequest {
            stamp: kept(),
            warning: None,
        };
    };
    match raw.trim().parse::<Timestamp>() {
        Ok(at) => RestartRequest {
            stamp: Some(at.to_string()),
            warning: None,
        },
        Err(_) => RestartRequest {
            stamp: kept(),
            warning: Some(SpecWarning {
                reason: INVALID_RESTART_REQUEST,
                message: format!(
                    "metadata.annotations[{RESTART_REQUESTED_AT_ANNOTATION}]: {:?} is not an \
                     RFC 3339 timestamp (such as 2026-12-07T15:04:05Z); nothing is restarted",
                    raw.chars().take(QUOTED).collect::<String>()
                ),
            }),
        },
    }
}

/// The restart stamp the live StatefulSet's pod template carries.
pub fn template_stamp(live: Option<&StatefulSet>) -> Option<String> {
    live?
        .spec
        .as_ref()?
        .template
        .metadata
        .as_ref()?
        .annotations
        .as_ref()?
        .get(RESTART_REQUESTED_AT_ANNOTATION)
        .cloned()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::apps::v1::StatefulSetSpec;
    use k8s_openapi::api::core::v1::PodTemplateSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;
    use crate::api::ZookeeperClusterStatus;

    fn cluster(annotation: Option<&str>, restarted_at: Option<&str>) -> ZookeeperCluster {
        let mut c = crate::validate::tests::cluster("{}");
        if let Some(value) = annotation {
            c.metadata.annotations = Some(BTreeMap::from([(
                RESTART_REQUESTED_AT_ANNOTATION.to_string(),
                value.to_string(),
            )]));
        }
        c.status = Some(ZookeeperClusterStatus {
            restarted_at: restarted_at.map(str::to_string),
            ..ZookeeperClusterStatus::default()
        });
        c
    }

    fn live(stamp: &str) -> StatefulSet {
        StatefulSet {
            spec: Some(StatefulSetSpec {
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        annotations: Some(BTreeMap::from([(
                            RESTART_REQUESTED_AT_ANNOTATION.to_string(),
                            stamp.to_string(),
                        )])),
                        ..ObjectMeta::default()
                    }),
                    spec: None,
                },
                ..StatefulSetSpec::default()
            }),
            ..StatefulSet::default()
        }
    }

    #[test]
    fn a_timestamp_is_taken_normalised() {
        let r = restart_request(&cluster(Some(" 2026-12-07T16:04:05+01:00 "), None), None);
        assert_eq!(r.stamp.as_deref(), Some("2026-12-07T15:04:05Z"));
        assert_eq!(r.warning, None);
        // A new request wins over the one the template carries.
        let sts = live("2026-12-01T00:00:00Z");
        let r = restart_request(&cluster(Some("2026-12-07T15:04:05Z"), None), Some(&sts));
        assert_eq!(r.stamp.as_deref(), Some("2026-12-07T15:04:05Z"));
    }

    #[test]
    fn no_annotation_keeps_what_the_template_carries() {
        let sts = live("2026-12-01T00:00:00Z");
        let r = restart_request(&cluster(None, None), Some(&sts));
        assert_eq!(r.stamp.as_deref(), Some("2026-12-01T00:00:00Z"));
        // No StatefulSet (recreated): the last restart recorded in status.
        let r = restart_request(&cluster(None, Some("2026-11-30T00:00:00Z")), None);
        assert_eq!(r.stamp.as_deref(), Some("2026-11-30T00:00:00Z"));
        assert_eq!(
            restart_request(&cluster(None, None), None),
            RestartRequest::default()
        );
    }

    #[test]
    fn an_unparsable_value_is_named_and_restarts_nothing() {
        let sts = live("2026-12-01T00:00:00Z");
        let r = restart_request(&cluster(Some("yesterday"), None), Some(&sts));
        assert_eq!(r.stamp.as_deref(), Some("2026-12-01T00:00:00Z"), "kept");
        let warning = r.warning.expect("a warning");
        assert_eq!(warning.reason, INVALID_RESTART_REQUEST);
        assert!(
            warning.message.starts_with(
                "metadata.annotations[zookeeper.ensemble.dev/restart-requested-at]: \"yesterday\""
            ),
            "{}",
            warning.message
        );
        let long = "x".repeat(1000);
        let r = restart_request(&cluster(Some(&long), None), None);
        assert_eq!(r.stamp, None);
        assert!(r.warning.expect("warning").message.len() < 300);
    }

    /// A live template without a stamp (edited by hand, or written by an older
    /// operator) gets none from status: removing the annotation restarts nobody.
    #[test]
    fn a_template_without_a_stamp_gets_none_from_status() {
        let mut sts = live("unused");
        if let Some(meta) = sts.spec.as_mut().and_then(|s| s.template.metadata.as_mut()) {
            meta.annotations = None;
        }
        let done = cluster(None, Some("2026-11-30T00:00:00Z"));
        assert_eq!(restart_request(&done, Some(&sts)).stamp, None);
        let bad = cluster(Some("yesterday"), Some("2026-11-30T00:00:00Z"));
        assert_eq!(restart_request(&bad, Some(&sts)).stamp, None);
    }
}
