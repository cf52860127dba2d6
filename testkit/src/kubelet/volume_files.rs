//! Pure: which files a configMap / secret / downwardAPI / projected volume holds, given the
//! fetched data. Writing them is `volumes.rs`'s job.

use super::downward::{PodFacts, field_value, resource_value};
use super::refs::KeyData;
use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, Pod};

/// One file of a volume, relative to the volume dir.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    pub path: String,
    pub data: Vec<u8>,
    pub mode: u32,
}

/// Kubernetes' default file mode for configMap/secret/downwardAPI/projected volumes.
pub const DEFAULT_MODE: i32 = 0o644;

/// Files of a ConfigMap or Secret: all keys, or just `items` (key -> path, per-item mode).
/// A missing object is an error unless `optional`; so is an item naming a missing key.
pub fn key_files(
    data: Option<&KeyData>,
    items: Option<&[KeyToPath]>,
    optional: bool,
    default_mode: Option<i32>,
    what: &str,
) -> Result<Vec<FileSpec>, String> {
    let mode = mode_bits(default_mode.unwrap_or(DEFAULT_MODE));
    let Some(data) = data else {
        return if optional {
            Ok(Vec::new())
        } else {
            Err(format!("{what} not found"))
        };
    };
    match items {
        Some(items) if !items.is_empty() => items
            .iter()
            .filter_map(|item| match data.get(&item.key) {
                Some(bytes) => Some(Ok(FileSpec {
                    path: item.path.clone(),
                    data: bytes.clone(),
                    mode: item.mode.map_or(mode, mode_bits),
                })),
                None if optional => None,
                None => Some(Err(format!("{what}: key {:?} not found", item.key))),
            })
            .collect(),
        _ => Ok(data
            .iter()
            .map(|(k, v)| FileSpec {
                path: k.clone(),
                data: v.clone(),
                mode,
            })
            .collect()),
    }
}

/// Files of a downwardAPI volume (or projection).
pub fn downward_files(
    pod: &Pod,
    facts: &PodFacts,
    items: &[DownwardAPIVolumeFile],
    default_mode: Option<i32>,
) -> Result<Vec<FileSpec>, String> {
    let mode = mode_bits(default_mode.unwrap_or(DEFAULT_MODE));
    items
        .iter()
        .map(|item| {
            let value = if let Some(f) = &item.field_ref {
                field_value(pod, facts, &f.field_path)?
            } else if let Some(r) = &item.resource_field_ref {
                let name = r.container_name.as_deref().unwrap_or_default();
                let container = pod
                    .spec
                    .iter()
                    .flat_map(|s| s.containers.iter())
                    .find(|c| c.name == name)
                    .ok_or_else(|| format!("downwardAPI: no container {name:?}"))?;
                resource_value(container, facts, &r.resource, r.divisor.as_ref())?
            } else {
                return Err(format!("downwardAPI item {:?} has no source", item.path));
            };
            Ok(FileSpec {
                path: item.path.clone(),
                data: value.into_bytes(),
                mode: item.mode.map_or(mode, mode_bits),
            })
        })
        .collect()
}

/// A path inside a volume must stay inside it.
pub fn safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path.split('/').all(|c| c != ".." && !c.is_empty())
}

fn mode_bits(mode: i32) -> u32 {
    (mode as u32) & 0o7777
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> KeyData {
        KeyData::from([
            ("zoo.cfg".into(), b"tickTime=2000".to_vec()),
            ("start.sh".into(), b"#!/bin/bash".to_vec()),
        ])
    }

    #[test]
    fn all_keys_with_default_mode() {
        let files = key_files(Some(&data()), None, false, None, "cm").expect("files");
        assert_eq!(files.len(), 2);
        assert!(files.iter().all(|f| f.mode == 0o644));
    }

    #[test]
    fn items_select_rename_and_set_modes() {
        let items = [KeyToPath {
            key: "start.sh".into(),
            path: "bin/start.sh".into(),
            mode: Some(0o755),
        }];
        let files =
            key_files(Some(&data()), Some(&items), false, Some(0o600), "cm").expect("files");
        assert_eq!(
            files,
            vec![FileSpec {
                path: "bin/start.sh".into(),
                data: b"#!/bin/bash".to_vec(),
                mode: 0o755
            }]
        );
    }

    #[test]
    fn missing_objects_and_keys() {
        assert!(key_files(None, None, false, None, "cm").is_err());
        assert_eq!(key_files(None, None, true, None, "cm"), Ok(vec![]));
        let items = [KeyToPath {
            key: "nope".into(),
            path: "x".into(),
            mode: None,
        }];
        assert!(key_files(Some(&data()), Some(&items), false, None, "cm").is_err());
    }

    #[test]
    fn rejects_escaping_paths() {
        assert!(safe_relative("a/b"));
        assert!(!safe_relative("../etc/passwd"));
        assert!(!safe_relative("/abs"));
    }
}
