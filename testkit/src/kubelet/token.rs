//! Bound service-account tokens through the TokenRequest API, as the kubelet gets them for
//! projected `serviceAccountToken` sources.

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount};
use kube::Client;
use kube::api::{Api, PostParams};
use std::time::{Duration, Instant};

/// A token and when to fetch a new one (80 % of its lifetime, like the kubelet).
#[derive(Clone, Debug)]
pub struct Token {
    pub token: String,
    pub refresh_at: Instant,
}

pub async fn request(
    client: &Client,
    pod: &Pod,
    audience: Option<&str>,
    expiration_seconds: Option<i64>,
) -> anyhow::Result<Token> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let sa = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".into());
    let api: Api<ServiceAccount> = Api::namespaced(client.clone(), &ns);
    let ttl = expiration_seconds.unwrap_or(3600).max(600);
    let req = TokenRequest {
        spec: TokenRequestSpec {
            audiences: audience.map(|a| vec![a.to_string()]).unwrap_or_default(),
            expiration_seconds: Some(ttl),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
            }),
        },
        ..Default::default()
    };
    let issued = Instant::now();
    let resp = api
        .create_token_request(&sa, &PostParams::default(), &req)
        .await?;
    let token = resp
        .status
        .map(|s| s.token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| anyhow::anyhow!("TokenRequest for {ns}/{sa} returned no token"))?;
    Ok(Token {
        token,
        refresh_at: issued + Duration::from_secs((ttl as u64) * 4 / 5),
    })
}
