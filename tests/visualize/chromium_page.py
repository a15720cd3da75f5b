"""Headless Chromium driven over the DevTools protocol, for the gallery's browser test.

:class:`Browser` starts Debian's ``chromium`` with ``--remote-debugging-port=0`` in a fresh
profile (with the flags that keep it from reaching out: no background networking, no
component updates, no sync), opens one page, and records what a person's browser would show
in its developer tools: console messages and uncaught exceptions, and every request the page
makes (URL and whether it failed). It can set the window width, evaluate JavaScript and take
screenshots of the whole page or of one element. Only the standard library and the small
``websocket-client`` package (a test dependency) are used.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

__all__ = ["Browser", "find_chromium"]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--hide-scrollbars", "--mute-audio", "--allow-file-access-from-files")


def find_chromium() -> str | None:
    """The Chromium executable, or None when it is not installed."""
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(n)), None)


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, executable: str, timeout: float = 60.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="minigrad-chromium-")
        self.process = subprocess.Popen([executable, *FLAGS, "--remote-debugging-port=0",
                                         f"--user-data-dir={self.profile}", "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = self._port()
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=timeout,
                                              suppress_origin=True)
        self._id = 0
        self.console, self.exceptions, self.requests, self.failed = [], [], [], []
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(f"{domain}.enable")

    def _port(self) -> int:
        marker = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with status {self.process.returncode}")
            time.sleep(0.1)
        raise TimeoutError("chromium did not open its DevTools port")

    # ------------------------------------------------------------------ protocol
    def call(self, method: str, **params) -> dict:
        """Send one command and return its result, recording the events that arrive meanwhile."""
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._record(message)
        raise TimeoutError(method)

    def _record(self, event: dict) -> None:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            self.console.append((params["type"], " ".join(str(a.get("value", a.get("description")))
                                                         for a in params.get("args", []))))
        elif method == "Runtime.exceptionThrown":
            self.exceptions.append(params["exceptionDetails"].get("text"))
        elif method == "Log.entryAdded":
            entry = params["entry"]
            if entry["level"] in ("error", "warning"):
                self.console.append((entry["level"], entry.get("text", "") + " " + entry.get("url", "")))
        elif method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Network.loadingFailed":
            self.failed.append(params.get("errorText"))
        self._last_event = method

    def wait_for(self, event: str) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            self._record(message)
            if message.get("method") == event:
                return
        raise TimeoutError(event)

    # ------------------------------------------------------------------ page
    def open(self, url: str, width: int, height: int = 900) -> None:
        """Load ``url`` in a window ``width`` x ``height`` CSS pixels wide and wait for it."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=False)
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path, selector: str | None = None) -> Path:
        """A PNG of the whole page, or of the first element matching ``selector``."""
        if selector is None:
            box = self.evaluate("({x: 0, y: 0, width: document.documentElement.scrollWidth,"
                                " height: document.documentElement.scrollHeight})")
        else:
            box = self.evaluate(f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
                                ".getBoundingClientRect(); return {x: r.left + scrollX, y: r.top + scrollY,"
                                " width: r.width, height: r.height}; })()")
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         clip={**box, "scale": 1})
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def screenshots_folder() -> Path | None:
    """Where the test saves the README's screenshots (``MINIGRAD_SCREENSHOTS``), if anywhere."""
    folder = os.environ.get("MINIGRAD_SCREENSHOTS")
    return Path(folder) if folder else None
