//! Which members run an older pod template than the StatefulSet's update revision.
use super::observation::{MemberPod, RolloutObservation};

/// What differs between a pod and the template, for the operator's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChangeKind {
    /// zoo.cfg or scripts (the template's config-hash annotation).
    Configuration,
    /// The ZooKeeper container's image.
    Image,
    /// Anything else in the template (resources, JVM flags, placement...).
    #[default]
    Template,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Configuration => "configuration changed",
            Self::Image => "image changed",
            Self::Template => "pod template changed",
        }
    }
}

/// Classifies a change from the pod's and the template's config hash and image. The
/// image wins: it is the bigger change for the member.
pub fn change_kind(
    pod_hash: Option<&str>,
    template_hash: Option<&str>,
    pod_image: Option<&str>,
    template_image: Option<&str>,
) -> ChangeKind {
    if pod_image != template_image {
        ChangeKind::Image
    } else if pod_hash != template_hash {
        ChangeKind::Configuration
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
