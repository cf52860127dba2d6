//! Which members run an older pod template than the StatefulSet's update revision.
use super::observation::{MemberPod, RolloutObservation};

/// What differs between a pod and the template, for the operator's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChangeKind {
    /// zoo.cfg or scripts (the template's config-hash annotation).
    Configuration,
    /// The ZooKeeper container's image.
    Image,
    /// A restart asked for with the restart annotation (the template's restart stamp).
    RestartRequested,
    /// Anything else in the template (resources, JVM flags, placement...).
    #[default]
    Template,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Configuration => "configuration changed",
            Self::Image => "image changed",
            Self::RestartRequested => "restart requested",
            Self::Template => "pod template changed",
        }
    }
}

/// The marks of a pod template the operator tells changes by (the pod's own, or the
/// StatefulSet's template's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TemplateMarks<'a> {
    pub config_hash: Option<&'a str>,
    pub image: Option<&'a str>,
    pub restart_stamp: Option<&'a str>,
}

/// Classifies a change from the pod's and the template's marks. The image wins (the
/// bigger change for the member), then the configuration, then a requested restart.
pub fn change_kind(pod: TemplateMarks<'_>, template: TemplateMarks<'_>) -> ChangeKind {
    if pod.image != template.image {
        ChangeKind::Image
    } else if pod.config_hash != template.config_hash {
        ChangeKind::Configuration
    } else if pod.restart_stamp != template.restart_stamp {
        ChangeKind::RestartRequested
    } else {
        ChangeKind::Template
    }
}

/// Live member pods whose revision is not the update revision, by member id. Nothing is
/// outdated while the update revision is unknown (a StatefulSet not yet observed).
pub fn outdated<'a>(obs: &RolloutObservation<'a>) -> Vec<&'a MemberPod> {
    let Some(revision) = obs.update_revision else {
        return Vec::new();
    };
    let mut out: Vec<&MemberPod> = obs
        .pods
        .iter()
        .filter(|p| !p.terminating && p.revision.as_deref() != Some(revision))
        .collect();
    out.sort_by_key(|p| p.id);
    out
}
