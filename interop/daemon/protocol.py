"""Where a run daemon listens and how client and daemon talk (standard library only).

One daemon serves one *environment*: the interpreter, this package's code, and the environment
variables Airflow reads at import time (``AIRFLOW*``) or that change what imports
(``PYTHONPATH``). The daemon imported Airflow once with those values, so a client whose values
differ is not served by it: :func:`environment_key` names the socket, and a client with another
key simply finds no daemon.

Messages are length-prefixed JSON (4-byte big-endian length). The client's first message carries
its standard streams as file descriptors (``SCM_RIGHTS``), so the forked worker writes straight
to the client's terminal, pipe or file.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "SERVED_ENV_PREFIXES",
    "Channel",
    "ProtocolError",
    "environment_key",
    "runtime_dir",
    "socket_path",
]

#: environment variables that must match between client and daemon (read at import time)
SERVED_ENV_PREFIXES = ("AIRFLOW", "PYTHONPATH", "PYTHONHOME")

_PACKAGES = ("interop", "shims", "converters")
_MAX_MESSAGE = 16 * 1024 * 1024


class ProtocolError(Exception):
    """A malformed or truncated message."""


def _code_stamp() -> str:
    """Newest modification time of this project's Python files: a daemon started before an edit
    or an upgrade is not used afterwards."""
    root = Path(__file__).resolve().parent.parent.parent
    newest = 0
    for package in _PACKAGES:
        stack = [root / package]
        while stack:
            try:
                entries = list(os.scandir(stack.pop()))
            except OSError:
                continue
            for entry in entries:
                if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    stack.append(Path(entry.path))
                elif entry.name.endswith(".py"):
                    newest = max(newest, entry.stat().st_mtime_ns)
    return str(newest)


def environment_key(env: dict[str, str] | None = None) -> str:
    """A short hash of what a daemon's preloaded state depends on."""
    env = dict(os.environ if env is None else env)
    parts = [sys.executable, sys.prefix, sys.version, _code_stamp()]
    parts += sorted(f"{k}={v}" for k, v in env.items() if k.startswith(SERVED_ENV_PREFIXES))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def runtime_dir() -> Path:
    """A directory only this user can enter (``$XDG_RUNTIME_DIR`` or the temp dir)."""
    base = os.environ.get("INTEROP_DAEMON_DIR")
    if base:
        path = Path(base)
    else:
        root = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
        path = Path(root) / f"interop-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{path} must belong to you and be private (mode 700)")
    return path


def socket_path(key: str | None = None) -> Path:
    """The socket of the daemon for this environment (``key`` from :func:`environment_key`)."""
    return runtime_dir() / f"run-{key or environment_key()}.sock"


class Channel:
    """Messages over one connected socket; bytes that arrive early wait for the next read."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = b""

    def send(self, payload: dict[str, Any], fds: list[int] | None = None) -> None:
        data = json.dumps(payload).encode()
        framed = struct.pack(">I", len(data)) + data
        if fds:
            sent = socket.send_fds(self.sock, [framed], fds)
            framed = framed[sent:]
        if framed:
            self.sock.sendall(framed)

    def recv(self, max_fds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
        """One message and the descriptors that came with it; ``(None, [])`` at a clean end."""
        fds: list[int] = []
        if max_fds and not self._buf:
            data, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, max_fds)
            if not data:
                return None, fds
            self._buf = data
        if not self._fill(4):
            return None, fds
        (length,) = struct.unpack(">I", self._buf[:4])
        if length > _MAX_MESSAGE:
            raise ProtocolError(f"message of {length} bytes is too long")
        if not self._fill(4 + length):
            raise ProtocolError("connection closed inside a message")
        data, self._buf = self._buf[4 : 4 + length], self._buf[4 + length :]
        return json.loads(data), fds

    def _fill(self, size: int) -> bool:
        while len(self._buf) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                if self._buf and size > 4:
                    return False
                if self._buf:
                    raise ProtocolError("connection closed inside a message")
                return False
            self._buf += chunk
        return True
