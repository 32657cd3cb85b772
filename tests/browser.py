"""A headless Chromium driven over the DevTools protocol on a pipe (no extra Python package), and
a crawler that checks a static site served over HTTP: every page loads without console errors or
failed requests, every image decodes, every link answers 200 and every #fragment exists.

System tools the tests need are installed by ``make system-deps`` (part of ``make test``) when
missing and the machine allows it (root with apt-get); :func:`require_tool` skips with the reason
only when it cannot be installed here.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlparse

import pytest


def require_tool(name: str, package: str) -> str:
    """The tool's path; fail when it could be installed here (root with apt-get), else skip."""
    path = shutil.which(name)
    if path:
        return path
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        pytest.fail(f"{name} is missing: run `make system-deps` (make test installs {package})")
    pytest.skip(f"{name} is not installed and cannot be installed here (needs root and apt-get)")


class Chromium:
    """One headless Chromium with one page, spoken to as DevTools JSON messages on a pipe."""

    def __init__(self, executable: str) -> None:
        self._profile = tempfile.mkdtemp(prefix="metafuse-chromium-")
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()
        flags = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile}",
            "about:blank",
        ]
        # the protocol pipe is fd 3 (commands in) and fd 4 (replies out) in the browser
        launcher = (
            "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        self._proc = subprocess.Popen(
            [sys.executable, "-c", launcher, str(to_child), str(from_child), executable, *flags],
            pass_fds=(to_child, from_child),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self._session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)

    def _send(self, message: dict[str, Any]) -> None:
        os.write(self._write, json.dumps(message).encode() + b"\0")

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)  # type: ignore[no-any-return]

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, session: bool = False
    ) -> dict[str, Any]:
        """Send a command and wait for its reply (events meanwhile go to :attr:`events`)."""
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        self._send(message)
        while True:
            reply = self._receive()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})  # type: ignore[no-any-return]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        """Wait for the next event named ``method`` (earlier events are kept)."""
        while True:
            event = self._receive()
            self.events.append(event)
            if event.get("method") == method:
                return event

    def open(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (promises awaited)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:60]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, failed requests and HTTP errors of the page opened
        last (the browser's own /favicon.ico probe aside: it is no link of the page)."""
        out = []
        mine = {  # requests of this page (a late event of the page before is not its problem)
            e["params"]["requestId"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
            and not e["params"]["request"]["url"].endswith("/favicon.ico")
        }
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if (m or "").startswith("Network.") and p.get("requestId") not in mine:
                continue
            if m == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails'].get('text')}")
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(f"console {p['type']}: {p.get('args')}")
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                if p["entry"].get("url", "").endswith("/favicon.ico"):
                    continue  # the browser's own favicon probe, not a link of the page
                out.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif m == "Network.loadingFailed":
                out.append(f"request failed: {p.get('errorText')}")
            elif m == "Network.responseReceived" and p["response"]["status"] >= 400:
                out.append(f"HTTP {p['response']['status']}: {p['response']['url']}")
        return out

    def close(self) -> None:
        try:
            self._send({"id": 0, "method": "Browser.close"})
            self._proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
        finally:
            os.close(self._read)
            os.close(self._write)
            shutil.rmtree(self._profile, ignore_errors=True)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """``folder`` served on 127.0.0.1 (a free port) for the duration; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


PAGE_FACTS = """(() => {
  const links = [...document.querySelectorAll('a[href]:not(.source)')].map(a => a.href);
  const sources = [...document.querySelectorAll('a.source[href]')].map(a => a.href);
  const images = [...document.images].map(i => ({src: i.currentSrc || i.src,
    ok: i.complete && i.naturalWidth > 0}));
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  return {links, sources, images, ids, text: document.body.innerText.trim().length};
})()"""


def crawl(browser: Chromium, start: str) -> dict[str, Any]:
    """Visit every HTML page reachable from ``start`` on its origin; return what was found:
    ``pages``, ``links`` (every link target), ``problems`` (one line each)."""
    origin = urlparse(start).netloc
    todo, seen, problems, links, fragments = [start], set(), [], set(), []
    ids: dict[str, set[str]] = {}
    while todo:
        url = todo.pop(0)
        if url in seen:
            continue
        seen.add(url)
        browser.open(url)
        facts = browser.evaluate(PAGE_FACTS)
        problems += [f"{url}: {p}" for p in browser.problems()]
        if facts["text"] < 20:
            problems.append(f"{url}: the page is blank")
        broken = [i["src"] for i in facts["images"] if not i["ok"]]
        problems += [f"{url}: image does not load: {src}" for src in broken]
        ids[url] = set(facts["ids"])
        # citations of publications may leave the report, as plain web links only
        problems += [
            f"{url}: source link is not a web address: {link}"
            for link in facts["sources"]
            if urlparse(link).scheme not in ("http", "https")
        ]
        for link in facts["links"]:
            target, fragment = urldefrag(link)
            if urlparse(target).netloc != origin:
                problems.append(f"{url}: external link {link}")
                continue
            links.add(target)
            if fragment:
                fragments.append((url, target, fragment))
            if target.endswith(".html") or target.endswith("/"):
                todo.append(target)
    head = "u => fetch(u, {method: 'HEAD'}).then(r => r.status, () => 0)"
    statuses = browser.evaluate(f"Promise.all({json.dumps(sorted(links))}.map({head}))")
    for link, status in zip(sorted(links), statuses, strict=True):
        if status != 200:
            problems.append(f"broken link ({status}): {link}")
    for page, target, fragment in fragments:
        if fragment not in ids.get(target, set()):
            problems.append(f"{page}: no element #{fragment} in {target}")
    return {"pages": sorted(seen), "links": sorted(links), "problems": problems}
