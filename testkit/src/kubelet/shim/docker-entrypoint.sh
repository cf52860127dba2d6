#!/usr/bin/env bash
# zk-testkit shim of the official zookeeper image's entrypoint: when started as
# `zkServer.sh ...` without a config, write zoo.cfg from ZOO_* variables and myid from
# ZOO_MY_ID, then exec the command.
set -e
if [[ "${1:-}" = 'zkServer.sh' && ! -f "$ZOO_CONF_DIR/zoo.cfg" ]]; then
  mkdir -p "$ZOO_CONF_DIR" "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR" "$ZOO_LOG_DIR"
  CONFIG="$ZOO_CONF_DIR/zoo.cfg"
  {
    echo "dataDir=$ZOO_DATA_DIR"
    echo "dataLogDir=$ZOO_DATA_LOG_DIR"
    echo "tickTime=$ZOO_TICK_TIME"
    echo "initLimit=$ZOO_INIT_LIMIT"
    echo "syncLimit=$ZOO_SYNC_LIMIT"
    echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
    echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
    echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
    echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
    echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
    if [[ -z "${ZOO_SERVERS:-}" ]]; then
      echo "clientPort=2181"
      echo "server.1=localhost:2888:3888;2181"
    else
      for server in $ZOO_SERVERS; do echo "$server"; done
    fi
    if [[ -n "${ZOO_4LW_COMMANDS_WHITELIST:-}" ]]; then
      echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
    fi
    for cfg_extra_entry in ${ZOO_CFG_EXTRA:-}; do echo "$cfg_extra_entry"; done
  } >"$CONFIG"
fi
if [[ ! -f "$ZOO_DATA_DIR/myid" ]]; then
  mkdir -p "$ZOO_DATA_DIR"
  echo "${ZOO_MY_ID:-1}" >"$ZOO_DATA_DIR/myid"
fi
exec "$@"
