//! The super-user Secret's I/O: read it by name, create it once if absent. Never updated
//! or regenerated: running members were started with its digest. So once known, the
//! password is kept in memory for the cluster (by uid) and the Secret read again only
//! every [`REREAD`], which still recreates it within that time if someone deletes it.
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};

use super::context::Context;
use super::error::{Error, Result};
use crate::build::super_secret::{password, super_secret, super_secret_name};
use crate::notify::SecretString;
use crate::validate::ValidCluster;
use crate::zk::digest::generate_password;

/// How long a password read from the Secret is used without reading it again.
pub const REREAD: Duration = Duration::from_secs(300);

/// The super-user password, creating the Secret first if it does not exist. Runs before
/// the StatefulSet is applied: its pods need the digest to start.
pub async fn ensure(ctx: &Context, valid: &ValidCluster) -> Result<String> {
    let known = ctx.super_passwords.lock().ok().and_then(|m| {
        m.get(&valid.uid)
            .filter(|(_, read)| read.elapsed() < REREAD)
            .map(|(p, _)| p.expose().to_string())
    });
    if let Some(password) = known {
        return Ok(password);
    }
    let password = read_or_create(ctx, valid).await?;
    if let Ok(mut m) = ctx.super_passwords.lock() {
        m.insert(
            valid.uid.clone(),
            (SecretString::new(password.clone()), Instant::now()),
        );
    }
    Ok(password)
}

async fn read_or_create(ctx: &Context, valid: &ValidCluster) -> Result<String> {
    let name = super_secret_name(&valid.name);
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &valid.namespace);
    let fetch = |source| Error::Fetch {
        what: format!("Secret {name}"),
        source,
    };
    if let Some(existing) = api.get_opt(&name).await.map_err(fetch)? {
        return password(&existing).ok_or_else(|| Error::SuperSecret(name.clone()));
    }
    let generated = generate_password().map_err(|_| Error::SuperSecret(name.clone()))?;
    match api
        .create(&PostParams::default(), &super_secret(valid, &generated))
        .await
    {
        Ok(_) => {
            tracing::info!(cluster = %valid.name, secret = %name, "created the super-user Secret");
            Ok(generated)
        }
        // Another operator instance created it first: theirs is the one the pods use.
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let existing = api.get(&name).await.map_err(fetch)?;
            password(&existing).ok_or_else(|| Error::SuperSecret(name.clone()))
        }
        Err(source) => Err(Error::Apply {
            what: format!("Secret {name}"),
            source,
        }),
    }
}
