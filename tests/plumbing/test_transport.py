"""The Twilio transport: request shape, base URL override, timeouts and error classification.

Requests go to a small HTTP server on this host (no network, no mock.patch): it answers as
Twilio would, hangs, or drops the connection, as each test asks.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from base64 import b64decode
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.response import Response

from hotline.plumbing.config import ConfigError
from hotline.plumbing.transport import (
    AMBIGUOUS,
    DEFAULT_TIMEOUT,
    FINAL,
    RETRYABLE,
    LocalTransport,
    Sent,
    TransportError,
    TwilioTransport,
    classify,
    error_from_response,
    make_transport,
)

ACCOUNT = "AC" + "a1" * 16
TOKEN = "test-token"
HOTLINE = "+18165550000"
OFFICER = "+18165550123"
CALLBACK = "https://hotline.example.org/twilio/status"
MESSAGE_SID = "SM" + "b2" * 16
CALL_SID = "CA" + "c3" * 16


class FakeTwilio(BaseHTTPRequestHandler):
    """Answers each request with the next scripted reply; records what it was sent."""

    def do_POST(self):  # noqa: N802 - the name http.server looks for
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(), True).items()}
        self.server.received.append(
            {"path": self.path, "form": form, "auth": self.headers.get("Authorization", "")}
        )
        reply = self.server.replies.pop(0) if self.server.replies else ("json", 201, {})
        if reply[0] == "hang":
            self.server.release.wait(5)
            self.close_connection = True
            return
        if reply[0] == "drop":
            self.close_connection = True
            return
        _, status, payload = reply
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_twilio() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    server.received, server.replies, server.release = [], [], threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def transport(fake_twilio) -> Iterator[TwilioTransport]:
    transport = TwilioTransport(ACCOUNT, TOKEN, HOTLINE, base_url=fake_twilio.url + "/", timeout=0.5)
    yield transport
    transport.close()


def message_json(sid=MESSAGE_SID, status="queued"):
    return {"sid": sid, "status": status, "account_sid": ACCOUNT}


def twilio_error(code, message="The 'To' number +18165550123 is not a valid phone number."):
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}"}


# -- what goes over the wire ---------------------------------------------------------------------


def test_send_sms_posts_to_the_override_with_a_status_callback(transport, fake_twilio):
    fake_twilio.replies.append(("json", 201, message_json()))

    sent = transport.send_sms(to=OFFICER, body="Ride R7K2", status_callback=CALLBACK)

    assert sent == Sent(sid=MESSAGE_SID, status="queued")
    [request] = fake_twilio.received
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request["form"] == {
        "To": OFFICER,
        "From": HOTLINE,
        "Body": "Ride R7K2",
        "StatusCallback": CALLBACK,
    }
    assert b64decode(request["auth"].removeprefix("Basic ")).decode() == f"{ACCOUNT}:{TOKEN}"


def test_place_call_posts_twiml_and_status_callback_to_the_override(transport, fake_twilio):
    fake_twilio.replies.append(("json", 201, {"sid": CALL_SID, "status": "queued"}))
    twiml = "<Response><Say>Ride R7K2. Press 1 to accept.</Say></Response>"

    sent = transport.place_call(to=OFFICER, twiml=twiml, status_callback=CALLBACK)

    assert sent == Sent(sid=CALL_SID, status="queued")
    [request] = fake_twilio.received
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert request["form"] == {"To": OFFICER, "From": HOTLINE, "Twiml": twiml, "StatusCallback": CALLBACK}


STAFF_LINE = "+18165550199"


def test_staff_texts_and_calls_go_from_the_staff_number_participants_from_the_hotline(fake_twilio):
    transport = TwilioTransport(ACCOUNT, TOKEN, HOTLINE, staff_number=STAFF_LINE, base_url=fake_twilio.url)
    fake_twilio.replies.extend([("json", 201, message_json())] * 2 + [("json", 201, {"sid": CALL_SID})])
    try:
        transport.send_sms(to=OFFICER, body="Ride R7K2", status_callback=CALLBACK, sender="staff")
        transport.send_sms(to=OFFICER, body="Update", status_callback=CALLBACK, sender="main")
        transport.place_call(to=OFFICER, twiml="<Response/>", status_callback=CALLBACK, sender="staff")
    finally:
        transport.close()

    assert [request["form"]["From"] for request in fake_twilio.received] == [STAFF_LINE, HOTLINE, STAFF_LINE]


def test_without_a_staff_number_staff_texts_go_from_the_hotline_number(transport, fake_twilio):
    fake_twilio.replies.append(("json", 201, message_json()))

    transport.send_sms(to=OFFICER, body="Ride R7K2", status_callback=CALLBACK, sender="staff")

    assert fake_twilio.received[0]["form"]["From"] == HOTLINE


def test_redact_message_updates_the_body_to_empty(transport, fake_twilio):
    fake_twilio.replies.append(("json", 200, message_json(status="delivered")))

    transport.redact_message(MESSAGE_SID)

    [request] = fake_twilio.received
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{MESSAGE_SID}.json"
    assert request["form"] == {"Body": ""}


class RecordingHttpClient(HttpClient):
    """Answers every request with a queued message and keeps the URLs; opens no socket."""

    def __init__(self):
        super().__init__(logging.getLogger("tests.recording"), False, None)
        self.urls = []

    def request(self, method, url, params=None, data=None, headers=None, auth=None, **kwargs):
        self.urls.append(url)
        return Response(201, json.dumps(message_json()))


def test_without_override_requests_go_to_twilio():
    http = RecordingHttpClient()
    transport = TwilioTransport(ACCOUNT, TOKEN, HOTLINE, http_client=http)

    transport.send_sms(to=OFFICER, body="x", status_callback=CALLBACK)
    transport.place_call(to=OFFICER, twiml="<Response/>", status_callback=CALLBACK)

    assert http.urls == [
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Calls.json",
    ]


def test_edge_and_region_in_the_environment_do_not_move_the_override(monkeypatch):
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    http = RecordingHttpClient()
    transport = TwilioTransport(ACCOUNT, TOKEN, HOTLINE, base_url="http://127.0.0.1:9", http_client=http)

    transport.send_sms(to=OFFICER, body="x", status_callback=CALLBACK)

    assert http.urls == [f"http://127.0.0.1:9/2010-04-01/Accounts/{ACCOUNT}/Messages.json"]


def test_the_http_client_has_an_explicit_timeout():
    transport = TwilioTransport(ACCOUNT, TOKEN, HOTLINE)
    assert transport.client.http_client.timeout == DEFAULT_TIMEOUT == 10.0
    transport.close()


# -- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (429, 20429, RETRYABLE),
        (429, None, RETRYABLE),
        (500, None, RETRYABLE),
        (503, 20503, RETRYABLE),
        (400, 30500, RETRYABLE),
        (400, 21610, FINAL),
        (400, 21211, FINAL),
        (400, 21614, FINAL),
        (400, 21612, FINAL),
        (400, 30006, FINAL),
        (401, 20003, FINAL),
        (404, 20404, FINAL),
    ],
)
def test_error_responses_are_classified(transport, fake_twilio, status, code, kind):
    payload = twilio_error(code) if code else {"message": "Service unavailable"}
    fake_twilio.replies.append(("json", status, payload))

    with pytest.raises(TransportError) as caught:
        transport.send_sms(to=OFFICER, body="x", status_callback=CALLBACK)

    assert (caught.value.kind, caught.value.code, caught.value.http_status) == (kind, code, status)


def test_error_text_never_carries_twilio_message_with_the_number(transport, fake_twilio):
    fake_twilio.replies.append(("json", 400, twilio_error(21211)))

    with pytest.raises(TransportError) as caught:
        transport.send_sms(to=OFFICER, body="secret words", status_callback=CALLBACK)

    text = str(caught.value) + repr(caught.value.args)
    assert "21211" in text
    assert "555" not in text and "secret" not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_read_timeout_is_ambiguous(transport, fake_twilio):
    fake_twilio.replies.append(("hang",))

    with pytest.raises(TransportError) as caught:
        transport.send_sms(to=OFFICER, body="x", status_callback=CALLBACK)

    assert caught.value.kind == AMBIGUOUS
    assert len(fake_twilio.received) == 1  # it did arrive: a retry could duplicate it


def test_a_connection_dropped_after_the_request_is_ambiguous(transport, fake_twilio):
    fake_twilio.replies.append(("drop",))

    with pytest.raises(TransportError) as caught:
        transport.send_sms(to=OFFICER, body="x", status_callback=CALLBACK)

    assert caught.value.kind == AMBIGUOUS


def test_a_refused_connection_is_retryable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    transport = TwilioTransport(ACCOUNT, TOKEN, HOTLINE, base_url=f"http://127.0.0.1:{closed_port}")

    with pytest.raises(TransportError) as caught:
        transport.send_sms(to=OFFICER, body="x", status_callback=CALLBACK)

    assert caught.value.kind == RETRYABLE
    transport.close()


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [(20429, 429, RETRYABLE), (None, 502, RETRYABLE), (30500, 400, RETRYABLE), (21610, 400, FINAL)],
)
def test_classify(code, status, kind):
    assert classify(code, status) == kind


def test_error_from_response_drops_the_status_twilio_python_copies_into_code():
    error = error_from_response(TwilioRestException(422, "/x", "bad +18165550123", 422, "POST"))
    assert (error.kind, error.code, error.http_status) == (FINAL, None, 422)
    assert "8165550123" not in str(error)


def test_transport_error_kind_is_checked():
    with pytest.raises(ValueError):
        TransportError("maybe")
    error = TransportError(RETRYABLE, code=20429, http_status=429)
    assert error.retryable and not error.ambiguous and not error.final


# -- local transport and choosing one ------------------------------------------------------------


def test_local_transport_returns_fake_sids_and_sends_nothing():
    local = LocalTransport()
    texts = [local.send_sms(to=OFFICER, body="x", status_callback=None) for _ in range(3)]
    call = local.place_call(to=OFFICER, twiml="<Response/>", status_callback=CALLBACK)
    local.redact_message(texts[0].sid)

    assert all(re.fullmatch(r"SM[0-9a-f]{32}", sent.sid) and sent.status == "sent" for sent in texts)
    assert len({sent.sid for sent in texts}) == 3
    assert re.fullmatch(r"CA[0-9a-f]{32}", call.sid) and call.status == "sent"


TWILIO_SETTINGS = {
    "HOTLINE_TRANSPORT": "twilio",
    "TWILIO_ACCOUNT_SID": ACCOUNT,
    "TWILIO_AUTH_TOKEN": TOKEN,
    "TWILIO_PHONE_NUMBER": HOTLINE,
}


def test_make_transport_gives_the_staff_number_to_twilio():
    assert make_transport({**TWILIO_SETTINGS, "TWILIO_STAFF_NUMBER": STAFF_LINE}).staff_number == STAFF_LINE
    assert make_transport(TWILIO_SETTINGS).staff_number is None


def test_make_transport_chooses_by_setting():
    assert isinstance(make_transport({"HOTLINE_TRANSPORT": "local"}), LocalTransport)
    assert isinstance(make_transport({}), LocalTransport)
    twilio = make_transport({**TWILIO_SETTINGS, "TWILIO_API_BASE_URL": "http://127.0.0.1:4010"})
    assert isinstance(twilio, TwilioTransport)
    assert twilio.base_url == "http://127.0.0.1:4010"
    assert twilio.client.api.base_url == "http://127.0.0.1:4010"
    assert make_transport(TWILIO_SETTINGS).base_url is None


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER"])
def test_make_transport_names_a_missing_twilio_setting(missing):
    with pytest.raises(ConfigError, match=missing):
        make_transport({**TWILIO_SETTINGS, missing: None})


def test_make_transport_rejects_an_unknown_transport():
    with pytest.raises(ConfigError, match="HOTLINE_TRANSPORT"):
        make_transport({"HOTLINE_TRANSPORT": "carrier-pigeon"})
