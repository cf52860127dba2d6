//! A container's environment, in the kubelet's order: image ENV, in-cluster service vars,
//! `envFrom`, then `env` with `$(VAR)` expansion against what came before.

use super::downward::{PodFacts, field_value, resource_value};
use super::expand::expand;
use super::refs::{self, KeyData};
use k8s_openapi::api::core::v1::{Container, Pod};
use kube::Client;
use std::collections::HashMap;

/// Everything env assembly needs besides the container itself.
pub struct EnvContext<'a> {
    pub pod: &'a Pod,
    pub facts: &'a PodFacts,
    pub image_env: Vec<(String, String)>,
    /// Prepended to PATH so the shims win over anything else.
    pub shim_bin: String,
    /// Where in-cluster clients reach the apiserver from inside the pod.
    pub api_host: String,
    pub api_port: u16,
}

/// Referenced ConfigMaps/Secrets by name; `None` = does not exist.
#[derive(Default)]
pub struct Fetched {
    pub config_maps: HashMap<String, Option<KeyData>>,
    pub secrets: HashMap<String, Option<KeyData>>,
}

const BASE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Fetches what `container` references, then assembles its env. `Err` is a
/// CreateContainerConfigError message.
pub async fn container_env(
    client: &Client,
    ctx: &EnvContext<'_>,
    container: &Container,
) -> Result<Vec<(String, String)>, String> {
    let ns = ctx.pod.metadata.namespace.clone().unwrap_or_default();
    let (cms, secrets) = referenced(container);
    let mut fetched = Fetched::default();
    for name in cms {
        let data = refs::config_map(client, &ns, &name)
            .await
            .map_err(|e| e.to_string())?;
        fetched.config_maps.insert(name, data);
    }
    for name in secrets {
        let data = refs::secret(client, &ns, &name)
            .await
            .map_err(|e| e.to_string())?;
        fetched.secrets.insert(name, data);
    }
    assemble(ctx, container, &fetched)
}

/// Names of ConfigMaps and Secrets used by `env` and `envFrom`.
fn referenced(c: &Container) -> (Vec<String>, Vec<String>) {
    let mut cms = Vec::new();
    let mut secrets = Vec::new();
    for from in c.env_from.iter().flatten() {
        if let Some(r) = &from.config_map_ref {
            cms.push(r.name.clone());
        }
        if let Some(r) = &from.secret_ref {
            secrets.push(r.name.clone());
        }
    }
    for var in c.env.iter().flatten() {
        if let Some(src) = &var.value_from {
            if let Some(r) = &src.config_map_key_ref {
                cms.push(r.name.clone());
            }
            if let Some(r) = &src.secret_key_ref {
                secrets.push(r.name.clone());
            }
        }
    }
    cms.sort();
    cms.dedup();
    secrets.sort();
    secrets.dedup();
    (cms, secrets)
}

/// Pure assembly; later entries override earlier ones, the order is kept for readability.
pub fn assemble(
    ctx: &EnvContext<'_>,
    c: &Container,
    fetched: &Fetched,
) -> Result<Vec<(String, String)>, String> {
    let mut env = Env::default();
    env.set("PATH", format!("{}:{BASE_PATH}", ctx.shim_bin));
    env.set("HOME", "/root".into());
    env.set("HOSTNAME", pod_hostname(ctx.pod));
    for (k, v) in &ctx.image_env {
        env.set(k, v.clone());
    }
    let (host, port) = (&ctx.api_host, ctx.api_port);
    env.set("KUBERNETES_SERVICE_HOST", host.clone());
    env.set("KUBERNETES_SERVICE_PORT", port.to_string());
    env.set("KUBERNETES_SERVICE_PORT_HTTPS", port.to_string());
    env.set("KUBERNETES_PORT", format!("tcp://{host}:{port}"));
    env.set(
        &format!("KUBERNETES_PORT_{port}_TCP"),
        format!("tcp://{host}:{port}"),
    );
    env.set(&format!("KUBERNETES_PORT_{port}_TCP_PROTO"), "tcp".into());
    env.set(
        &format!("KUBERNETES_PORT_{port}_TCP_PORT"),
        port.to_string(),
    );
    env.set(&format!("KUBERNETES_PORT_{port}_TCP_ADDR"), host.clone());

    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let (data, optional, what) = if let Some(r) = &from.config_map_ref {
            (
                fetched.config_maps.get(&r.name),
                r.optional,
                format!("configmap {:?}", r.name),
            )
        } else if let Some(r) = &from.secret_ref {
            (
                fetched.secrets.get(&r.name),
                r.optional,
                format!("secret {:?}", r.name),
            )
        } else {
            continue;
        };
        match data.and_then(Option::as_ref) {
            Some(map) => {
                for (k, v) in map {
                    env.set(
                        &format!("{prefix}{k}"),
                        String::from_utf8_lossy(v).into_owned(),
                    );
                }
            }
            None if optional == Some(true) => {}
            None => return Err(format!("{what} not found")),
        }
    }

    for var in c.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (_, Some(src)) => match value_from(ctx, c, fetched, src)? {
                Some(v) => v,
                None => continue,
            },
            (Some(v), None) => expand(v, |n| env.get(n)),
            (None, None) => String::new(),
        };
        env.set(&var.name, value);
    }

    // A pod that sets PATH still gets the shims first, or zkServer.sh would be Debian's.
    if let Some(path) = env.get("PATH").filter(|p| !p.starts_with(&ctx.shim_bin)) {
        env.set("PATH", format!("{}:{path}", ctx.shim_bin));
    }
    Ok(env.into_vec())
}

/// One `valueFrom`; `Ok(None)` = optional key missing, so the variable is not set.
fn value_from(
    ctx: &EnvContext<'_>,
    c: &Container,
    fetched: &Fetched,
    src: &k8s_openapi::api::core::v1::EnvVarSource,
) -> Result<Option<String>, String> {
    if let Some(f) = &src.field_ref {
        return field_value(ctx.pod, ctx.facts, &f.field_path).map(Some);
    }
    if let Some(r) = &src.resource_field_ref {
        let target = match r.container_name.as_deref() {
            Some(name) if !name.is_empty() && name != c.name => ctx
                .pod
                .spec
                .iter()
                .flat_map(|s| s.containers.iter())
                .find(|x| x.name == name)
                .ok_or_else(|| format!("resourceFieldRef: no container {name:?}"))?,
            _ => c,
        };
        return resource_value(target, ctx.facts, &r.resource, r.divisor.as_ref()).map(Some);
    }
    let (map, name, key, optional, what) = if let Some(r) = &src.config_map_key_ref {
        (
            &fetched.config_maps,
            &r.name,
            &r.key,
            r.optional,
            "configmap",
        )
    } else if let Some(r) = &src.secret_key_ref {
        (&fetched.secrets, &r.name, &r.key, r.optional, "secret")
    } else {
        return Err("unsupported valueFrom".into());
    };
    let value = map
        .get(name)
        .and_then(Option::as_ref)
        .and_then(|m| m.get(key));
    match value {
        Some(v) => Ok(Some(String::from_utf8_lossy(v).into_owned())),
        None if optional == Some(true) => Ok(None),
        None => Err(format!("couldn't find key {key} in {what} {name:?}")),
    }
}

/// The pod's hostname: `spec.hostname`, else its name (as the kubelet sets it).
pub fn pod_hostname(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.hostname.clone())
        .filter(|h| !h.is_empty())
        .or_else(|| pod.metadata.name.clone())
        .unwrap_or_default()
}

/// Ordered map: insertion order for reading, overwrite in place on redefinition.
#[derive(Default)]
struct Env(Vec<(String, String)>);

impl Env {
    fn set(&mut self, k: &str, v: String) {
        match self.0.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v,
            None => self.0.push((k.to_string(), v)),
        }
    }

    fn get(&self, k: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    }

    fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        ConfigMapKeySelector, EnvVar, EnvVarSource, ObjectFieldSelector, PodSpec,
    };

    fn facts() -> PodFacts {
        PodFacts {
            pod_ip: "10.244.1.5".into(),
            host_ip: "10.244.1.1".into(),
            node_name: "n".into(),
            node_cpu_cores: 2.0,
            node_memory_bytes: 1e9,
        }
    }

    fn var(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: Some(value.into()),
            value_from: None,
        }
    }

    fn get<'a>(env: &'a [(String, String)], k: &str) -> Option<&'a str> {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn assembles_in_kubelet_order() {
        let mut pod = Pod::default();
        pod.metadata.name = Some("zk-1".into());
        pod.spec = Some(PodSpec {
            hostname: Some("zk-1".into()),
            ..Default::default()
        });
        let facts = facts();
        let ctx = EnvContext {
            pod: &pod,
            facts: &facts,
            image_env: vec![("ZOO_CONF_DIR".into(), "/conf".into())],
            shim_bin: "/shim".into(),
            api_host: "kubernetes.default.svc".into(),
            api_port: 443,
        };
        let c = Container {
            name: "zk".into(),
            env: Some(vec![
                var("A", "x"),
                var("B", "$(A)-$(POD_IP)-$(ZOO_CONF_DIR)"),
                EnvVar {
                    name: "POD_IP".into(),
                    value: None,
                    value_from: Some(EnvVarSource {
                        field_ref: Some(ObjectFieldSelector {
                            field_path: "status.podIP".into(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                },
                var("PATH", "/opt/bin"),
                EnvVar {
                    name: "OPT".into(),
                    value: None,
                    value_from: Some(EnvVarSource {
                        config_map_key_ref: Some(ConfigMapKeySelector {
                            name: "missing".into(),
                            key: "k".into(),
                            optional: Some(true),
                        }),
                        ..Default::default()
                    }),
                },
            ]),
            ..Default::default()
        };
        let env = assemble(&ctx, &c, &Fetched::default()).expect("env");
        assert_eq!(
            get(&env, "B"),
            Some("x-$(POD_IP)-/conf"),
            "only earlier vars expand"
        );
        assert_eq!(get(&env, "POD_IP"), Some("10.244.1.5"));
        assert_eq!(get(&env, "HOSTNAME"), Some("zk-1"));
        assert_eq!(get(&env, "PATH"), Some("/shim:/opt/bin"));
        assert_eq!(get(&env, "KUBERNETES_SERVICE_PORT"), Some("443"));
        assert_eq!(get(&env, "OPT"), None);
    }

    #[test]
    fn missing_required_key_is_a_config_error() {
        let pod = Pod::default();
        let facts = facts();
        let ctx = EnvContext {
            pod: &pod,
            facts: &facts,
            image_env: vec![],
            shim_bin: "/shim".into(),
            api_host: "h".into(),
            api_port: 443,
        };
        let c = Container {
            name: "c".into(),
            env: Some(vec![EnvVar {
                name: "X".into(),
                value: None,
                value_from: Some(EnvVarSource {
                    config_map_key_ref: Some(ConfigMapKeySelector {
                        name: "cm".into(),
                        key: "k".into(),
                        optional: None,
                    }),
                    ..Default::default()
                }),
            }]),
            ..Default::default()
        };
        let err = assemble(&ctx, &c, &Fetched::default()).expect_err("missing key");
        assert!(err.contains("cm"), "{err}");
    }
}
