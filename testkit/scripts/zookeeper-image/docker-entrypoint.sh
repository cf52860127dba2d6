#!/bin/bash
# Entrypoint of the look-alike image, behaving as the official image's (3.9.x): as root with
# `zkServer.sh ...` it hands the volumes to the zookeeper user and re-executes itself as that
# user (setpriv from util-linux stands in for gosu, which Debian's minbase lacks); it writes
# $ZOO_CONF_DIR/zoo.cfg from the ZOO_* variables only when none exists, and myid only when
# none exists; then it runs the command. The operator's pods set `command`, which bypasses
# it, as with the official image.
set -e

if [[ "$1" == zkServer.sh && "$(id -u)" == 0 ]]; then
  chown -R zookeeper "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR" "$ZOO_LOG_DIR"
  exec setpriv --reuid=zookeeper --regid=zookeeper --init-groups "$0" "$@"
fi

cfg="$ZOO_CONF_DIR/zoo.cfg"
if [[ ! -f "$cfg" ]]; then
  {
    printf '%s\n' "dataDir=$ZOO_DATA_DIR" "dataLogDir=$ZOO_DATA_LOG_DIR" \
      "tickTime=$ZOO_TICK_TIME" "initLimit=$ZOO_INIT_LIMIT" "syncLimit=$ZOO_SYNC_LIMIT" \
      "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT" \
      "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL" \
      "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS" \
      "standaloneEnabled=$ZOO_STANDALONE_ENABLED" \
      "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
    # Word-split on purpose: both variables are space-separated lists of entries.
    for s in ${ZOO_SERVERS:-server.1=localhost:2888:3888;2181}; do echo "$s"; done
    if [[ -n "${ZOO_4LW_COMMANDS_WHITELIST:-}" ]]; then
      echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
    fi
    for e in ${ZOO_CFG_EXTRA:-}; do echo "$e"; done
  } >>"$cfg"
fi
[[ -f "$ZOO_DATA_DIR/myid" ]] || echo "${ZOO_MY_ID:-1}" >"$ZOO_DATA_DIR/myid"
exec "$@"
