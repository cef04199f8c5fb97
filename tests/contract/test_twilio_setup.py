"""`hotline twilio configure` and `hotline doctor` against Prism serving Twilio's API description."""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from click.testing import CliRunner

from hotline import cli
from tests.support import hotline_config

pytestmark = pytest.mark.contract

ACCOUNT = "AC" + "0123456789abcdef" * 2
# The number Prism's example IncomingPhoneNumbers answer lists (its webhooks are all empty).
EXAMPLE_NUMBER = "+18089255327"


@pytest.fixture
def env(prism_url, empty_database_url, tmp_path, monkeypatch):
    settings = hotline_config(
        empty_database_url,
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_PHONE_NUMBER=EXAMPLE_NUMBER,
        TWILIO_API_BASE_URL=prism_url,
        HOTLINE_TRANSPORT="twilio",
    )
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli.main, ["db", "upgrade"]).exit_code == 0


def run(*args):
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def test_configure_sets_every_webhook_through_the_rest_api(env):
    result = run("twilio", "configure")
    assert result.exit_code == 0, result.output
    for line in (
        "sms_url: (none) -> https://hotline.example.org/twilio/sms",
        "sms_fallback_url: (none) -> https://hotline.example.org/twilio/fallback/sms",
        "voice_url: (none) -> https://hotline.example.org/twilio/voice",
        "voice_fallback_url: (none) -> https://hotline.example.org/twilio/fallback/voice",
        "status_callback: (none) -> https://hotline.example.org/twilio/status",
    ):
        assert line in result.output
    assert "5 setting(s) changed." in result.output


def test_configure_names_a_number_the_account_does_not_have(env, monkeypatch):
    monkeypatch.setenv("TWILIO_PHONE_NUMBER", "+18165550000")
    result = run("twilio", "configure")
    assert result.exit_code != 0
    assert "TWILIO_PHONE_NUMBER is not a number of this Twilio account" in result.output


def test_doctor_names_each_problem_and_fails(env):
    result = run("doctor")
    assert result.exit_code == 1
    output = result.output
    assert "ok   twilio account: status active" in output
    assert "FAIL twilio webhooks: sms_url is ''" in output and "hotline twilio configure" in output
    assert "ok   database:" in output and "ok   migrations:" in output
    assert "FAIL program file:" in output and "reviewed = true" in output
    assert "FAIL public url:" in output


# -- the staff number ------------------------------------------------------------------------------

STAFF_LINE = "+18165550199"


class NumbersAsAsked(BaseHTTPRequestHandler):
    """Pass every request to Prism; in a list of numbers, answer with the number asked for.

    Prism answers every lookup with its one example number; this stands in for an account that
    has both of ours (each with its own SID), while Prism still checks every request against
    Twilio's description. Records the paths of the updates it passed on.
    """

    def do_GET(self):
        self._forward()

    def do_POST(self):
        self._forward()

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(
            self.server.prism + self.path, data=body, headers=headers, method=self.command
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                status, payload = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        url = urlparse(self.path)
        asked = parse_qs(url.query).get("PhoneNumber", [None])[0]
        if (
            self.command == "GET"
            and url.path.endswith("/IncomingPhoneNumbers.json")
            and asked
            and status == 200
        ):
            listing = json.loads(payload)
            for number in listing["incoming_phone_numbers"]:
                number["phone_number"] = asked
                number["sid"] = "PN" + hashlib.md5(asked.encode()).hexdigest()
            payload = json.dumps(listing).encode()
        if self.command == "POST" and "/IncomingPhoneNumbers/" in url.path:
            self.server.updates.append((url.path.rsplit("/", 1)[-1].removesuffix(".json"), status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def numbers_as_asked(prism_url) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NumbersAsAsked)
    server.prism, server.updates = prism_url.rstrip("/"), []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_configure_sets_the_webhooks_of_both_numbers(env, numbers_as_asked, monkeypatch):
    monkeypatch.setenv("TWILIO_API_BASE_URL", numbers_as_asked.url)
    monkeypatch.setenv("TWILIO_STAFF_NUMBER", STAFF_LINE)

    result = run("twilio", "configure")

    assert result.exit_code == 0, result.output
    for number in ("TWILIO_PHONE_NUMBER", "TWILIO_STAFF_NUMBER"):
        assert f"{number} sms_url: (none) -> https://hotline.example.org/twilio/sms" in result.output
        assert (
            f"{number} status_callback: (none) -> https://hotline.example.org/twilio/status" in result.output
        )
    assert "10 setting(s) changed." in result.output
    sids = ["PN" + hashlib.md5(n.encode()).hexdigest() for n in (EXAMPLE_NUMBER, STAFF_LINE)]
    assert numbers_as_asked.updates == [(sid, 200) for sid in sids], "Prism took both updates"


def test_configure_names_a_staff_number_the_account_does_not_have(env, monkeypatch):
    monkeypatch.setenv("TWILIO_STAFF_NUMBER", STAFF_LINE)
    result = run("twilio", "configure")
    assert result.exit_code != 0
    assert "TWILIO_STAFF_NUMBER is not a number of this Twilio account" in result.output
    assert "setting(s) changed" not in result.output


def test_doctor_checks_the_staff_number(env, monkeypatch):
    monkeypatch.setenv("TWILIO_STAFF_NUMBER", STAFF_LINE)
    output = run("doctor").output
    assert "FAIL twilio staff number: TWILIO_STAFF_NUMBER is not a number of this Twilio account" in output
    assert "FAIL twilio webhooks: sms_url is ''" in output, "the hotline number is still checked"
