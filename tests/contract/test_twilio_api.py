"""Contract tests: every REST call TwilioTransport makes, checked by Prism against Twilio's API description.

Prism (installed by .ci/prism.sh) serves twilio_api_v2010.json and answers 422 to any request
the description does not allow. Without Prism these tests skip here and fail in CI.

The Prism fixture (`prism_url`) lives in tests/contract/conftest.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from hotline.plumbing.transport import FINAL, Sent, TransportError, TwilioTransport

pytestmark = pytest.mark.contract

ACCOUNT = "AC" + "0123456789abcdef" * 2
HOTLINE = "+18165550000"
OFFICER = "+18165550123"
CALLBACK = "https://hotline.example.org/twilio/status"


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
