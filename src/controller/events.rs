//! Kubernetes Events through the one shared recorder: notices from status transitions,
//! and quorum-health transitions with the member's pod as the related object.
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::runtime::events::{Event, EventType};

use super::context::Context;
use crate::api::ZookeeperCluster;
use crate::health::{Formation, MemberId, Transition};
use crate::status::{self, notices::Notice};
use crate::validate::ValidCluster;

/// Tells each quorum-health transition once, naming the member's pod.
pub async fn tell_transitions(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    valid: &ValidCluster,
    transitions: &[Transition],
) {
    for transition in transitions {
        let pod = transition_member(transition).map(|id| status::member_name(valid, id));
        let notice = Notice {
            warning: transition.is_warning(),
            reason: transition.reason().to_string(),
            message: match &pod {
                Some(pod) => format!("{pod}: {}", transition.message()),
                None => transition.message(),
            },
        };
        // The member's pod as the related object: Events about different members stay
        // apart (the recorder folds repeats of one reason per object pair into a series).
        let related = pod.map(|name| pod_ref(valid, name));
        publish_related(ctx, cluster, &notice, related).await;
    }
}

/// An Event decided by act (what it did to a member), told by report.
#[derive(Debug, Clone)]
pub struct Told {
    pub notice: Notice,
    /// The member's pod, so Events about different members stay apart.
    pub related: Option<ObjectReference>,
}

/// Tells act's Events, in the order act decided them.
pub async fn tell_all(ctx: &Context, cluster: &ZookeeperCluster, told: &[Told]) {
    for t in told {
        publish_related(ctx, cluster, &t.notice, t.related.clone()).await;
    }
}

/// A member's pod as an Event's related object.
pub fn pod_ref(valid: &ValidCluster, name: String) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Pod".into()),
        name: Some(name),
        namespace: Some(valid.namespace.clone()),
        ..ObjectReference::default()
    }
}

/// The member a transition is about, if one.
fn transition_member(transition: &Transition) -> Option<MemberId> {
    match transition {
        Transition::MemberDown { member, .. }
        | Transition::MemberRecovered { member, .. }
        | Transition::MemberStarting { member, .. }
        | Transition::MemberJoined { member, .. }
        | Transition::LeaderElected { member, .. }
        | Transition::FollowerLagging { member, .. }
        | Transition::Overloaded { member, .. } => Some(*member),
        _ => None,
    }
}

pub async fn publish(ctx: &Context, cluster: &ZookeeperCluster, notice: &Notice) {
    publish_related(ctx, cluster, notice, None).await;
}

pub async fn publish_related(
    ctx: &Context,
    cluster: &ZookeeperCluster,
    notice: &Notice,
    secondary: Option<ObjectReference>,
) {
    let event = Event {
        type_: if notice.warning {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: notice.reason.clone(),
        note: Some(truncate(&notice.message)),
        action: "Reconcile".to_string(),
        secondary,
    };
    // An Event that cannot be written is logged, never a reason to fail the reconcile.
    if let Err(error) = ctx.recorder.publish(&event, &cluster.object_ref(&())).await {
        tracing::warn!(%error, reason = %notice.reason, "cannot publish an event");
    }
}

/// Event notes are limited to 1 kB.
pub fn truncate(text: &str) -> String {
    if text.len() <= 1000 {
        return text.to_string();
    }
    let mut end = 1000;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Where the cluster stands in its first formation (until every member served once).
pub fn formation(cluster: &ZookeeperCluster) -> Formation {
    let created = cluster
        .metadata
        .creation_timestamp
        .as_ref()
        .and_then(|t| u64::try_from(t.0.as_second()).ok());
    Formation::of(
        status::first_formation(cluster.status.as_ref()),
        created,
        crate::recovery::unix(std::time::SystemTime::now()),
    )
}
