//! Gather's read of the super-user Secret (see `super_secret` for why it is never
//! regenerated).
use std::time::Instant;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

use super::super::context::Context;
use super::super::super_secret::{REREAD, SuperPassword};
use super::GatherError;
use crate::build::super_secret::{password, super_secret_name};
use crate::notify::SecretString;
use crate::validate::ValidCluster;
use crate::zk::digest::generate_password;

/// Gather: the password, from memory, the Secret, or generated when there is none.
pub async fn read(ctx: &Context, valid: &ValidCluster) -> Result<SuperPassword, GatherError> {
    if let Some(password) = ctx.super_password(&valid.uid, REREAD)? {
        return Ok(SuperPassword::new(password, false));
    }
    let name = super_secret_name(&valid.name);
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &valid.namespace);
    let existing = api
        .get_opt(&name)
        .await
        .map_err(|source| GatherError::Fetch {
            what: format!("Secret {name}"),
            source,
        })?;
    let Some(existing) = existing else {
        let generated = generate_password().map_err(|_| GatherError::SuperSecret(name))?;
        return Ok(SuperPassword::new(SecretString::new(generated), true));
    };
    let known = password(&existing).ok_or(GatherError::SuperSecret(name))?;
    ctx.remember_super_password(&valid.uid, SecretString::new(known.clone()), Instant::now())?;
    Ok(SuperPassword::new(SecretString::new(known), false))
}
