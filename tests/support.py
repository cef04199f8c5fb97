"""Test helpers: settings, signed Twilio requests, TwiML parsing, a fake transport."""

from __future__ import annotations

import os
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from twilio.request_validator import RequestValidator

IN_CI = os.environ.get("CI") == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "HOTLINE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PUBLIC_URL = "https://hotline.example.org"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
SECRET_KEY = "test-secret-key-for-sessions-and-pseudonyms"  # production wants 32 bytes or more
HOTLINE_NUMBER = "+18165550000"
PARTICIPANT = "+18165550142"
#: The account every test request comes from (Twilio sends it on every webhook).
ACCOUNT_SID = "AC" + "1" * 32
REPO = Path(__file__).resolve().parent.parent


def require(condition: bool, reason: str) -> None:
    """Skip a test whose tool is missing here; in CI nothing may be skipped, so fail instead."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


def hotline_config(database_url: str, **extra) -> dict:
    """Return a complete production configuration for tests."""
    return {
        "HOTLINE_ENV": "production",
        "DATABASE_URL": database_url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": HOTLINE_NUMBER,
        "HOTLINE_PUBLIC_URL": PUBLIC_URL,
        "HOTLINE_SECRET_KEY": SECRET_KEY,
        "HOTLINE_ENCRYPTION_KEYS": TEST_KEY,
        "HOTLINE_TRANSPORT": "local",
        **extra,
    }


TEST_KEY = Fernet.generate_key().decode()


def unpaced():
    """Return [sending] without pacing: tests drive worker passes at one fixed moment.

    Pacing has tests of its own (tests/plumbing/test_pacing.py), which use real rates.
    """
    from hotline.plumbing.program import Sending

    return Sending(main_segments_per_second=float("inf"), staff_segments_per_second=float("inf"))


@dataclass
class FakeTransport:
    """Records what would be sent; tests read `sent` instead of calling Twilio."""

    sent: list[dict] = field(default_factory=list)
    paced = False  # like the local transport: no number to pace (tests/plumbing/test_pacing.py does)

    def send_sms(self, *, to, body, status_callback=None, sender="main"):
        from hotline.plumbing.transport import Sent

        sid = "SM" + uuid.uuid4().hex
        self.sent.append({"kind": "sms", "to": to, "body": body, "sid": sid, "sender": sender})
        return Sent(sid=sid, status="queued")

    def place_call(self, *, to, twiml, status_callback=None, sender="main"):
        from hotline.plumbing.transport import Sent

        sid = "CA" + uuid.uuid4().hex
        self.sent.append({"kind": "call", "to": to, "twiml": twiml, "sid": sid, "sender": sender})
        return Sent(sid=sid, status="queued")

    def redact_message(self, sid):
        self.sent.append({"kind": "redact", "sid": sid})


def sign(path: str, params, token: str = AUTH_TOKEN, base: str = PUBLIC_URL) -> str:
    """Compute the X-Twilio-Signature Twilio would send for these params."""
    return RequestValidator(token).compute_signature(base + path, params)


def sms_params(body: str, sender: str = PARTICIPANT, sid: str | None = None, **extra) -> dict:
    """Return the form Twilio posts for an inbound text (geographic fields included)."""
    sid = sid or "SM" + uuid.uuid4().hex
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "Body": body,
        "From": sender,
        "To": HOTLINE_NUMBER,
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "NumMedia": "0",
        "NumSegments": "1",
        "FromCity": "LEES SUMMIT",
        "FromState": "MO",
        "FromZip": "64063",
        "FromCountry": "US",
        "ToCity": "KANSAS CITY",
        "ToState": "MO",
        "ToZip": "64106",
        "ToCountry": "US",
        **extra,
    }


class Twilio:
    """Posts signed requests to the app the way Twilio does."""

    def __init__(self, client):
        self.client = client

    def post(self, path: str, params: dict, **headers):
        headers.setdefault("X-Twilio-Signature", sign(path, params))
        return self.client.post(path, data=params, headers=headers)

    def text(self, body: str, sender: str = PARTICIPANT, sid: str | None = None) -> list[str]:
        """Text the hotline; return the texts of its TwiML answer."""
        response = self.post("/twilio/sms", sms_params(body, sender=sender, sid=sid))
        assert response.status_code == 200, response.status_code
        assert response.mimetype == "text/xml"
        return twiml_messages(response.get_data(as_text=True))


def twiml_messages(document: str) -> list[str]:
    """Parse TwiML (it must be well formed with a <Response> root) and return its messages."""
    root = ElementTree.fromstring(document)
    assert root.tag == "Response"
    return [m.text or "" for m in root.iter("Message")]
