"""Contract tests: every REST call TwilioTransport makes, checked by Prism against Twilio's API description.

Prism (installed by .ci/prism.sh) serves twilio_api_v2010.json and answers 422 to any request
the description does not allow. Without Prism these tests skip here and fail in CI.

The Prism fixture lives in this module, not in a tests/contract/conftest.py: a second conftest
module would shadow tests/conftest.py for every later `from conftest import ...`.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.transport import FINAL, Sent, TransportError, TwilioTransport
from tests.support import require

pytestmark = pytest.mark.contract

REPO = Path(__file__).resolve().parents[2]
PRISM = REPO / ".prism" / "node_modules" / ".bin" / "prism"
ACCOUNT = "AC" + "0123456789abcdef" * 2
HOTLINE = "+18165550000"
OFFICER = "+18165550123"
CALLBACK = "https://hotline.example.org/twilio/status"
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


@pytest.fixture(scope="module")
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


@pytest.fixture
def transport(prism_url) -> Iterator[TwilioTransport]:
    transport = TwilioTransport(ACCOUNT, "test-auth-token", HOTLINE, base_url=prism_url)
    yield transport
    transport.close()


def test_send_sms_with_a_status_callback_is_accepted(transport):
    sent = transport.send_sms(to=OFFICER, body="SAFE PASSAGE ride R7K2", status_callback=CALLBACK)

    assert isinstance(sent, Sent)
    assert re.fullmatch(r"(SM|MM)[0-9a-fA-F]{32}", sent.sid)
    assert sent.status


def test_place_call_with_twiml_and_a_status_callback_is_accepted(transport):
    twiml = "<Response><Say>Safe Passage ride R7K2. Press 1 to accept.</Say></Response>"

    sent = transport.place_call(to=OFFICER, twiml=twiml, status_callback=CALLBACK)

    assert re.fullmatch(r"CA[0-9a-fA-F]{32}", sent.sid)


def test_redact_message_is_accepted(transport):
    transport.redact_message("SM" + "fedcba9876543210" * 2)


def test_an_invalid_status_callback_is_rejected(transport):
    """Prism does validate: a request outside the description fails (so these tests can fail)."""
    with pytest.raises(TransportError) as caught:
        transport.send_sms(to=OFFICER, body="x", status_callback="not a url")

    assert (caught.value.kind, caught.value.http_status) == (FINAL, 422)


def test_an_invalid_account_sid_is_rejected(prism_url):
    transport = TwilioTransport("XX-not-a-sid", "test-auth-token", HOTLINE, base_url=prism_url)

    with pytest.raises(TransportError) as caught:
        transport.send_sms(to=OFFICER, body="x", status_callback=CALLBACK)

    assert caught.value.http_status == 422
    transport.close()
