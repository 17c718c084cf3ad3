"""``interop daemon start|stop|status``: a warm process that serves ``interop run``.

While a daemon runs for this environment (same interpreter, same ``AIRFLOW*`` and
``PYTHONPATH`` variables, same interop code), ``interop run`` hands its work to a worker forked
from it instead of importing Airflow itself. See ``docs/daemon.md``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import click

__all__ = ["daemon"]


@click.group(name="daemon")
def daemon() -> None:
    """A warm process that serves 'interop run' in about 0.1-0.4 s instead of about 2 s.

    Exit codes: 0 done (or, for status, a daemon is running); 1 none is running (status, stop)
    or it failed to start; 2 its socket directory is not private to you (a link, someone
    else's, or open to others).
    """


@daemon.command()
@click.option("--idle-timeout", type=float, default=900.0, show_default=True, help="Stop after this many seconds without a run (0: never).")
@click.option("--no-warmup", is_flag=True, help="Only import Airflow; do not run the warm-up DAG first.")
@click.option("--wait", "wait_seconds", type=float, default=120.0, show_default=True, help="How long to wait for the daemon to listen.")
def start(idle_timeout: float, no_warmup: bool, wait_seconds: float) -> None:
    """Start the daemon for this environment (in the background) and wait until it listens."""
    from interop.daemon.client import request
    from interop.daemon.protocol import socket_path

    running = request("status")
    if running is not None and running.get("stale"):  # its preloaded code was edited since
        click.echo(f"interop daemon {running['pid']} preloaded code edited since ({running['stale'][0]}); starting a new one", err=True)
        request("stop")
    elif running is not None:
        click.echo(f"interop daemon already running (pid {running['pid']}) on {running['socket']}", err=True)
        return
    try:
        path = socket_path()
    except OSError as exc:  # the socket's directory is not a private one of ours: never used
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    log_path = path.with_suffix(".log")
    cmd = [sys.executable, "-P", "-m", "interop.daemon.server", "--socket", str(path), "--idle-timeout", str(idle_timeout)]
    if no_warmup:
        cmd.append("--no-warmup")
    began = time.perf_counter()
    with open(log_path, "ab") as log, open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(cmd, stdin=devnull, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    while True:
        status = request("status", path)  # its socket, even if the code changed meanwhile
        if status is not None and status.get("pid") == proc.pid:
            break
        if proc.poll() is not None or time.perf_counter() - began > wait_seconds:
            if proc.poll() is None:
                proc.kill()
            tail = log_path.read_text(errors="replace")[-3000:]
            click.echo(f"error: the interop daemon did not start; its log ({log_path}) ends:\n{tail}", err=True)
            sys.exit(1)
        time.sleep(0.05)
    idle = f"; stops after {idle_timeout:g} s idle" if idle_timeout > 0 else ""
    click.echo(f"interop daemon started (pid {proc.pid}) in {time.perf_counter() - began:.1f} s: Airflow {status['airflow']} preloaded{idle}", err=True)
    click.echo(f"  socket {path}\n  log    {log_path}", err=True)


@daemon.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """Show the daemon serving this environment, if any (exit 1 when none)."""
    from interop.daemon.client import request

    info = request("status")
    if as_json:
        click.echo(json.dumps(info or {"running": None}, indent=2))
    elif info is None:
        click.echo("no interop daemon for this environment", err=True)
    else:
        click.echo(
            f"interop daemon pid {info['pid']}: Airflow {info['airflow']}, up since {info['started']}, "
            f"{info['served']} run(s) served, {info['running']} running\n  socket {info['socket']}"
        )
        if info.get("stale"):
            click.echo(f"  retired: its preloaded code changed since ({info['stale'][0]}); 'interop daemon start' replaces it")
    sys.exit(0 if info is not None else 1)


@daemon.command()
@click.option("--wait", "wait_seconds", type=float, default=30.0, show_default=True, help="How long to wait for running workers to end.")
def stop(wait_seconds: float) -> None:
    """Stop the daemon for this environment once its running workers end (exit 1 when none)."""
    from interop.daemon.client import request

    reply = request("stop")
    if reply is None:
        click.echo("no interop daemon for this environment", err=True)
        sys.exit(1)
    pid = int(reply["pid"])
    deadline = time.perf_counter() + wait_seconds
    while _alive(pid) and time.perf_counter() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        click.echo(f"interop daemon {pid} still has running workers after {wait_seconds:g} s; it stops when they end", err=True)
        return
    click.echo(f"interop daemon {pid} stopped", err=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped by its parent) counts as gone
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True
