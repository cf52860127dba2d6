#!/usr/bin/python3
"""A real ZooKeeper client workload (kazoo) that runs through faults.

  zk_workload.py run HOSTS_FILE ACK_FILE STOP_FILE
      Creates /workload/w-<n> with value <n>, n = 0, 1, 2, ... until STOP_FILE exists.
      Every acknowledged create is appended to ACK_FILE (one n per line, fsync'ed) before
      the next; failed or unconfirmed creates are not. Reads back an acknowledged node
      every 20 writes. HOSTS_FILE holds the current connection string and is re-read
      whenever the client cannot write for a while (restarted members get new addresses).
      Prints "acked=N failed=M reads=R" at the end.
  zk_workload.py verify HOSTS ACK_FILE
      Every acknowledged node exists with its value. Prints "acked=N missing=0";
      exit code 1 and the missing ones on stderr if any is lost.

Uses Debian's python3-kazoo (run with /usr/bin/python3).
"""
import logging
import os
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.handlers.threading import KazooTimeoutError

ROOT = "/workload"


def read_hosts(path):
    with open(path) as f:
        return f.read().strip()


def connect(hosts):
    client = KazooClient(hosts=hosts, timeout=4.0, connection_retry={"max_tries": 2})
    try:
        client.start(timeout=8)
    except Exception:
        discard(client)
        raise
    return client


def discard(client):
    """Stops a client in the background: stopping one whose server vanished can block."""

    def stop():
        try:
            client.stop()
            client.close()
        except Exception:  # noqa: BLE001 - best effort on a broken client
            pass

    threading.Thread(target=stop, daemon=True).start()


def run(hosts_file, ack_file, stop_file):
    acked = failed = reads = 0
    last_ok = time.monotonic()
    client = None
    n = 0
    with open(ack_file, "a") as acks:
        while not os.path.exists(stop_file):
            try:
                if client is None:
                    client = connect(read_hosts(hosts_file))
                    client.ensure_path(ROOT)
                path = "%s/w-%08d" % (ROOT, n)
                value = str(n).encode()
                # Bounded: a request to a partitioned member must not hang the loop.
                client.create_async(path, value).get(timeout=5)
                acks.write("%d\n" % n)
                acks.flush()
                os.fsync(acks.fileno())
                acked += 1
                last_ok = time.monotonic()
                if acked % 20 == 0:
                    data, _ = client.get_async(path).get(timeout=5)
                    if data != value:
                        print("read %s: %r != %r" % (path, data, value), file=sys.stderr)
                        return 1
                    reads += 1
            except (KazooException, KazooTimeoutError, OSError) as e:
                failed += 1
                print("write %d failed: %s" % (n, type(e).__name__), file=sys.stderr)
                if time.monotonic() - last_ok > 3 and client is not None:
                    # Members moved or the session is gone: start over with fresh hosts.
                    discard(client)
                    client = None
                    last_ok = time.monotonic()
                time.sleep(0.2)
            n += 1
            time.sleep(0.02)
    if client is not None:
        discard(client)
    print("acked=%d failed=%d reads=%d" % (acked, failed, reads))
    return 0


def verify(hosts, ack_file):
    with open(ack_file) as f:
        acked = [int(line) for line in f if line.strip()]
    client = connect(hosts)
    try:
        client.sync(ROOT)
        missing = []
        for n in acked:
            path = "%s/w-%08d" % (ROOT, n)
            try:
                data, _ = client.get(path)
                if data != str(n).encode():
                    missing.append("%s (value %r)" % (path, data))
            except KazooException:
                missing.append(path)
    finally:
        client.stop()
        client.close()
    print("acked=%d missing=%d" % (len(acked), len(missing)))
    if missing:
        print("lost: %s" % ", ".join(missing[:20]), file=sys.stderr)
        return 1
    return 0


def main(argv):
    logging.basicConfig(level=logging.CRITICAL)
    if len(argv) == 5 and argv[1] == "run":
        return run(argv[2], argv[3], argv[4])
    if len(argv) == 4 and argv[1] == "verify":
        return verify(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
