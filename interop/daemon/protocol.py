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
import stat
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "SERVED_ENV_PREFIXES",
    "Channel",
    "ProtocolError",
    "check_private_dir",
    "changed_files",
    "check_socket",
    "environment_key",
    "peer_uid",
    "project_files",
    "runtime_dir",
    "socket_path",
]

#: environment variables that must match between client and daemon (read at import time)
SERVED_ENV_PREFIXES = ("AIRFLOW", "PYTHONPATH", "PYTHONHOME")

#: this project's folders under the install root: ``shims/`` in a checkout (an editable install),
#: ``airflow_interop/`` in site-packages (a wheel installs the folder under its import name)
_PACKAGES = ("interop", "converters", "shims", "airflow_interop")
_MAX_MESSAGE = 16 * 1024 * 1024


class ProtocolError(Exception):
    """A malformed or truncated message."""


def project_files() -> dict[str, int]:
    """This project's modules imported in this process, with their modification times: a daemon
    whose preloaded code was edited since (an edit or an upgrade) serves no more runs."""
    root = str(Path(__file__).resolve().parent.parent.parent) + os.sep
    out: dict[str, int] = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not path or not path.startswith(root) or not path.endswith(".py"):
            continue
        if not path[len(root):].startswith(_PACKAGES):
            continue
        try:
            out[path] = os.stat(path).st_mtime_ns
        except OSError:
            out[path] = -1
    return out


def changed_files(loaded: dict[str, int]) -> list[str]:
    """Which of ``loaded`` (from :func:`project_files`) changed or went away since."""
    changed = []
    for path, mtime in loaded.items():
        try:
            now = os.stat(path).st_mtime_ns
        except OSError:
            now = -1
        if now != mtime:
            changed.append(path)
    return changed


def environment_key(env: dict[str, str] | None = None) -> str:
    """A short hash of what a daemon's preloaded state depends on."""
    env = dict(os.environ if env is None else env)
    parts = [sys.executable, sys.prefix, sys.version, str(Path(__file__).resolve().parent)]
    parts += sorted(f"{k}={v}" for k, v in env.items() if k.startswith(SERVED_ENV_PREFIXES))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def runtime_dir() -> Path:
    """A directory only this user can enter: ``$INTEROP_DAEMON_DIR``, else ``interop-<uid>``
    under ``$XDG_RUNTIME_DIR`` or the temp dir.

    Created with mode 700; an existing one is checked with ``lstat`` (a symbolic link is never
    followed): it must be a real directory, owned by this user, with no access for others.
    Another local user who created the path first (in a shared temp dir) gets refused, not
    served.

    Raises:
        PermissionError: the path is a link, not a directory, someone else's, or not private.
    """
    base = os.environ.get("INTEROP_DAEMON_DIR")
    if base:
        path = Path(base)
    else:
        root = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
        path = Path(root) / f"interop-{os.getuid()}"
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
    check_private_dir(path)
    return path


def check_private_dir(path: Path) -> None:
    """``path`` (not what a link there points to) is a directory of ours, mode 700 or stricter.

    Raises:
        PermissionError: naming the path and what is wrong.
    """
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise PermissionError(f"{path} is a symbolic link; the interop daemon's directory must be a real directory")
    if not stat.S_ISDIR(info.st_mode):
        raise PermissionError(f"{path} is not a directory")
    if info.st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to user id {info.st_uid}, not to you ({os.getuid()}); remove it or set INTEROP_DAEMON_DIR")
    if info.st_mode & 0o077:
        raise PermissionError(f"{path} must be private (mode 700), not {stat.filemode(info.st_mode)}")


def check_socket(path: Path) -> None:
    """The socket file itself is ours (``lstat``: not a link to someone else's).

    Raises:
        PermissionError: a link, not a socket, or someone else's.
    """
    info = os.lstat(path)
    if not stat.S_ISSOCK(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(f"{path} is not a socket of yours")


def peer_uid(sock: socket.socket) -> int | None:
    """The user id of the process at the other end of a connected Unix socket (``SO_PEERCRED``);
    ``None`` where the system cannot tell."""
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


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
