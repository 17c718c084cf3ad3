"""The client side: hand a command to this environment's run daemon, if one is listening.

Kept to the standard library so that a served ``interop run`` costs an interpreter start and a
socket round trip, not an Airflow import.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from interop.daemon.protocol import Channel, ProtocolError, check_socket, peer_uid, socket_path

__all__ = ["DISABLE_ENV", "daemon_disabled", "forward", "request"]

#: set to 0/false/no/off to never use a daemon
DISABLE_ENV = "INTEROP_DAEMON"

#: seconds to wait for a daemon to accept (one that never does is not waited for)
CONNECT_TIMEOUT = 5.0
#: seconds a ``status`` or ``stop`` request may take
REQUEST_TIMEOUT = 30.0


def daemon_disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() in ("0", "false", "no", "off")


def _connect(path: Path | None = None) -> socket.socket | None:
    """A connection to this environment's daemon, checked to be this user's own daemon before
    anything is sent (a request carries the environment, secrets included); ``None`` otherwise.

    The socket's directory is private (:func:`~interop.daemon.protocol.runtime_dir`), the socket
    file is ours (``lstat``), and the process that accepted the connection runs as this user
    (``SO_PEERCRED``).
    """
    if not hasattr(socket, "AF_UNIX") or not hasattr(socket, "send_fds"):
        return None
    try:
        path = path or socket_path()
        check_socket(path)
    except OSError:  # no daemon, or a directory or socket that is not ours: never used
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(str(path))
        owner = peer_uid(sock)
        sock.settimeout(None)
    except OSError:  # a daemon that died without removing its socket
        sock.close()
        return None
    if owner is not None and owner != os.getuid():
        sock.close()
        print(f"warning: {path} is served by user id {owner}, not by you; not used", file=sys.stderr)
        return None
    return sock


def request(op: str, path: Path | None = None) -> dict[str, Any] | None:
    """Send ``status`` or ``stop`` to this environment's daemon (or the one listening on
    ``path``); ``None`` when none listens."""
    sock = _connect(path)
    if sock is None:
        return None
    with sock:
        channel = Channel(sock)
        try:
            sock.settimeout(REQUEST_TIMEOUT)
            channel.send({"op": op})
            reply, _ = channel.recv()
        except (OSError, ProtocolError, ValueError):
            return None
        return reply


def _standard_fds() -> list[int] | None:
    """Descriptors 0, 1, 2 when the Python streams really are them (not a test runner's capture)."""
    for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
        try:
            if stream.fileno() != fd:
                return None
        except (AttributeError, OSError, ValueError):
            return None
    fds = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:  # a closed stream (stdin in some CI runners): the worker gets /dev/null
            fds.append(os.open(os.devnull, os.O_RDWR))
    return fds


def forward(command: str, arguments: dict[str, Any]) -> int | None:
    """Run ``command`` in a worker forked by the daemon; its exit code, or ``None`` to run here.

    The worker gets this process's working directory, environment, ``sys.path``, umask and
    standard streams; Ctrl-C (SIGINT) and SIGTERM are passed on to it.
    """
    if daemon_disabled():
        return None
    fds = _standard_fds()
    if fds is None:
        return None
    try:
        cwd = os.getcwd()
    except OSError:  # the working directory was removed: let the command say so itself
        return None
    sock = _connect()
    if sock is None:
        return None
    umask = os.umask(0)
    os.umask(umask)
    sys.stdout.flush()
    sys.stderr.flush()
    channel = Channel(sock)
    with sock:
        try:
            channel.send(
                {
                    "op": "run",
                    "command": command,
                    "arguments": arguments,
                    "cwd": cwd,
                    "env": dict(os.environ),
                    "sys_path": list(sys.path),
                    "argv": list(sys.argv),
                    "umask": umask,
                },
                fds=fds,
            )
            reply, _ = channel.recv()
        except (OSError, ProtocolError):
            return None  # nothing ran: the daemon went away before it took the request
        if reply is None or "pid" not in reply:
            return None
        worker = int(reply["pid"])

        def _pass_on(signum: int, _frame: Any) -> None:
            try:
                os.killpg(worker, signum)  # the worker leads its own process group
            except (ProcessLookupError, PermissionError):
                pass

        previous = {sig: signal.signal(sig, _pass_on) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while True:
                try:
                    reply, _ = channel.recv()
                    break
                except InterruptedError:
                    continue
        except (OSError, ProtocolError):
            reply = None
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if reply is None or "exit" not in reply:
        print("error: the interop daemon ended before the run finished", file=sys.stderr)
        return 1
    return int(reply["exit"])
