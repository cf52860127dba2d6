#!/usr/bin/env bash
# Builds ZooKeeper images that follow the official image's recipe (31z4/zookeeper-docker,
# Dockerfile + docker-entrypoint.sh for 3.9) from Debian packages, without a registry or
# Docker, as `docker save` archives containerd imports (`ctr images import`):
#
#   zookeeper-3.9.tar   ZooKeeper 3.9.6 from Debian sid     tags zookeeper:3.9.6, zookeeper:3.9
#   zookeeper-3.8.tar   ZooKeeper 3.8.0 from Debian bookworm tags zookeeper:3.8.0, zookeeper:3.8
#
# The recipe, as the official image: user and group `zookeeper` 1000:1000 (no USER line),
# /conf (ZOO_CONF_DIR = ZOOCFGDIR) holding the release's logback.xml, /data, /datalog, /logs
# owned by 1000, the install dir /apache-zookeeper-<v>-bin as WORKDIR with bin/ on PATH,
# JAVA_HOME=/opt/java/openjdk, the ZOO_* defaults, entrypoint /docker-entrypoint.sh and
# CMD zkServer.sh start-foreground. Each rootfs is a debootstrap'd minbase of its suite
# (the sid one only ever in a chroot: nothing is added to this machine's apt sources).
#
# Cached in $ZKOP_CACHE/zookeeper-images/<hash of this script and its files>/; prints that
# directory. Needs root. Safe to run concurrently (flock).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${ZKOP_CACHE:-/var/cache/zookeeper-operator}
MIRROR=${ZKOP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
log() { echo "[zookeeper-image] $*" >&2; }

recipe=$(cat "${BASH_SOURCE[0]}" "$here"/zookeeper-image/* | sha256sum | cut -c1-16)
out="$CACHE_ROOT/zookeeper-images/$recipe"
mkdir -p "$CACHE_ROOT/zookeeper-images"
exec 9>"$CACHE_ROOT/zookeeper-images/.build.lock"
flock 9
if [ -s "$out/zookeeper-3.9.tar" ] && [ -s "$out/zookeeper-3.8.tar" ]; then
  echo "$out"
  exit 0
fi
command -v debootstrap >/dev/null || {
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2
}

work="$CACHE_ROOT/zookeeper-images/build"
mounted=()
cleanup() {
  local m
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
rm -rf "$work"
mkdir -p "$work" "$out"

. "$here/lib/image-archive.sh"

# build SUITE MINOR: the image of the ZooKeeper that SUITE packages.
build() {
  local suite=$1 minor=$2 r t0 version dist java_home cfg
  t0=$(date +%s)
  r="$work/$suite"
  log "debootstrap $suite (minbase)"
  debootstrap --variant=minbase --include=ca-certificates "$suite" "$r" "$MIRROR" >&2
  # sid's index reachable here may lag the clock: do not refuse it as expired.
  echo 'Acquire::Check-Valid-Until "false";' >"$r/etc/apt/apt.conf.d/99zkop-no-valid-until"
  mount -t proc proc "$r/proc" && mounted+=("$r/proc")
  log "$suite: installing Java, ZooKeeper's jars, logback"
  chroot "$r" apt-get update -qq >&2
  # libzookeeper-java is the server (jars); `zookeeper` itself depends on the full
  # default-jre (X11), so only its scripts are taken from its .deb below.
  chroot "$r" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    default-jre-headless libzookeeper-java liblogback-java netcat-openbsd >&2
  (cd "$r/tmp" && chroot "$r" sh -c 'cd /tmp && apt-get download -qq zookeeper' >&2)
  version=$(chroot "$r" dpkg-query -W -f='${Version}' libzookeeper-java | sed 's/-[^-]*$//; s/+.*//')
  dist="apache-zookeeper-$version-bin"
  mkdir -p "$work/deb-$suite"
  dpkg-deb -x "$r"/tmp/zookeeper_*.deb "$work/deb-$suite"
  rm -f "$r"/tmp/zookeeper_*.deb
  umount "$r/proc" && mounted=()

  # The official image's user, directories and install dir.
  chroot "$r" groupadd -r zookeeper --gid=1000
  chroot "$r" useradd -r -g zookeeper --uid=1000 zookeeper
  mkdir -p "$r/conf" "$r/data" "$r/datalog" "$r/logs" "$r/$dist/bin" "$r/$dist/lib"
  cp "$work/deb-$suite/usr/share/zookeeper/bin/"zk{Server,Cli,Cleanup}.sh "$r/$dist/bin/"
  cp "$here/zookeeper-image/zkEnv.sh" "$r/$dist/bin/zkEnv.sh"
  # The server's jar (its manifest Class-Path names Debian's dependency jars) and logback,
  # which the official release ships as its SLF4J binding.
  for j in zookeeper zookeeper-jute logback-classic logback-core; do
    ln -s "/usr/share/java/$j.jar" "$r/$dist/lib/$j.jar"
  done
  # The SLF4J API logback was built for: sid ships 1.7 (what zookeeper.jar's manifest
  # names) beside 2.x, and its logback 1.5+ binds only to 2.x (else SLF4J falls back to
  # its no-op logger and ZooKeeper logs nothing). zkEnv.sh puts lib/ before the manifest.
  slf4j=$(cd "$r/usr/share/java" && ls -v slf4j-api-[0-9]*.jar 2>/dev/null | tail -1)
  ln -s "/usr/share/java/${slf4j:-slf4j-api.jar}" "$r/$dist/lib/slf4j-api.jar"
  # The release's logging configuration: Debian's package carries it when the release
  # does (3.9); else (Debian 3.8 logs through log4j) the release's own text, kept here.
  if [ -f "$work/deb-$suite/etc/zookeeper/conf_example/logback.xml" ]; then
    cp "$work/deb-$suite/etc/zookeeper/conf_example/logback.xml" "$r/conf/logback.xml"
  else
    cp "$here/zookeeper-image/logback.xml" "$r/conf/logback.xml"
  fi
  cp "$here/zookeeper-image/docker-entrypoint.sh" "$r/docker-entrypoint.sh"
  chmod 0755 "$r/docker-entrypoint.sh" "$r/$dist/bin/"*.sh
  # Where the chroot's java lives (its alternatives links are absolute: resolve inside).
  java_home=$(chroot "$r" readlink -f /usr/bin/java)
  java_home=${java_home%/bin/java}
  mkdir -p "$r/opt/java"
  ln -s "$java_home" "$r/opt/java/openjdk"
  chroot "$r" chown zookeeper:zookeeper /conf /data /datalog /logs
  chroot "$r" chown -R zookeeper:zookeeper "/$dist"
  # Smaller image: no apt lists, docs or caches.
  chroot "$r" apt-get clean
  rm -rf "$r"/var/lib/apt/lists/* "$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/var/cache/debconf/*-old

  cfg=$(printf '{"User":"","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/%s/bin","JAVA_HOME=/opt/java/openjdk","ZOO_CONF_DIR=/conf","ZOO_DATA_DIR=/data","ZOO_DATA_LOG_DIR=/datalog","ZOO_LOG_DIR=/logs","ZOO_TICK_TIME=2000","ZOO_INIT_LIMIT=5","ZOO_SYNC_LIMIT=2","ZOO_AUTOPURGE_PURGEINTERVAL=0","ZOO_AUTOPURGE_SNAPRETAINCOUNT=3","ZOO_MAX_CLIENT_CNXNS=60","ZOO_STANDALONE_ENABLED=true","ZOO_ADMINSERVER_ENABLED=true","ZOOCFGDIR=/conf"],"Entrypoint":["/docker-entrypoint.sh"],"Cmd":["zkServer.sh","start-foreground"],"WorkingDir":"/%s","ExposedPorts":{"2181/tcp":{},"2888/tcp":{},"3888/tcp":{},"8080/tcp":{}},"Volumes":{"/data":{},"/datalog":{},"/logs":{}},"Labels":{"org.zookeeper-operator.zookeeper-version":"%s","org.zookeeper-operator.debian-suite":"%s"}}' \
    "$dist" "$dist" "$version" "$suite")
  make_image "$out/zookeeper-$minor.tar" "$r" "$cfg" \
    "docker.io/library/zookeeper:$version" "docker.io/library/zookeeper:$minor"
  echo "$version" >"$out/zookeeper-$minor.version"
  rm -rf "$r" "$work/deb-$suite"
  log "$suite: zookeeper $version image in $(( $(date +%s) - t0 )) s ($(du -m "$out/zookeeper-$minor.tar" | cut -f1) MB)"
}

[ -s "$out/zookeeper-3.9.tar" ] || build sid 3.9
[ -s "$out/zookeeper-3.8.tar" ] || build bookworm 3.8
echo "$out"
