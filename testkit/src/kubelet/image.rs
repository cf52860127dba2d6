//! What an image name means to the process kubelet: which local program runs and with
//! which image-level defaults (ENTRYPOINT, CMD, ENV), following the Docker/Kubernetes rule
//! that `command` replaces the entrypoint and `args` replaces the CMD.

use std::path::{Path, PathBuf};

/// A runnable image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Image {
    /// Official-`zookeeper`-image look-alike backed by Debian's ZooKeeper and the shims.
    ZooKeeper,
    /// The operator binary built from the checkout.
    Operator(PathBuf),
}

/// Maps an image name; `Err` is the message shown in the container's waiting state.
pub fn classify(image: &str, operator_binary: Option<&Path>) -> Result<Image, String> {
    let repo = image_repository(image);
    if repo.contains("zookeeper-operator") {
        return match operator_binary {
            Some(p) => Ok(Image::Operator(p.to_path_buf())),
            None => Err(format!(
                "image {image:?} maps to the operator binary, but this process kubelet was \
                 started without KubeletOptions::operator_binary"
            )),
        };
    }
    if repo.contains("zookeeper") {
        return Ok(Image::ZooKeeper);
    }
    Err(format!(
        "image {image:?} is not available: the zk-testkit process kubelet only runs images \
         whose name contains \"zookeeper\" (Debian ZooKeeper) or \"zookeeper-operator\""
    ))
}

/// The repository path without registry host, tag or digest, so
/// `localhost:5000/zookeeper-operator:dev` and `zookeeper:3.9@sha256:...` classify by
/// their repository and a registry host named `zookeeper.example` does not count.
fn image_repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    // Docker's rule: the first component is a registry host if it has a dot or a port,
    // or is `localhost`.
    let path = match no_digest.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => rest,
        _ => no_digest,
    };
    let last_slash = path.rfind('/').map_or(0, |i| i + 1);
    match path[last_slash..].rfind(':') {
        Some(colon) => &path[..last_slash + colon],
        None => path,
    }
}

/// The process argv for a container of `image`, given the pod's command and args.
pub fn argv(image: &Image, shim_bin: &Path, command: &[String], args: &[String]) -> Vec<String> {
    match image {
        Image::ZooKeeper => {
            if !command.is_empty() {
                return command.iter().chain(args).cloned().collect();
            }
            let entrypoint = shim_bin.join("docker-entrypoint.sh").display().to_string();
            let cmd: Vec<String> = if args.is_empty() {
                vec!["zkServer.sh".into(), "start-foreground".into()]
            } else {
                args.to_vec()
            };
            std::iter::once(entrypoint).chain(cmd).collect()
        }
        Image::Operator(binary) => {
            let rest = command.iter().skip(1).chain(args).cloned();
            std::iter::once(binary.display().to_string())
                .chain(rest)
                .collect()
        }
    }
}

/// ENV baked into the image (the official zookeeper image's Dockerfile values).
pub fn image_env(image: &Image) -> Vec<(String, String)> {
    let pairs: &[(&str, &str)] = match image {
        Image::ZooKeeper => &[
            ("ZOO_CONF_DIR", "/conf"),
            ("ZOOCFGDIR", "/conf"),
            ("ZOO_DATA_DIR", "/data"),
            ("ZOO_DATA_LOG_DIR", "/datalog"),
            ("ZOO_LOG_DIR", "/logs"),
            ("ZOO_TICK_TIME", "2000"),
            ("ZOO_INIT_LIMIT", "5"),
            ("ZOO_SYNC_LIMIT", "2"),
            ("ZOO_AUTOPURGE_PURGEINTERVAL", "0"),
            ("ZOO_AUTOPURGE_SNAPRETAINCOUNT", "3"),
            ("ZOO_MAX_CLIENT_CNXNS", "60"),
            ("ZOO_STANDALONE_ENABLED", "true"),
            ("ZOO_ADMINSERVER_ENABLED", "true"),
        ],
        Image::Operator(_) => &[],
    };
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn classifies_by_repository() {
        let op = Path::new("/bin/op");
        assert_eq!(classify("zookeeper:3.9", None), Ok(Image::ZooKeeper));
        assert_eq!(
            classify("docker.io/library/zookeeper@sha256:abc", None),
            Ok(Image::ZooKeeper)
        );
        assert_eq!(
            classify("localhost:5000/zookeeper-operator:dev", Some(op)),
            Ok(Image::Operator(op.to_path_buf()))
        );
        assert!(classify("ghcr.io/x/zookeeper-operator:1", None).is_err());
        assert!(classify("busybox", Some(op)).is_err());
        // A registry host named zookeeper does not make any image a ZooKeeper image.
        assert!(classify("zookeeper.example:5000/nginx", None).is_err());
    }

    #[test]
    fn command_replaces_entrypoint_and_args_replace_cmd() {
        let shim = Path::new("/shim");
        let zk = Image::ZooKeeper;
        assert_eq!(
            argv(&zk, shim, &[], &[]),
            s(&[
                "/shim/docker-entrypoint.sh",
                "zkServer.sh",
                "start-foreground"
            ])
        );
        assert_eq!(
            argv(&zk, shim, &s(&["bash", "/scripts/start.sh"]), &s(&["x"])),
            s(&["bash", "/scripts/start.sh", "x"])
        );
        assert_eq!(
            argv(&zk, shim, &[], &s(&["zkServer.sh", "version"])),
            s(&["/shim/docker-entrypoint.sh", "zkServer.sh", "version"])
        );
        let op = Image::Operator(PathBuf::from("/target/op"));
        assert_eq!(
            argv(&op, shim, &s(&["/zookeeper-operator", "run"]), &s(&["--v"])),
            s(&["/target/op", "run", "--v"])
        );
        assert_eq!(
            argv(&op, shim, &[], &s(&["run"])),
            s(&["/target/op", "run"])
        );
    }
}
