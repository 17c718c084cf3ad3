"""Writing the user's files safely: atomically, with the permissions they expect.

Every file ``interop`` writes for a user (converted flows, helper modules copied to ``--out``,
``--in-place`` rewrites, ``lint --fix``, reports) goes through :func:`atomic_write`:

* the new text goes to a temporary file in the same folder, flushed to disk, then renamed over
  the target: a full disk or a crash leaves the old file whole, never a truncated one;
* an existing file keeps its mode (and its owner, where the caller may set it); a new file gets
  the mode the umask gives (``0o666 & ~umask``), as ``open()`` would, not ``mkstemp``'s 0600;
* a symbolic link is written through: the file it points to is replaced, the link stays a link;
* a file its owner made read-only is not replaced (``PermissionError``), as ``open()`` would
  refuse it, although renaming over it would work;
* a target that exists and is not a regular file (``/dev/stdout``, a FIFO, ``/dev/full``) is
  written to directly: renaming over a device is never right.

Errors are :class:`OSError` as the system gives them; :func:`reason` words one for a message.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "current_umask", "new_file_mode", "reason"]


def current_umask() -> int:
    """The process umask (read from ``/proc`` where it is there, so nothing is changed)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: ``0o666`` less the umask."""
    return 0o666 & ~current_umask()


def reason(exc: OSError) -> str:
    """``Read-only file system``, ``No space left on device``: the words of an OS error."""
    return exc.strerror or str(exc)


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Replace ``path``'s content with ``data`` (text is written as UTF-8, line endings as they are).

    Folders missing on the way are created. Raises :class:`OSError` (the old file, if any, is
    then unchanged and no temporary file is left).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(21, "Is a directory", str(path))
        with open(path, "wb") as fh:  # a device, a FIFO, /dev/stdout: written as it is
            fh.write(data)
        return
    target = Path(os.path.realpath(path))  # through symbolic links: the link stays a link
    if st is not None and not os.access(target, os.W_OK):  # a read-only file is not replaced
        raise PermissionError(13, "Permission denied", str(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                with contextlib.suppress(OSError):  # only root may give a file away
                    os.chown(tmp, st.st_uid, st.st_gid)
        else:
            os.chmod(tmp, new_file_mode())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
