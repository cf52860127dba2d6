//! Scripts the pods run, shipped in the ConfigMap. Plain bash with /dev/tcp so the image
//! needs no nc, and no membership logic hides in them: they start ZooKeeper and probe it.
use super::labels::CLIENT_PORT;

pub const TEMPLATE_DIR: &str = "/config-templates";
/// The image's `ZOOCFGDIR` (a writable emptyDir); the member's own config is not here.
pub const CONF_DIR: &str = "/conf";
pub const DATA_DIR: &str = "/data";
/// The member's config lives beside its data: ZooKeeper rewrites zoo.cfg and writes a new
/// `zoo.cfg.dynamic.<version>` at every reconfig, and the committed membership must
/// survive a restart with the data it belongs to. With ephemeral storage `/data` is an
/// emptyDir, so a new pod seeds afresh, which is right: it has no data either.
pub const MEMBER_CONF_DIR: &str = "/data/conf";
/// ZooKeeper's logging configuration, shipped in the ConfigMap and installed in
/// `CONF_DIR`, where the image's `CLASSPATH` (`$ZOOCFGDIR:...`) makes logback find it.
pub const LOGBACK: &str = "logback.xml";

/// Console logging at INFO, as ZooKeeper's own `conf/logback.xml` (3.8/3.9) configures it
/// by default; the level can be raised with `-Dzookeeper.console.threshold=DEBUG` in
/// `jvm.extraFlags`.
pub const LOGBACK_XML: &str = r#"<!-- Managed by zookeeper-operator: ZooKeeper's default console logging. -->
<configuration>
  <property name="zookeeper.console.threshold" value="INFO" />
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n</pattern>
    </encoder>
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter">
      <level>${zookeeper.console.threshold}</level>
    </filter>
  </appender>
  <root level="INFO">
    <appender-ref ref="CONSOLE" />
  </root>
</configuration>
"#;

/// Derives myid from the pod ordinal, seeds the member's config from the ConfigMap only
/// when it has none (or was removed from its committed membership), keeps ZooKeeper's
/// committed `dynamicConfigFile=` otherwise, and execs ZooKeeper in the foreground.
pub fn start_script() -> String {
    format!(
        r#"#!/usr/bin/env bash
# Managed by zookeeper-operator. Starts one ZooKeeper member in the foreground.
set -euo pipefail
pod="${{POD_NAME:-$(hostname)}}"
ordinal="${{pod##*-}}"
case "$ordinal" in
  ''|*[!0-9]*) echo "cannot derive a member ordinal from pod name '$pod'" >&2; exit 1 ;;
esac
myid=$((ordinal + 1))
conf={MEMBER_CONF_DIR}
mkdir -p {DATA_DIR} {CONF_DIR} "$conf"
echo "$myid" > {DATA_DIR}/myid
# The membership ZooKeeper committed, if this member has one that still lists it.
committed=""
if [ -f "$conf/zoo.cfg" ]; then
  committed="$(sed -n 's/^dynamicConfigFile=//p' "$conf/zoo.cfg" | tail -n 1)"
  if [ -z "$committed" ] || ! grep -q "^server\.$myid=" "$committed" 2>/dev/null; then
    echo "member $myid is not in its committed membership ('$committed'): seeding afresh"
    committed=""
  fi
fi
# Copies a ConfigMap file as a file of our own: the mount is read-only (mode 0555) and a
# plain cp keeps that mode, so the next seed could not overwrite the copy as a non-root
# user. rm first also mends a read-only copy an older version left behind.
seed() {{ rm -f "$2"; cp "$1" "$2"; chmod 0644 "$2"; }}
# ZooKeeper's logging: the image's /conf/logback.xml is hidden by the writable /conf
# volume, and logback's fallback logs everything at DEBUG.
seed {TEMPLATE_DIR}/{LOGBACK} {CONF_DIR}/{LOGBACK}
if [ -z "$committed" ]; then
  # Seed: the ConfigMap's member list is the committed membership plus this member.
  seed {TEMPLATE_DIR}/zoo.cfg.dynamic "$conf/zoo.cfg.dynamic"
  seed {TEMPLATE_DIR}/zoo.cfg "$conf/zoo.cfg.next"
else
  # Static settings from the template, membership as committed.
  grep -v '^dynamicConfigFile=' {TEMPLATE_DIR}/zoo.cfg > "$conf/zoo.cfg.next"
  echo "dynamicConfigFile=$committed" >> "$conf/zoo.cfg.next"
fi
mv "$conf/zoo.cfg.next" "$conf/zoo.cfg"
echo "starting ZooKeeper member myid=$myid ($pod) with $(sed -n 's/^dynamicConfigFile=//p' "$conf/zoo.cfg")"
exec zkServer.sh start-foreground "$conf/zoo.cfg"
"#
    )
}

/// Ready means serving: `srvr` prints a `Mode:` line only when the member is part of a
/// quorum (during elections it answers "not currently serving requests").
pub fn readiness_script() -> String {
    format!(
        r#"#!/usr/bin/env bash
# Managed by zookeeper-operator. Ready = this member serves requests.
exec 3<>/dev/tcp/127.0.0.1/{CLIENT_PORT} || exit 1
printf srvr >&3
grep -q '^Mode: ' <&3
"#
    )
}

/// Live means the process answers at all (`ruok` -> `imok`); quorum loss is not a reason
/// to kill a member, so liveness deliberately ignores it.
pub fn liveness_script() -> String {
    format!(
        r#"#!/usr/bin/env bash
# Managed by zookeeper-operator. Live = the process answers ruok.
exec 3<>/dev/tcp/127.0.0.1/{CLIENT_PORT} || exit 1
printf ruok >&3
[ "$(head -c 4 <&3)" = imok ]
"#
    )
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    unsafe extern "C" {
        #[link_name = "geteuid"]
        fn libc_geteuid() -> u32;
    }

    use super::*;

    /// The start script run by bash against temp dirs, with a `zkServer.sh` that only
    /// reports the config it was given.
    struct Member {
        root: PathBuf,
    }

    impl Member {
        fn new(name: &str) -> Self {
            let root =
                std::env::temp_dir().join(format!("zkop-start-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&root);
            for dir in ["t", "bin"] {
                fs::create_dir_all(root.join(dir)).expect("dir");
            }
            let zk = root.join("bin/zkServer.sh");
            fs::write(&zk, "#!/bin/sh\necho \"ZK $1 $2\"\n").expect("fake zkServer.sh");
            Command::new("chmod")
                .arg("+x")
                .arg(&zk)
                .status()
                .expect("chmod");
            Self { root }
        }

        fn path(&self, p: &str) -> PathBuf {
            self.root.join(p)
        }

        fn template(&self, zoo_cfg: &str, dynamic: &str) {
            for (file, text) in [
                ("t/zoo.cfg", zoo_cfg),
                ("t/zoo.cfg.dynamic", dynamic),
                ("t/logback.xml", LOGBACK_XML),
            ] {
                // A new ConfigMap revision replaces the files (the kubelet swaps a symlink).
                let _ = fs::remove_file(self.path(file));
                fs::write(self.path(file), text).expect("template");
            }
        }

        fn start(&self, pod: &str) -> String {
            self.run(pod, Command::new("bash"))
        }

        /// As the official image's user (uid/gid 1000) with every capability dropped, the
        /// way a pod with the operator's securityContext runs: root's permission overrides
        /// would hide a file the script cannot overwrite. The templates are read-only like
        /// the ConfigMap mount (mode 0555, owned by root); the volumes belong to the user
        /// (fsGroup). Run by a non-root developer, the script runs as that user instead.
        fn start_unprivileged(&self, pod: &str) -> String {
            for f in ["t/zoo.cfg", "t/zoo.cfg.dynamic", "t/logback.xml"] {
                fs::set_permissions(self.path(f), fs::Permissions::from_mode(0o555))
                    .expect("chmod");
            }
            // SAFETY: geteuid has no preconditions and cannot fail.
            if unsafe { libc_geteuid() } != 0 {
                return self.start(pod);
            }
            for dir in ["d", "c"] {
                fs::create_dir_all(self.path(dir)).expect("dir");
            }
            let owned = Command::new("chown")
                .args(["-R", "1000:1000"])
                .arg(self.path("d"))
                .arg(self.path("c"))
                .status()
                .expect("chown");
            assert!(owned.success());
            let mut setpriv = Command::new("setpriv");
            setpriv.args([
                "--reuid=1000",
                "--regid=1000",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--no-new-privs",
                "bash",
            ]);
            self.run(pod, setpriv)
        }

        fn run(&self, pod: &str, mut shell: Command) -> String {
            let r = self.root.display().to_string();
            let script = start_script()
                .replace(TEMPLATE_DIR, &format!("{r}/t"))
                .replace(MEMBER_CONF_DIR, &format!("{r}/d/m"))
                .replace(DATA_DIR, &format!("{r}/d"))
                .replace(CONF_DIR, &format!("{r}/c"));
            let out = shell
                .arg("-c")
                .arg(script)
                .env("POD_NAME", pod)
                .env("PATH", format!("{r}/bin:/usr/bin:/bin"))
                .output()
                .expect("bash");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }

        /// What ZooKeeper does at a reconfig: a new versioned membership file, and zoo.cfg
        /// pointing at it.
        fn commit(&self, version: &str, members: &str) {
            let dynamic = format!("zoo.cfg.dynamic.{version}");
            fs::write(self.path(&format!("d/m/{dynamic}")), members).expect("write");
            fs::write(self.path("d/m/zoo.cfg"), cfg(&self.root, 2000, &dynamic)).expect("write");
        }

        fn read(&self, p: &str) -> String {
            fs::read_to_string(self.path(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
        }
    }

    impl Drop for Member {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.root);
        }
    }

    fn cfg(root: &Path, tick: u32, dynamic: &str) -> String {
        format!(
            "dataDir={}/d\ntickTime={tick}\ndynamicConfigFile={}/d/m/{dynamic}\n",
            root.display(),
            root.display()
        )
    }

    const THREE: &str = "server.1=a\nserver.2=b\nserver.3=c\n";

    #[test]
    fn first_start_seeds_from_the_config_map() {
        let m = Member::new("seed");
        m.template(&cfg(&m.root, 2000, "zoo.cfg.dynamic"), THREE);
        let out = m.start("zk-2");
        assert_eq!(m.read("d/myid"), "3\n");
        assert_eq!(m.read("d/m/zoo.cfg"), cfg(&m.root, 2000, "zoo.cfg.dynamic"));
        assert_eq!(m.read("d/m/zoo.cfg.dynamic"), THREE);
        assert!(
            out.contains(&format!(
                "ZK start-foreground {}/d/m/zoo.cfg",
                m.root.display()
            )),
            "{out}"
        );
    }

    #[test]
    fn later_starts_keep_the_committed_membership_and_refresh_static_keys() {
        let m = Member::new("keep");
        m.template(&cfg(&m.root, 2000, "zoo.cfg.dynamic"), THREE);
        m.start("zk-0");
        // What ZooKeeper does at a reconfig: a new versioned file, zoo.cfg pointing at it.
        let committed = "server.1=a\nserver.2=b\nserver.3=c\nserver.4=d\n";
        fs::write(m.path("d/m/zoo.cfg.dynamic.100000004"), committed).expect("write");
        fs::write(
            m.path("d/m/zoo.cfg"),
            cfg(&m.root, 2000, "zoo.cfg.dynamic.100000004"),
        )
        .expect("write");
        // The template changes a static key and (stale) lists three members.
        m.template(&cfg(&m.root, 3000, "zoo.cfg.dynamic"), THREE);
        m.start("zk-0");
        let zoo = m.read("d/m/zoo.cfg");
        assert!(zoo.contains("tickTime=3000\n"), "{zoo}");
        assert!(!zoo.contains("tickTime=2000"), "{zoo}");
        let dynamic_lines: Vec<_> = zoo
            .lines()
            .filter(|l| l.starts_with("dynamicConfigFile="))
            .collect();
        assert_eq!(
            dynamic_lines,
            [format!(
                "dynamicConfigFile={}/d/m/zoo.cfg.dynamic.100000004",
                m.root.display()
            )]
        );
        assert_eq!(m.read("d/m/zoo.cfg.dynamic.100000004"), committed);
    }

    #[test]
    fn a_member_removed_from_its_committed_membership_seeds_afresh() {
        let m = Member::new("removed");
        m.template(&cfg(&m.root, 2000, "zoo.cfg.dynamic"), THREE);
        m.start("zk-2");
        // Scaled down to two (member 3 removed), its volume retained; scaled up again.
        m.commit("100000009", "server.1=a\nserver.2=b\n");
        m.template(&cfg(&m.root, 2000, "zoo.cfg.dynamic"), THREE);
        let out = m.start("zk-2");
        assert!(out.contains("seeding afresh"), "{out}");
        assert_eq!(m.read("d/m/zoo.cfg"), cfg(&m.root, 2000, "zoo.cfg.dynamic"));
        assert_eq!(m.read("d/m/zoo.cfg.dynamic"), THREE);
    }

    /// Scaled down with its volume retained, then up again: the member seeds afresh over
    /// the copies of its first seed. As a non-root user this failed ("Permission denied")
    /// while the copies kept the ConfigMap mount's read-only mode.
    #[test]
    fn reseeding_over_earlier_copies_works_as_the_image_user() {
        let m = Member::new("reseed-uid");
        m.template(&cfg(&m.root, 2000, "zoo.cfg.dynamic"), THREE);
        m.start_unprivileged("zk-2");
        assert_eq!(m.read("d/m/zoo.cfg.dynamic"), THREE);
        let mode = fs::metadata(m.path("d/m/zoo.cfg.dynamic"))
            .expect("copy")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "the copy is the member's own file");
        m.commit("100000009", "server.1=a\nserver.2=b\n");
        let four = "server.1=a\nserver.2=b\nserver.3=c\nserver.4=d\n";
        m.template(&cfg(&m.root, 2000, "zoo.cfg.dynamic"), four);
        let out = m.start_unprivileged("zk-2");
        assert!(out.contains("seeding afresh"), "{out}");
        assert_eq!(m.read("d/m/zoo.cfg.dynamic"), four);
    }

    /// ZooKeeper's logging configuration lands where logback looks ($ZOOCFGDIR), at INFO.
    #[test]
    fn the_logging_configuration_is_installed_in_the_config_dir() {
        let m = Member::new("logback");
        m.template(&cfg(&m.root, 2000, "zoo.cfg.dynamic"), THREE);
        m.start_unprivileged("zk-0");
        let logback = m.read("c/logback.xml");
        assert_eq!(logback, LOGBACK_XML);
        assert!(logback.contains(r#"<root level="INFO">"#));
        m.start_unprivileged("zk-0");
        assert_eq!(
            m.read("c/logback.xml"),
            LOGBACK_XML,
            "a restart installs it again"
        );
    }
}
