//! Materialises a pod's volumes as host directories (bind-mounted into the containers by
//! the wrapper script) and keeps configMap/secret/projected contents current.

use super::automount::CA_CONFIG_MAP_MARKER;
use super::downward::PodFacts;
use super::refs::{self, KeyData};
use super::token::{self, Token};
use super::volume_files::{FileSpec, downward_files, key_files, safe_relative};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Volume};
use kube::{Api, Client};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Inputs that do not change while the pod runs.
pub struct VolumeContext<'a> {
    pub client: &'a Client,
    pub pod: &'a Pod,
    pub facts: &'a PodFacts,
    /// `<root>/pods/<uid>`; volumes live in its `volumes/` subdir.
    pub pod_dir: &'a Path,
    /// `<root>/pvcs`; a PVC's data dir is keyed by its uid so it outlives pods.
    pub pvc_root: &'a Path,
    pub ca_pem: &'a str,
}

/// Host dirs of a pod's volumes plus what was written into them.
#[derive(Default)]
pub struct VolumeSet {
    pub dirs: BTreeMap<String, PathBuf>,
    written: HashMap<String, BTreeSet<String>>,
    tokens: HashMap<(String, String), Token>,
}

/// Host dir of a PVC (shared with the PVC manager, which removes it with the claim).
pub fn pvc_dir(pvc_root: &Path, ns: &str, claim: &str, uid: &str) -> PathBuf {
    pvc_root.join(format!("{ns}_{claim}_{uid}"))
}

impl VolumeSet {
    /// Creates/refreshes every volume. `Err` is a human message (missing ConfigMap, unbound
    /// claim, unsupported type) shown while the pod waits in ContainerCreating.
    pub async fn sync(
        &mut self,
        ctx: &VolumeContext<'_>,
        volumes: &[Volume],
    ) -> Result<(), String> {
        for v in volumes {
            self.sync_one(ctx, v).await?;
        }
        Ok(())
    }

    async fn sync_one(&mut self, ctx: &VolumeContext<'_>, v: &Volume) -> Result<(), String> {
        let ns = ctx.pod.metadata.namespace.clone().unwrap_or_default();
        let own_dir = ctx.pod_dir.join("volumes").join(&v.name);
        if let Some(claim) = &v.persistent_volume_claim {
            let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &ns);
            let pvc = api
                .get_opt(&claim.claim_name)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("persistentvolumeclaim {:?} not found", claim.claim_name))?;
            let uid = pvc.metadata.uid.unwrap_or_default();
            let dir = pvc_dir(ctx.pvc_root, &ns, &claim.claim_name, &uid);
            return self.plain_dir(&v.name, dir);
        }
        if v.empty_dir.is_some() {
            return self.plain_dir(&v.name, own_dir);
        }
        if let Some(hp) = &v.host_path {
            let create = matches!(
                hp.type_.as_deref(),
                Some("DirectoryOrCreate") | None | Some("")
            );
            let path = PathBuf::from(&hp.path);
            if create && !path.exists() {
                std::fs::create_dir_all(&path).map_err(|e| format!("hostPath {}: {e}", hp.path))?;
            }
            self.dirs.insert(v.name.clone(), path);
            return Ok(());
        }
        let files = self.content_files(ctx, &ns, v).await?;
        self.write_files(&v.name, &own_dir, files)?;
        self.dirs.insert(v.name.clone(), own_dir);
        Ok(())
    }

    fn plain_dir(&mut self, name: &str, dir: PathBuf) -> Result<(), String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        self.dirs.insert(name.to_string(), dir);
        Ok(())
    }

    /// Files of the content volumes (configMap, secret, downwardAPI, projected).
    async fn content_files(
        &mut self,
        ctx: &VolumeContext<'_>,
        ns: &str,
        v: &Volume,
    ) -> Result<Vec<FileSpec>, String> {
        let err = |e: anyhow::Error| e.to_string();
        if let Some(cm) = &v.config_map {
            let data = refs::config_map(ctx.client, ns, &cm.name)
                .await
                .map_err(err)?;
            let what = format!("configmap {:?}", cm.name);
            return key_files(
                data.as_ref(),
                cm.items.as_deref(),
                cm.optional == Some(true),
                cm.default_mode,
                &what,
            );
        }
        if let Some(s) = &v.secret {
            let name = s.secret_name.clone().unwrap_or_default();
            let data = refs::secret(ctx.client, ns, &name).await.map_err(err)?;
            let what = format!("secret {name:?}");
            return key_files(
                data.as_ref(),
                s.items.as_deref(),
                s.optional == Some(true),
                s.default_mode,
                &what,
            );
        }
        if let Some(d) = &v.downward_api {
            return downward_files(
                ctx.pod,
                ctx.facts,
                d.items.as_deref().unwrap_or_default(),
                d.default_mode,
            );
        }
        let Some(p) = &v.projected else {
            return Err(format!("volume {:?}: unsupported volume type", v.name));
        };
        let mut files = Vec::new();
        for src in p.sources.iter().flatten() {
            if let Some(cm) = &src.config_map {
                let data = if cm.name == CA_CONFIG_MAP_MARKER {
                    Some(KeyData::from([(
                        "ca.crt".into(),
                        ctx.ca_pem.as_bytes().to_vec(),
                    )]))
                } else {
                    refs::config_map(ctx.client, ns, &cm.name)
                        .await
                        .map_err(err)?
                };
                let what = format!("configmap {:?}", cm.name);
                files.extend(key_files(
                    data.as_ref(),
                    cm.items.as_deref(),
                    cm.optional == Some(true),
                    p.default_mode,
                    &what,
                )?);
            } else if let Some(s) = &src.secret {
                let data = refs::secret(ctx.client, ns, &s.name).await.map_err(err)?;
                let what = format!("secret {:?}", s.name);
                files.extend(key_files(
                    data.as_ref(),
                    s.items.as_deref(),
                    s.optional == Some(true),
                    p.default_mode,
                    &what,
                )?);
            } else if let Some(d) = &src.downward_api {
                files.extend(downward_files(
                    ctx.pod,
                    ctx.facts,
                    d.items.as_deref().unwrap_or_default(),
                    p.default_mode,
                )?);
            } else if let Some(t) = &src.service_account_token {
                let key = (v.name.clone(), t.path.clone());
                let fresh = self
                    .tokens
                    .get(&key)
                    .filter(|tok| tok.refresh_at > Instant::now())
                    .cloned();
                let tok = match fresh {
                    Some(tok) => tok,
                    None => {
                        let tok = token::request(
                            ctx.client,
                            ctx.pod,
                            t.audience.as_deref(),
                            t.expiration_seconds,
                        )
                        .await
                        .map_err(|e| format!("requesting a service account token: {e}"))?;
                        self.tokens.insert(key, tok.clone());
                        tok
                    }
                };
                files.push(FileSpec {
                    path: t.path.clone(),
                    data: tok.token.into_bytes(),
                    mode: p.default_mode.map_or(0o644, |m| m as u32 & 0o7777),
                });
            } else {
                return Err(format!("volume {:?}: unsupported projection", v.name));
            }
        }
        Ok(files)
    }

    /// Writes changed files (new file + rename, so readers never see half a file) and removes
    /// files this volume no longer has.
    fn write_files(&mut self, name: &str, dir: &Path, files: Vec<FileSpec>) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let mut now = BTreeSet::new();
        for f in files {
            if !safe_relative(&f.path) {
                return Err(format!("volume {name:?}: invalid path {:?}", f.path));
            }
            let path = dir.join(&f.path);
            write_if_changed(&path, &f.data, f.mode)
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            now.insert(f.path);
        }
        for stale in self.written.get(name).into_iter().flatten() {
            if !now.contains(stale) {
                let _ = std::fs::remove_file(dir.join(stale));
            }
        }
        self.written.insert(name.to_string(), now);
        Ok(())
    }
}

fn write_if_changed(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let same_content = std::fs::read(path).is_ok_and(|old| old == data);
    let same_mode = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o7777 == mode);
    if same_content && same_mode {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.zk-testkit-tmp"));
    std::fs::write(&tmp, data)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, path)
}
