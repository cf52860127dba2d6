# zkEnv.sh for the look-alike of the official ZooKeeper image, sourced by zkServer.sh.
#
# Debian ships zkServer.sh unchanged but replaces upstream's zkEnv.sh with a fixed
# environment file (/etc/zookeeper/conf/environment) that ignores ZOOCFGDIR and
# ZOO_LOG_DIR. The official image relies on upstream's contract, so this restores the
# parts of it zkServer.sh uses: env-overridable ZOOCFGDIR (default ../conf), ZOOCFG,
# ZOO_LOG_DIR, java from JAVA_HOME, CLASSPATH = $ZOOCFGDIR + ../lib/*.jar (logback finds
# logback.xml through $ZOOCFGDIR) and the default 1000 MB server heap before SERVER_JVMFLAGS.
ZOOBINDIR="${ZOOBINDIR:-/usr/bin}"
ZOOKEEPER_PREFIX="${ZOOBINDIR}/.."
ZOOCFGDIR="${ZOOCFGDIR:-$ZOOKEEPER_PREFIX/conf}"
if [ -f "${ZOOCFGDIR}/zookeeper-env.sh" ]; then
  . "${ZOOCFGDIR}/zookeeper-env.sh"
fi
ZOOCFG="$ZOOCFGDIR/${ZOOCFG:-zoo.cfg}"
if [ -f "$ZOOCFGDIR/java.env" ]; then
  . "$ZOOCFGDIR/java.env"
fi
ZOO_LOG_DIR="${ZOO_LOG_DIR:-$ZOOKEEPER_PREFIX/logs}"
if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
  JAVA="$JAVA_HOME/bin/java"
elif type -p java >/dev/null; then
  JAVA=java
else
  echo "Error: JAVA_HOME is not set and java could not be found in PATH." >&2
  exit 1
fi
# In name order, before the jars zookeeper.jar's manifest pulls in (Debian's): lib/
# carries the logging binding and the SLF4J API it needs (upstream prepends instead; its
# lib/ holds every jar, so order does not matter there).
CLASSPATH="$ZOOCFGDIR"
for i in "$ZOOBINDIR"/../lib/*.jar; do
  CLASSPATH="$CLASSPATH:$i"
done
export CLASSPATH
ZK_SERVER_HEAP="${ZK_SERVER_HEAP:-1000}"
export SERVER_JVMFLAGS="-Xmx${ZK_SERVER_HEAP}m ${SERVER_JVMFLAGS:-}"
ZK_CLIENT_HEAP="${ZK_CLIENT_HEAP:-256}"
export CLIENT_JVMFLAGS="-Xmx${ZK_CLIENT_HEAP}m ${CLIENT_JVMFLAGS:-}"
