"""Load a report in headless Chromium over the DevTools protocol: console errors, DOM checks, a screenshot.

Used by the tests (the page must load with no console error and both graphs must render) and
to make the screenshot in ``docs/``. Needs ``chromium`` (Debian package; ``scripts/setup-dev``)
and the ``websockets`` package (installed with Prefect). No network: the page is a local file.

Example:
    >>> check = load_page("out/customer_diamond.html", screenshot="shot.png",
    ...                   evaluate="document.querySelectorAll('svg.dag-graph').length")  # doctest: +SKIP
    >>> check.errors, check.value  # doctest: +SKIP
    ([], 2)
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PageCheck", "BrowserUnavailable", "find_chromium", "load_page"]

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-debugging-port=0", "--remote-allow-origins=*",
]


class BrowserUnavailable(RuntimeError):
    """Chromium is not installed or did not start."""


@dataclass
class PageCheck:
    """What the page did: console errors and exceptions, the evaluated value, the screenshot."""

    errors: list[str] = field(default_factory=list)
    value: Any = None
    screenshot: Path | None = None
    title: str = ""


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    raise BrowserUnavailable("no Chromium found on PATH (looked for chromium, chromium-browser, google-chrome); "
                             "install it with scripts/setup-dev (apt-get install chromium)")


class _Cdp:
    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect

        self.ws = connect(url, max_size=None, open_timeout=20)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, params: dict | None = None, timeout: float = 30.0) -> dict:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method: str, timeout: float = 30.0) -> dict:
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if msg.get("method") == method:
                return msg
            self.events.append(msg)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.events.append(json.loads(self.ws.recv(timeout=max(0.05, deadline - time.monotonic()))))
            except TimeoutError:
                return

    def close(self) -> None:
        self.ws.close()


def _errors(events: list[dict]) -> list[str]:
    out = []
    for ev in events:
        method, p = ev.get("method"), ev.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append(f"exception: {d.get('text')} {d.get('exception', {}).get('description', '')}".strip())
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            out.append(f"{e.get('source')}: {e.get('text')} {e.get('url', '')}".strip())
    return out


def load_page(path: str | Path, *, screenshot: str | Path | None = None, evaluate: str | None = None,
              width: int = 1400, height: int = 900, full_page: bool = True, timeout: float = 60.0) -> PageCheck:
    """Open ``path`` in a fresh headless Chromium, wait for the load event, and report.

    Args:
        path: an HTML file.
        screenshot: write a PNG here.
        evaluate: a JavaScript expression; its (JSON) value is returned in ``value``.
        full_page: screenshot the whole page, not just the first screen.

    Raises:
        BrowserUnavailable: Chromium is missing or did not start in time.
    """
    exe = find_chromium()
    profile = Path(tempfile.mkdtemp(prefix="interop-chromium-"))
    proc = subprocess.Popen(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    cdp = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BrowserUnavailable(f"{exe} did not start (exit code {proc.poll()})")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = []
        while not targets:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:  # noqa: S310 - local
                targets = [t for t in json.load(resp) if t.get("type") == "page"]
            if not targets:
                if time.monotonic() > deadline:
                    raise BrowserUnavailable("Chromium has no page target")
                time.sleep(0.1)
        cdp = _Cdp(targets[0]["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log"):
            cdp.call(f"{domain}.enable")
        cdp.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        cdp.call("Page.navigate", {"url": Path(path).resolve().as_uri()})
        cdp.wait_event("Page.loadEventFired", timeout=timeout)
        cdp.drain(0.3)
        check = PageCheck()
        title = cdp.call("Runtime.evaluate", {"expression": "document.title", "returnByValue": True})
        check.title = title.get("result", {}).get("value", "")
        if evaluate is not None:
            res = cdp.call("Runtime.evaluate", {"expression": evaluate, "returnByValue": True})
            if "exceptionDetails" in res:
                check.errors.append(f"evaluate: {res['exceptionDetails'].get('text')}")
            check.value = res.get("result", {}).get("value")
        if screenshot is not None:
            params: dict[str, Any] = {"format": "png"}
            if full_page:
                metrics = cdp.call("Page.getLayoutMetrics")
                size = metrics.get("cssContentSize") or metrics.get("contentSize")
                params["clip"] = {"x": 0, "y": 0, "width": max(width, size["width"]), "height": size["height"], "scale": 1}
                params["captureBeyondViewport"] = True
            data = cdp.call("Page.captureScreenshot", params)["data"]
            shot = Path(screenshot)
            shot.parent.mkdir(parents=True, exist_ok=True)
            shot.write_bytes(base64.b64decode(data))
            check.screenshot = shot
        cdp.drain(0.1)
        check.errors += _errors(cdp.events)
        return check
    finally:
        if cdp is not None:
            try:
                cdp.call("Browser.close", timeout=5)
            except Exception:  # noqa: BLE001 - the browser is going away anyway
                pass
            cdp.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
