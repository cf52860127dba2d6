//! Turns a container's volumeMounts into bind-mount plans over the volumes' host dirs,
//! resolving subPath / subPathExpr the way the kubelet does (missing subPath dirs are
//! created; an existing file subPath is mounted as a file).

use super::expand::expand;
use super::volume_files::safe_relative;
use super::wrapper::MountPlan;
use k8s_openapi::api::core::v1::VolumeMount;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub fn plan(
    mounts: &[VolumeMount],
    volume_dirs: &BTreeMap<String, PathBuf>,
    env: &[(String, String)],
) -> Result<Vec<MountPlan>, String> {
    mounts
        .iter()
        .map(|m| {
            let base = volume_dirs
                .get(&m.name)
                .ok_or_else(|| format!("volumeMount {:?}: no such volume", m.name))?;
            let sub = match (&m.sub_path, &m.sub_path_expr) {
                (Some(p), _) if !p.is_empty() => Some(p.clone()),
                (_, Some(e)) if !e.is_empty() => Some(expand(e, |n| {
                    env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
                })),
                _ => None,
            };
            let host = match sub {
                Some(sub) => {
                    if !safe_relative(&sub) {
                        return Err(format!("volumeMount {:?}: invalid subPath {sub:?}", m.name));
                    }
                    let p = base.join(sub);
                    if !p.exists() {
                        std::fs::create_dir_all(&p)
                            .map_err(|e| format!("creating subPath {}: {e}", p.display()))?;
                    }
                    p
                }
                None => base.clone(),
            };
            Ok(MountPlan {
                is_file: host.is_file(),
                host,
                target: m.mount_path.clone(),
                read_only: m.read_only == Some(true),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_sub_paths_and_missing_volumes() {
        let dir = std::env::temp_dir().join(format!("zk-mounts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("zoo.cfg"), "x").expect("file");
        let vols = BTreeMap::from([("conf".to_string(), dir.clone())]);
        let m = |sub: Option<&str>, expr: Option<&str>| VolumeMount {
            name: "conf".into(),
            mount_path: "/conf/zoo.cfg".into(),
            sub_path: sub.map(String::from),
            sub_path_expr: expr.map(String::from),
            read_only: Some(true),
            ..Default::default()
        };
        let env = vec![("POD".to_string(), "zk-0".to_string())];
        let plans = plan(
            &[m(Some("zoo.cfg"), None), m(None, Some("$(POD)"))],
            &vols,
            &env,
        )
        .expect("plan");
        assert!(plans[0].is_file && plans[0].read_only);
        assert_eq!(plans[1].host, dir.join("zk-0"));
        assert!(!plans[1].is_file && dir.join("zk-0").is_dir());
        let bad = VolumeMount {
            name: "nope".into(),
            ..Default::default()
        };
        assert!(plan(&[bad], &vols, &env).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
