//! The service-account mount at /var/run/secrets/kubernetes.io/serviceaccount. A 1.20
//! apiserver's admission plugin normally injects it as a volume; when it did not (plugin
//! off) but automount is on for the pod and its ServiceAccount, the kubelet adds an
//! equivalent projected volume itself: TokenRequest token + ca.crt + namespace.

use k8s_openapi::api::core::v1::{
    ConfigMapProjection, DownwardAPIProjection, DownwardAPIVolumeFile, ObjectFieldSelector, Pod,
    ProjectedVolumeSource, ServiceAccount, ServiceAccountTokenProjection, Volume, VolumeMount,
    VolumeProjection,
};
use kube::{Api, Client};

pub const SA_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Name of the synthesized volume; the `ca.crt` it references is written by the kubelet
/// (see `volumes.rs`), not read from a ConfigMap.
pub const SYNTHETIC_VOLUME: &str = "kube-api-access-zk-testkit";
pub const CA_CONFIG_MAP_MARKER: &str = "zk-testkit-ca";

/// Whether the kubelet must add the SA volume: automount on and nothing mounted there yet.
pub async fn needs_synthetic(client: &Client, pod: &Pod) -> anyhow::Result<bool> {
    let Some(spec) = pod.spec.as_ref() else {
        return Ok(false);
    };
    if spec.automount_service_account_token == Some(false) {
        return Ok(false);
    }
    let already = spec.containers.iter().any(|c| {
        c.volume_mounts
            .iter()
            .flatten()
            .any(|m| m.mount_path.trim_end_matches('/') == SA_MOUNT_PATH)
    });
    if already {
        return Ok(false);
    }
    if spec.automount_service_account_token == Some(true) {
        return Ok(true);
    }
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let sa_name = spec
        .service_account_name
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".into());
    let sa = Api::<ServiceAccount>::namespaced(client.clone(), &ns)
        .get_opt(&sa_name)
        .await?;
    Ok(sa.is_some_and(|sa| sa.automount_service_account_token != Some(false)))
}

/// The projected volume a 1.22+ apiserver would inject (`kube-api-access-*`).
pub fn synthetic_volume() -> Volume {
    let namespace_file = DownwardAPIVolumeFile {
        path: "namespace".into(),
        field_ref: Some(ObjectFieldSelector {
            field_path: "metadata.namespace".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    Volume {
        name: SYNTHETIC_VOLUME.into(),
        projected: Some(ProjectedVolumeSource {
            default_mode: Some(0o644),
            sources: Some(vec![
                VolumeProjection {
                    service_account_token: Some(ServiceAccountTokenProjection {
                        path: "token".into(),
                        expiration_seconds: Some(3607),
                        audience: None,
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: CA_CONFIG_MAP_MARKER.into(),
                        items: None,
                        optional: None,
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    downward_api: Some(DownwardAPIProjection {
                        items: Some(vec![namespace_file]),
                    }),
                    ..Default::default()
                },
            ]),
        }),
        ..Default::default()
    }
}

pub fn synthetic_mount() -> VolumeMount {
    VolumeMount {
        name: SYNTHETIC_VOLUME.into(),
        mount_path: SA_MOUNT_PATH.into(),
        read_only: Some(true),
        ..Default::default()
    }
}
