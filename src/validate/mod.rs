//! Pure validation of a `ZookeeperCluster`: the same checks as the CRD schema (and more),
//! so an invalid spec on any server ends in `InvalidSpec` rather than a broken ensemble.
mod immutable;
mod names;
mod notifications;
mod quantity;
mod receivers;
mod restart;
mod rules;
mod server;

pub use immutable::check_immutable;
pub use notifications::{check_notifications, check_receivers};
pub use quantity::parse_quantity;
pub use restart::{INVALID_RESTART_REQUEST, RestartRequest, restart_request, template_stamp};
pub use server::check_server_support;

use crate::api::{ZookeeperCluster, ZookeeperClusterSpec};

/// One offending field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path from the resource root, e.g. `spec.config.extra.dataDir`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValidationError {
    /// The spec breaks one or more rules; nothing is changed for it.
    #[error("invalid spec: {}", join(.0))]
    InvalidSpec(Vec<FieldError>),
    /// The resource lacks metadata the API server always sets (name, namespace, uid).
    #[error("the resource has no {0}")]
    MissingMetadata(&'static str),
}

impl ValidationError {
    /// The Event reason and condition reason for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidSpec(_) => "InvalidSpec",
            Self::MissingMetadata(_) => "MissingMetadata",
        }
    }
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A legal but unwise choice in a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecWarning {
    /// The Event reason, e.g. `EvenReplicas`.
    pub reason: &'static str,
    pub message: String,
}

/// A cluster whose spec passed validation, with the values builders need already parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidCluster {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub generation: Option<i64>,
    pub spec: ZookeeperClusterSpec,
    /// JVM heap in bytes: `spec.jvm.heap`, else derived from the memory limit.
    pub heap_bytes: Option<u64>,
    /// Legal but unwise choices, reported as Warning Events and in condition messages.
    pub warnings: Vec<SpecWarning>,
    /// The restart-on-demand stamp the pod template carries (see `restart`); set by the
    /// controller, which knows the live StatefulSet.
    pub restart_requested_at: Option<String>,
}

impl ValidCluster {
    /// With the restart request resolved against the live StatefulSet; its warning, if
    /// any, joins the others.
    pub fn with_restart(mut self, request: RestartRequest) -> Self {
        self.restart_requested_at = request.stamp;
        self.warnings.extend(request.warning);
        self
    }
}

/// Validates a cluster fetched from the API server.
pub fn validate(cluster: &ZookeeperCluster) -> Result<ValidCluster, ValidationError> {
    let meta = &cluster.metadata;
    let name = meta
        .name
        .clone()
        .ok_or(ValidationError::MissingMetadata("name"))?;
    let namespace = meta
        .namespace
        .clone()
        .ok_or(ValidationError::MissingMetadata("namespace"))?;
    let uid = meta
        .uid
        .clone()
        .ok_or(ValidationError::MissingMetadata("uid"))?;

    let mut errors = rules::check_name(&name);
    errors.extend(rules::check_spec(&cluster.spec));
    if !errors.is_empty() {
        return Err(ValidationError::InvalidSpec(errors));
    }
    Ok(ValidCluster {
        heap_bytes: rules::heap_bytes(&cluster.spec),
        warnings: rules::warnings(&cluster.spec),
        name,
        namespace,
        uid,
        generation: meta.generation,
        spec: cluster.spec.clone(),
        restart_requested_at: None,
    })
}

#[cfg(test)]
pub(crate) mod tests;
