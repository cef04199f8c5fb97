"""Browser tests: the real app on a loopback port, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from hotline import create_app
from hotline.plumbing.runtime import Runtime, runtime
from tests.support import REPO, FakeTransport, hotline_config, require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Server:
    """The hotline running on a loopback port, and where to keep screenshots."""

    app: object
    url: str
    shots: Path

    @property
    def rt(self) -> Runtime:
        return runtime(self.app)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(app, port: int):
    """Serve an app on a loopback port from a thread; return a function that stops it."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="browser-test-server")
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go: docs/ with HOTLINE_SCREENSHOTS=docs (the README links them), else tmp."""
    return REPO / "docs" if os.environ.get("HOTLINE_SCREENSHOTS") == "docs" else tmp_path


def start(database_url: str, tmp_path: Path, shots: Path, **config) -> tuple[Server, object]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = hotline_config(database_url, HOTLINE_PUBLIC_URL=url, HOTLINE_BOARD_POLL_SECONDS=1, **config)
    app = create_app(
        settings, transport=FakeTransport(), environ={}, instance_path=str(tmp_path / "instance")
    )
    runtime(app).db.create_all()
    return Server(app=app, url=url, shots=shots), serve(app, port)


@pytest.fixture
def server(database_url, tmp_path, shots):
    """The hotline as deployed (production settings, plain http on loopback)."""
    running, stop = start(database_url, tmp_path, shots)
    yield running
    stop()
    running.rt.db.dispose()


@pytest.fixture
def dev_server(tmp_path, shots):
    """The hotline as `hotline dev` runs it (development: the simulator is on), on SQLite."""
    running, stop = start(f"sqlite:///{tmp_path / 'dev.sqlite3'}", tmp_path, shots, HOTLINE_ENV="development")
    yield running
    stop()
    running.rt.db.dispose()


@pytest.fixture
def browser():
    """Debian's Chromium, headless, through Playwright (never a downloaded browser)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None, "playwright is not installed (pip install -e '.[dev]')")
    require(
        Path(CHROMIUM).exists() or bool(shutil.which("chromium")),
        "Chromium is not installed (apt-get install chromium)",
    )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


#: axe-core from the npm registry (tests/browser/package.json), installed by .ci/axe.sh.
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    """A page the size of a phone (390 x 844), as a phone's browser lays it out."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def axe() -> str:
    """The axe-core script, to inject into a page."""
    require(AXE.exists(), "axe-core is not installed (sh .ci/axe.sh, needs npm)")
    return AXE.read_text(encoding="utf-8")
