#!/usr/bin/env bash
# zk-testkit shim: zkCli.sh on Debian's ZooKeeper jars, warnings only, on stderr.
exec java "-Xmx${ZK_CLIENT_HEAP:-256}m" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "@CLASSPATH@${CLASSPATH:+:$CLASSPATH}" ${CLIENT_JVMFLAGS:-} ${JVMFLAGS:-} \
  org.apache.zookeeper.ZooKeeperMain "$@"
