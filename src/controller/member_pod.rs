//! Restarting a member is deleting its pod; the StatefulSet creates it again. Recovery and
//! the rolling restart both do it, the same way.
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, DeleteParams, Preconditions};

/// Deletes pod `name` only while it is still incarnation `uid`: a delete repeated after an
/// operator restart can never take the replacement pod. The grace period is the pod's
/// own, so ZooKeeper gets its SIGTERM and time to close sessions.
pub(super) async fn delete_incarnation(
    client: &Client,
    namespace: &str,
    name: &str,
    uid: &str,
) -> kube::Result<()> {
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    gone_is_fine(pods.delete(name, &params).await)
}

/// A delete that finds the object gone, or replaced (uid precondition failed, 409), has
/// nothing left to do.
pub(super) fn gone_is_fine<T>(result: kube::Result<T>) -> kube::Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}
