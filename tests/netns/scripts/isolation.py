"""Run inside ``vcc sandbox run``: what the namespace's network looks like from a process in it.

Prints one JSON object: the interfaces, the routes, and for each address tried the
outcome of a TCP connect (``"connected"`` or the errno name).  Addresses outside the
namespace are tried only when ``lo`` is the only interface (no route can then leave it);
they are documentation and private addresses (RFC 5737, RFC 1918, RFC 3849).
``argv[1]`` is a port on which the test listens on the host's 127.0.0.1.
"""

from __future__ import annotations

import errno
import json
import socket
import subprocess
import sys

OUTSIDE = ["192.0.2.1", "198.51.100.7", "203.0.113.9", "10.0.0.1", "172.30.2.5", "2001:db8::1"]


def connect(address: str, port: int) -> str:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        try:
            sock.connect((address, port))
        except OSError as error:
            return errno.errorcode.get(error.errno or 0, str(error))
        return "connected"


def main() -> None:
    host_port = int(sys.argv[1])
    interfaces = sorted(name for _, name in socket.if_nameindex())
    routes = {
        family: subprocess.run(
            ["ip", family, "route", "show", "table", "all"], capture_output=True, text=True
        ).stdout
        for family in ("-4", "-6")
    }
    tried = {"127.0.0.1": connect("127.0.0.1", host_port), "::1": connect("::1", host_port)}
    if interfaces == ["lo"]:  # nothing can leave: safe to try addresses outside
        tried.update({address: connect(address, 22) for address in OUTSIDE})
    print(json.dumps({"interfaces": interfaces, "routes": routes, "connect": tried}))


if __name__ == "__main__":
    main()
