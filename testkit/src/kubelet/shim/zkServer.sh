#!/usr/bin/env bash
# zk-testkit shim: the official zookeeper image's `zkServer.sh` contract on top of Debian's
# ZooKeeper. Debian's own zkServer.sh hard-codes /etc/zookeeper/conf and logs nowhere (its
# slf4j has no binding), so `zkServer.sh start-foreground /conf/zoo.cfg` would not behave
# like the image. Here: config dir from ZOOCFGDIR (image: /conf), logs on stdout.
set -uo pipefail
ZOOCFGDIR="${ZOOCFGDIR:-${ZOO_CONF_DIR:-/conf}}"
ZOO_LOG_DIR="${ZOO_LOG_DIR:-/logs}"
CP="${ZOOCFGDIR}:@CLASSPATH@${CLASSPATH:+:$CLASSPATH}"
ZOOMAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain
HEAP="-Xmx${ZK_SERVER_HEAP:-1000}m"
LOGGING=(-Dorg.slf4j.simpleLogger.logFile=System.out
  -Dorg.slf4j.simpleLogger.showDateTime=true
  "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss,SSS"
  "-Dzookeeper.log.dir=${ZOO_LOG_DIR}")

# Upstream rule: a bare file name is looked up in ZOOCFGDIR, anything with a slash is a path.
ZOOCFG="${2:-zoo.cfg}"
case "$ZOOCFG" in */*) ;; *) ZOOCFG="$ZOOCFGDIR/$ZOOCFG" ;; esac

cfg_value() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$ZOOCFG" 2>/dev/null | tail -1 | tr -d '[:space:]'; }

client_port() {
  local port dyn datadir myid
  port="$(cfg_value clientPort)"
  if [ -z "$port" ]; then
    # Dynamic config: server.N=host:peer:election[:role];[addr:]clientPort
    dyn="$(cfg_value dynamicConfigFile)"
    datadir="$(cfg_value dataDir)"
    myid="$(cat "$datadir/myid" 2>/dev/null)"
    port="$(sed -n "s/^server\.${myid}=.*;\(.*:\)\{0,1\}\([0-9]*\)$/\2/p" "$dyn" 2>/dev/null | tail -1)"
  fi
  echo "${port:-2181}"
}

case "${1:-}" in
start-foreground)
  echo "Using config: $ZOOCFG" >&2
  # shellcheck disable=SC2086 # JVMFLAGS are word lists by contract
  exec java "${LOGGING[@]}" $HEAP -cp "$CP" ${SERVER_JVMFLAGS:-} ${JVMFLAGS:-} "$ZOOMAIN" "$ZOOCFG"
  ;;
start)
  datadir="$(cfg_value dataDir)"; mkdir -p "${datadir:-/tmp}" "$ZOO_LOG_DIR"
  nohup "$0" start-foreground "$ZOOCFG" >"$ZOO_LOG_DIR/zookeeper.out" 2>&1 </dev/null &
  echo -n $! >"${datadir:-/tmp}/zookeeper_server.pid"
  echo STARTED
  ;;
stop)
  datadir="$(cfg_value dataDir)"
  kill "$(cat "${datadir:-/tmp}/zookeeper_server.pid")" && echo STOPPED
  ;;
status)
  port="$(client_port)"
  out="$(java -cp "$CP" org.apache.zookeeper.client.FourLetterWordMain localhost "$port" srvr 2>/dev/null)"
  mode="$(echo "$out" | sed -n 's/^Mode: //p')"
  echo "Client port found: $port. Client address: localhost. Client SSL: false."
  if [ -n "$mode" ]; then echo "Mode: $mode"; else echo "Error contacting service. It is probably not running."; exit 1; fi
  ;;
version)
  exec java -cp "$CP" org.apache.zookeeper.version.VersionInfoMain
  ;;
print-cmd)
  echo "java ${LOGGING[*]} $HEAP -cp $CP ${SERVER_JVMFLAGS:-} ${JVMFLAGS:-} $ZOOMAIN $ZOOCFG"
  ;;
*)
  echo "Usage: $0 {start|start-foreground|stop|version|status|print-cmd} [config]" >&2
  exit 1
  ;;
esac
