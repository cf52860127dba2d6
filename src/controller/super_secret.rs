//! The super-user Secret: read by name (`gather::secret`), created once if absent (here,
//! in act). Never updated or regenerated: running members were started with its digest.
//! So once known, the password is kept in memory for the cluster (by uid) and the Secret
//! read again only every [`REREAD`], which still recreates it within that time if
//! someone deletes it.
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};

use super::act::ActError;
use super::context::Context;
use crate::build::super_secret::{super_secret, super_secret_name};
use crate::notify::SecretString;
use crate::validate::ValidCluster;

/// How long a password read from the Secret is used without reading it again.
pub const REREAD: Duration = Duration::from_secs(300);

/// The password for this pass; `create`: the Secret does not exist yet and act creates
/// it with this (freshly generated) password before the StatefulSet is applied.
pub struct SuperPassword {
    password: SecretString,
    pub create: bool,
}

impl SuperPassword {
    pub fn new(password: SecretString, create: bool) -> Self {
        Self { password, create }
    }

    pub fn expose(&self) -> &str {
        self.password.expose()
    }
}

/// Act: creates the Secret with the generated password. Runs before the StatefulSet is
/// applied: its pods need the digest to start.
pub async fn create(
    ctx: &Context,
    valid: &ValidCluster,
    password: &SuperPassword,
) -> Result<(), ActError> {
    let name = super_secret_name(&valid.name);
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &valid.namespace);
    match api
        .create(
            &PostParams::default(),
            &super_secret(valid, password.expose()),
        )
        .await
    {
        Ok(_) => {
            tracing::info!(cluster = %valid.name, secret = %name, "created the super-user Secret");
            ctx.remember_super_password(
                &valid.uid,
                SecretString::new(password.expose().to_string()),
                Instant::now(),
            )?;
            Ok(())
        }
        // Another operator instance created it first: theirs is the one the pods get
        // (they read the digest from the Secret); the next pass reads its password.
        Err(kube::Error::Api(status)) if status.code == 409 => {
            tracing::info!(cluster = %valid.name, secret = %name, "the super-user Secret was created by another instance");
            Ok(())
        }
        Err(source) => Err(ActError::Apply {
            what: format!("Secret {name}"),
            source,
        }),
    }
}
