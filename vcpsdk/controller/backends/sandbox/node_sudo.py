"""``sudo`` of a confined sandbox node (run there with the host's ``/usr/bin/python3``).

A node's users other than root (``vcp``) run in a user namespace of their own, where no
set-uid program can make them root.  As in the Base container, they have passwordless
sudo: this program (``/usr/bin/sudo`` and ``/run/vcp-bin/sudo`` inside the node) hands
the command, its working directory and its standard streams (``SCM_RIGHTS``) to the
node's sudo broker on ``/run/vcp-sudo/sudo.sock`` (``users.py``), which runs it as a root
session of the same node and sends back the exit status.

It understands the options notebooks and Ansible use: ``-u root|<self>``, ``-i``, ``-s``,
``-E``/``--preserve-env``, ``-H``, ``-S``, ``-n``, ``-k``, ``-v``, ``-l``, ``-p PROMPT``,
``--``.  It uses the standard library only: it runs outside vcpsdk's environment.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys

SOCKET = "/run/vcp-sudo/sudo.sock"
#: options that take a value (the value is ignored unless it is -u's)
WITH_VALUE = set("ugpChUrtDT")
USAGE = "usage: sudo [-EHiknSsv] [-u user] [--] command [arg ...]\n"


def _parse(args: list[str]) -> tuple[dict[str, object], list[str]]:
    options: dict[str, object] = {
        "user": "root",
        "login": False,
        "shell": False,
        "keep_env": False,
        "only": "",
    }
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            index += 1
            break
        if arg.startswith("--"):
            name, _, value = arg[2:].partition("=")
            if name == "user":
                options["user"] = value or args[index + 1]
                index += 0 if value else 1
            elif name == "preserve-env":
                options["keep_env"] = True
            elif name in ("login", "shell"):
                options[name] = True
            elif name in ("validate", "list", "reset-timestamp", "remove-timestamp", "version"):
                options["only"] = name
            index += 1
            continue
        if not arg.startswith("-") or arg == "-":
            break
        letters = arg[1:]
        for position, letter in enumerate(letters):
            if letter in WITH_VALUE:
                value = letters[position + 1 :] or (args[index + 1] if index + 1 < len(args) else "")
                if not letters[position + 1 :]:
                    index += 1
                if letter == "u":
                    options["user"] = value
                break
            if letter == "i":
                options["login"] = True
            elif letter == "s":
                options["shell"] = True
            elif letter == "E":
                options["keep_env"] = True
            elif letter in "vlkKV":
                options["only"] = {"v": "validate", "l": "list", "V": "version"}.get(
                    letter, "reset-timestamp"
                )
        index += 1
    return options, args[index:]


def _shell() -> str:
    return "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"


def main(args: list[str]) -> int:
    """Run ``args`` (sudo's options, then the command) as root; returns its exit status."""
    options, command = _parse(args)
    me = os.environ.get("USER") or str(os.getuid())
    if options["only"] == "list" and not command:
        sys.stdout.write(
            f"User {me} may run the following commands on this host:\n    (ALL : ALL) NOPASSWD: ALL\n"
        )
        return 0
    if options["only"] == "version":
        sys.stdout.write("Sudo version 1.9 (vcpsdk sandbox node)\n")
        return 0
    if options["only"] and not command:
        return 0  # -v, -k, -K: no password, no timestamp
    if options["login"]:
        command = [_shell(), "-l"] + (["-c", " ".join(command)] if command else [])
    elif options["shell"]:
        command = [os.environ.get("SHELL") or _shell()] + (["-c", " ".join(command)] if command else [])
    if not command:
        sys.stderr.write(USAGE)
        return 1
    user = str(options["user"])
    if user.startswith("#"):
        user = "root" if user == "#0" else user
    if user == me or (user == "root" and os.getuid() == 0):
        path = shutil.which(command[0]) or command[0]
        try:
            os.execv(path, command)
        except OSError as error:
            sys.stderr.write(f"sudo: {command[0]}: {error.strerror}\n")
            return 127 if isinstance(error, FileNotFoundError) else 126
    if user != "root":
        sys.stderr.write(f"sudo: unknown user {user}\n")
        return 1
    request = {
        "argv": command,
        "cwd": os.getcwd(),
        "env": dict(os.environ)
        if options["keep_env"]
        else {k: v for k, v in os.environ.items() if k in ("TERM", "LANG", "LC_ALL", "DISPLAY", "COLORTERM")},
        "login": bool(options["login"]),
        "user": me,
    }
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as broker:
            broker.connect(SOCKET)
            socket.send_fds(broker, [json.dumps(request).encode()], [0, 1, 2])
            reply = broker.recv(64)
    except OSError as error:
        sys.stderr.write(f"sudo: the node's sudo broker is not reachable ({error.strerror})\n")
        return 1
    try:
        return int(reply.decode() or "1")
    except ValueError:
        sys.stderr.write(f"sudo: {reply.decode(errors='replace')}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
