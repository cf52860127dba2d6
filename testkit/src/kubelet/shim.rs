//! Installs the shim bin dir that is put first on every ZooKeeper container's PATH, making
//! Debian's ZooKeeper 3.8 look like the official image: `zkServer.sh`, `zkCli.sh`,
//! `docker-entrypoint.sh` and `java`.

use anyhow::{Context, bail};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const ZOOKEEPER_JAR: &str = "/usr/share/java/zookeeper.jar";
/// zookeeper.jar's manifest Class-Path brings the rest (netty, jetty, slf4j-api, ...); the
/// manifest lacks jute and any slf4j binding, and slf4j-simple is what gives stdout logs.
const CLASSPATH: &[&str] = &[
    ZOOKEEPER_JAR,
    "/usr/share/java/zookeeper-jute.jar",
    "/usr/share/java/slf4j-simple.jar",
];
const JAVA: &str = "/usr/bin/java";

const SCRIPTS: &[(&str, &str)] = &[
    ("zkServer.sh", include_str!("shim/zkServer.sh")),
    ("zkCli.sh", include_str!("shim/zkCli.sh")),
    (
        "docker-entrypoint.sh",
        include_str!("shim/docker-entrypoint.sh"),
    ),
];

/// Writes the shims into `<root>/shim/bin` and returns that dir. Fails with an install hint
/// when Debian's ZooKeeper or Java is missing, rather than letting pods crash-loop later.
pub fn install(root: &Path) -> anyhow::Result<PathBuf> {
    for needed in CLASSPATH.iter().chain([&JAVA]) {
        if !Path::new(needed).exists() {
            bail!(
                "{needed} is missing: install Debian's ZooKeeper and Java \
                 (apt-get install zookeeper default-jre-headless libslf4j-java)"
            );
        }
    }
    let bin = root.join("shim/bin");
    std::fs::create_dir_all(&bin).with_context(|| format!("creating {}", bin.display()))?;
    let classpath = CLASSPATH.join(":");
    for (name, text) in SCRIPTS {
        let path = bin.join(name);
        std::fs::write(&path, text.replace("@CLASSPATH@", &classpath))
            .with_context(|| format!("writing {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    let java = bin.join("java");
    if !java.exists() {
        std::os::unix::fs::symlink(JAVA, &java).context("linking the java shim")?;
    }
    Ok(bin)
}
