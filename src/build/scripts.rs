//! Scripts the pods run, shipped in the ConfigMap. Plain bash with /dev/tcp so the image
//! needs no nc, and no membership logic hides in them: they start ZooKeeper and probe it.
use super::labels::CLIENT_PORT;

pub const TEMPLATE_DIR: &str = "/config-templates";
pub const CONF_DIR: &str = "/conf";
pub const DATA_DIR: &str = "/data";

/// Derives myid from the pod ordinal, lays out the config in a writable directory (ZooKeeper
/// rewrites its dynamic config on reconfig) and execs ZooKeeper in the foreground.
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
mkdir -p {DATA_DIR} {CONF_DIR}
echo "$myid" > {DATA_DIR}/myid
cp {TEMPLATE_DIR}/zoo.cfg {CONF_DIR}/zoo.cfg
cp {TEMPLATE_DIR}/zoo.cfg.dynamic {CONF_DIR}/zoo.cfg.dynamic
echo "starting ZooKeeper member myid=$myid ($pod)"
exec zkServer.sh start-foreground {CONF_DIR}/zoo.cfg
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
