"""Prism serving Twilio's API description, shared by the contract tests (one start per run)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import require

REPO = Path(__file__).resolve().parents[2]
PRISM = REPO / ".prism" / "node_modules" / ".bin" / "prism"
PRISM_START_SECONDS = 90


def spec_path() -> Path:
    """Return Twilio's API description: $HOTLINE_TWILIO_SPEC, or ../shared/twilio/ beside the repo."""
    given = os.environ.get("HOTLINE_TWILIO_SPEC")
    return Path(given) if given else REPO.parent / "shared" / "twilio" / "twilio_api_v2010.json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    """Tell whether an HTTP server answers at the URL (any status will do)."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory) -> Iterator[str]:
    """Start Prism on a free port, wait until it has loaded the description, stop it afterwards."""
    require(PRISM.exists(), "Prism is not installed (run .ci/prism.sh)")
    spec = spec_path()
    require(spec.exists(), f"Twilio's API description is missing (set HOTLINE_TWILIO_SPEC): {spec}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(PRISM), "mock", "--host", "127.0.0.1", "--port", str(port), str(spec)],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + PRISM_START_SECONDS
        while not answers(url + "/"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Prism did not start: {log.read_text()[-2000:]}")
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
