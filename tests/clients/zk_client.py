#!/usr/bin/python3
"""A real ZooKeeper client (kazoo) for end-to-end tests.

  zk_client.py write HOSTS PATH VALUE   create or set PATH, print the new version
  zk_client.py read HOSTS PATH          print PATH's value

HOSTS is a ZooKeeper connection string (host:port,...). Exit code 0 on success; errors
go to stderr. Uses Debian's python3-kazoo (run with /usr/bin/python3).
"""
import sys

from kazoo.client import KazooClient


def main(argv):
    if len(argv) < 4 or argv[1] not in ("write", "read"):
        print(__doc__, file=sys.stderr)
        return 2
    command, hosts, path = argv[1], argv[2], argv[3]
    client = KazooClient(hosts=hosts, timeout=10.0, connection_retry={"max_tries": 3})
    client.start(timeout=15)
    try:
        if command == "write":
            value = argv[4].encode() if len(argv) > 4 else b""
            client.ensure_path(path)
            stat = client.set(path, value)
            print(stat.version)
        else:
            client.sync(path)
            data, _ = client.get(path)
            print(data.decode())
    finally:
        client.stop()
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
