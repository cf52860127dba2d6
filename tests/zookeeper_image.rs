//! The ZooKeeper images the real node runs (testkit/scripts/build-zookeeper-image.sh) follow
//! the official image's recipe. The facts below are pinned from the official source:
//! repository 31z4/zookeeper-docker, `3.9.6/Dockerfile` (commit 4e8ac7d9e24e) and
//! `3.9.5/docker-entrypoint.sh` (commit adade28258c2): base eclipse-temurin:17-jre-jammy,
//! `groupadd -r zookeeper --gid=1000; useradd -r -g zookeeper --uid=1000 zookeeper`, the
//! ZOO_* `ENV` defaults, `/conf /data /datalog /logs` owned by zookeeper, the release's
//! `conf/*` moved into /conf, `WORKDIR $DISTRO_NAME`, `VOLUME [/data, /datalog, /logs]`,
//! `EXPOSE 2181 2888 3888 8080`, `PATH=$PATH:/$DISTRO_NAME/bin`, `ZOOCFGDIR=$ZOO_CONF_DIR`,
//! `ENTRYPOINT ["/docker-entrypoint.sh"]`, `CMD ["zkServer.sh", "start-foreground"]`, no
//! `USER` line. Checked here against the built archives' image config and layer, so the
//! look-alike cannot drift. Needs `testkit/scripts/install-deps.sh` (the archives).
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The official 3.9.6 Dockerfile's `ENV` lines, in order.
const OFFICIAL_ENV: [&str; 13] = [
    "ZOO_CONF_DIR=/conf",
    "ZOO_DATA_DIR=/data",
    "ZOO_DATA_LOG_DIR=/datalog",
    "ZOO_LOG_DIR=/logs",
    "ZOO_TICK_TIME=2000",
    "ZOO_INIT_LIMIT=5",
    "ZOO_SYNC_LIMIT=2",
    "ZOO_AUTOPURGE_PURGEINTERVAL=0",
    "ZOO_AUTOPURGE_SNAPRETAINCOUNT=3",
    "ZOO_MAX_CLIENT_CNXNS=60",
    "ZOO_STANDALONE_ENABLED=true",
    "ZOO_ADMINSERVER_ENABLED=true",
    "ZOOCFGDIR=/conf",
];

/// The newest complete image directory of the build script's cache.
fn images_dir() -> PathBuf {
    let cache = std::env::var("ZKOP_CACHE").unwrap_or("/var/cache/zookeeper-operator".into());
    let mut dirs: Vec<(std::time::SystemTime, PathBuf)> =
        std::fs::read_dir(format!("{cache}/zookeeper-images"))
            .expect("no ZooKeeper images: run testkit/scripts/install-deps.sh")
            .flatten()
            .map(|e| e.path())
            .filter(|d| {
                d.join("zookeeper-3.9.tar").is_file() && d.join("zookeeper-3.8.tar").is_file()
            })
            .filter_map(|d| Some((d.metadata().ok()?.modified().ok()?, d)))
            .collect();
    dirs.sort();
    dirs.pop()
        .expect("no complete ZooKeeper image build: run testkit/scripts/install-deps.sh")
        .1
}

fn tar_out(args: &[&str]) -> Vec<u8> {
    let out = Command::new("tar").args(args).output().expect("run tar");
    assert!(
        out.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

struct Image {
    manifest: Value,
    config: Value,
    /// `tar -tv --numeric-owner` of the layer: "mode uid/gid size date time path".
    listing: String,
    passwd: String,
}

fn image(minor: &str) -> Image {
    let archive = images_dir().join(format!("zookeeper-{minor}.tar"));
    let a = archive.to_str().expect("utf-8 path");
    let manifest: Value =
        serde_json::from_slice(&tar_out(&["-xOf", a, "manifest.json"])).expect("manifest");
    let config_file = manifest[0]["Config"].as_str().expect("Config").to_string();
    let layer = manifest[0]["Layers"][0]
        .as_str()
        .expect("layer")
        .to_string();
    let config: Value =
        serde_json::from_slice(&tar_out(&["-xOf", a, &config_file])).expect("config");
    let script = format!(
        "tar -xOf '{a}' '{layer}' | tar -tv --numeric-owner -f - ; \
         tar -xOf '{a}' '{layer}' | tar -xO -f - ./etc/passwd >&2"
    );
    let out = Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("list layer");
    assert!(out.status.success(), "listing the layer failed");
    Image {
        manifest,
        config,
        listing: String::from_utf8_lossy(&out.stdout).into_owned(),
        passwd: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn owner_of(listing: &str, path: &str) -> Option<String> {
    listing.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() >= 6 && f[5].trim_end_matches('/') == path).then(|| f[1].to_string())
    })
}

fn check_recipe(minor: &str, version: &str) {
    let img = image(minor);
    let tags: Vec<&str> = img.manifest[0]["RepoTags"]
        .as_array()
        .expect("RepoTags")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // The names the operator's pods ask for (`zookeeper:3.9`, the default) resolve here.
    assert_eq!(
        tags,
        [
            format!("docker.io/library/zookeeper:{version}"),
            format!("docker.io/library/zookeeper:{minor}")
        ]
    );
    let c = &img.config["config"];
    let dist = format!("/apache-zookeeper-{version}-bin");
    let env: Vec<&str> = c["Env"]
        .as_array()
        .expect("Env")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for want in OFFICIAL_ENV {
        assert!(env.contains(&want), "{minor}: ENV {want} in {env:?}");
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .expect("PATH");
    assert!(path.ends_with(&format!(":{dist}/bin")), "{path}");
    assert!(env.contains(&"JAVA_HOME=/opt/java/openjdk"), "{env:?}");
    assert_eq!(c["WorkingDir"], dist.as_str());
    assert_eq!(
        c["Entrypoint"],
        serde_json::json!(["/docker-entrypoint.sh"])
    );
    assert_eq!(
        c["Cmd"],
        serde_json::json!(["zkServer.sh", "start-foreground"])
    );
    // No USER line: the entrypoint switches users; pods set runAsUser.
    assert_eq!(c["User"], "");
    let ports: Vec<&String> = c["ExposedPorts"]
        .as_object()
        .expect("ports")
        .keys()
        .collect();
    assert_eq!(ports, ["2181/tcp", "2888/tcp", "3888/tcp", "8080/tcp"]);
    let volumes: Vec<&String> = c["Volumes"].as_object().expect("volumes").keys().collect();
    assert_eq!(volumes, ["/data", "/datalog", "/logs"]);

    assert!(
        img.passwd
            .lines()
            .any(|l| l.starts_with("zookeeper:x:1000:1000:")),
        "{minor}: user zookeeper 1000:1000 in {}",
        img.passwd
    );
    for dir in ["./conf", "./data", "./datalog", "./logs"] {
        assert_eq!(
            owner_of(&img.listing, dir).as_deref(),
            Some("1000/1000"),
            "{minor}: {dir}"
        );
    }
    assert!(
        owner_of(&img.listing, "./conf/logback.xml").is_some(),
        "{minor}: /conf/logback.xml"
    );
    for f in ["zkServer.sh", "zkEnv.sh", "zkCli.sh"] {
        let p = format!(".{dist}/bin/{f}");
        assert!(owner_of(&img.listing, &p).is_some(), "{minor}: {p}");
    }
    assert!(owner_of(&img.listing, "./docker-entrypoint.sh").is_some());
}

#[test]
fn the_3_9_image_follows_the_official_recipe_with_zookeeper_3_9_6() {
    check_recipe("3.9", "3.9.6");
}

#[test]
fn the_3_8_image_follows_the_official_recipe_with_zookeeper_3_8_0() {
    check_recipe("3.8", "3.8.0");
}
