"""A captured or forged Twilio request opens nothing: every SID as Twilio writes it, our account only."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import func, select
from werkzeug.datastructures import MultiDict

from hotline import create_app
from hotline.plumbing.runtime import runtime
from models import Conversation, InboundMessage, Officer
from tests.dispatch_helpers import CHEN, SERGEANT, add_roster, texts_to
from tests.support import ACCOUNT_SID, PARTICIPANT, Twilio, hotline_config, sign, sms_params

HEX = "0123456789abcdef" * 2


def written(rt) -> tuple[int, int]:
    with rt.db.reading() as session:
        return (
            session.exec(select(func.count()).select_from(InboundMessage)).one(),
            session.exec(select(func.count()).select_from(Conversation)).one(),
        )


def on_duty(rt, name="Ofc. Chen") -> bool:
    with rt.db.reading() as session:
        return session.exec(select(Officer).where(Officer.name == name)).one().on_duty


def test_a_captured_text_replayed_with_its_fields_run_together_is_refused(twilio, rt, client):
    add_roster(rt)
    captured = sms_params("OFF", sender=CHEN)
    signature = sign("/twilio/sms", captured)
    assert (
        client.post("/twilio/sms", data=captured, headers={"X-Twilio-Signature": signature}).status_code
        == 200
    )
    twilio.text("ON", sender=CHEN)
    assert on_duty(rt)
    # Twilio signs names and values joined with no separator: this form carries the same signature.
    replayed = {k: v for k, v in captured.items() if k != "NumMedia"}
    replayed["MessageSid"] = captured["MessageSid"] + "NumMedia0"
    assert sign("/twilio/sms", replayed) == signature

    response = client.post("/twilio/sms", data=replayed, headers={"X-Twilio-Signature": signature})

    assert response.status_code == 403
    assert on_duty(rt), "the officer stays on duty"
    assert len([b for b in texts_to(rt, SERGEANT) if "went off duty" in b]) == 1


def test_a_text_replayed_whole_is_carried_out_once(twilio, rt, client):
    add_roster(rt)
    captured = sms_params("OFF", sender=CHEN)
    headers = {"X-Twilio-Signature": sign("/twilio/sms", captured)}
    client.post("/twilio/sms", data=captured, headers=headers)
    twilio.text("ON", sender=CHEN)

    again = client.post("/twilio/sms", data=captured, headers=headers)

    assert again.status_code == 200 and on_duty(rt), "the same MessageSid is answered from the log"


MALFORMED_TEXTS = {
    "short message sid": {"MessageSid": "SM" + "a" * 31, "SmsSid": "SM" + "a" * 31},
    "message sid with more": {"MessageSid": "SM" + HEX + "NumMedia0"},
    "message sid of another kind": {"MessageSid": "CA" + HEX, "SmsSid": "CA" + HEX},
    "message sid not hex": {"MessageSid": "SM" + "g" * 32},
    "sms sid": {"SmsSid": "SMxyz"},
    "sms message sid": {"SmsMessageSid": "SM" + HEX + "x"},
    "account sid": {"AccountSid": "AC" + "1" * 31},
}


@pytest.mark.parametrize("change", MALFORMED_TEXTS.values(), ids=MALFORMED_TEXTS.keys())
def test_a_text_with_a_malformed_sid_is_refused_and_nothing_written(twilio, rt, change):
    params = {**sms_params("2"), **change}
    response = twilio.post("/twilio/sms", params)
    assert response.status_code == 403 and response.get_data() == b""
    assert written(rt) == (0, 0)


def test_a_text_with_two_message_sids_is_refused(twilio, rt):
    params = MultiDict(sms_params("2"))
    params.add("MessageSid", "SM" + "f" * 32)
    headers = {"X-Twilio-Signature": sign("/twilio/sms", params)}
    assert twilio.client.post("/twilio/sms", data=params, headers=headers).status_code == 403
    assert written(rt) == (0, 0)


@pytest.mark.parametrize("sid", ["MM" + HEX, "SM" + HEX.upper()])
def test_mms_and_upper_case_hex_sids_are_twilios_too(twilio, rt, sid):
    assert twilio.post("/twilio/sms", sms_params("hi", sid=sid)).status_code == 200
    assert written(rt) == (1, 1)


CALL_ROUTES = ["/twilio/voice", "/twilio/voice/step?step=1", "/twilio/voice/status", "/twilio/fallback/voice"]


@pytest.mark.parametrize("path", CALL_ROUTES)
@pytest.mark.parametrize("sid", ["CA" + "a" * 31, "CA" + HEX + "x", "SM" + HEX, "CAnope"])
def test_a_call_request_with_a_malformed_call_sid_is_refused(twilio, rt, path, sid):
    form = {"AccountSid": ACCOUNT_SID, "CallSid": sid, "From": PARTICIPANT, "To": "+18165550000"}
    form["CallStatus"] = "completed"
    assert twilio.post(path, form).status_code == 403
    assert written(rt) == (0, 0)


def test_a_status_callback_with_a_malformed_sid_is_refused(twilio):
    form = {"AccountSid": ACCOUNT_SID, "MessageSid": "SM" + HEX + "x", "MessageStatus": "delivered"}
    assert twilio.post("/twilio/status", form).status_code == 403


@pytest.fixture
def our_account(database_url, transport):
    """A hotline that knows its Twilio account."""
    app = create_app(
        hotline_config(database_url, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TESTING=True),
        transport=transport,
        environ={},
    )
    runtime(app).db.create_all()
    yield Twilio(app.test_client()), runtime(app)
    runtime(app).db.dispose()


@pytest.mark.parametrize("account", ["AC" + HEX, None])
def test_a_request_for_another_account_is_refused(our_account, account):
    twilio, rt = our_account
    params = sms_params("hi")
    if account is None:
        del params["AccountSid"]
    else:
        params["AccountSid"] = account
    assert twilio.post("/twilio/sms", params).status_code == 403
    call = {"CallSid": "CA" + uuid.uuid4().hex, "From": PARTICIPANT, "To": "+18165550000"}
    if account:
        call["AccountSid"] = account
    assert twilio.post("/twilio/voice", call).status_code == 403
    assert written(rt) == (0, 0)


def test_a_request_for_our_account_is_answered(our_account):
    twilio, rt = our_account
    assert twilio.text("hi")
    assert written(rt) == (1, 1)


def test_a_participants_answer_replayed_with_its_fields_run_together_moves_nothing(twilio, rt, client):
    add_roster(rt)
    twilio.text("hi")
    captured = sms_params("2")
    signature = sign("/twilio/sms", captured)
    client.post("/twilio/sms", data=captured, headers={"X-Twilio-Signature": signature})
    twilio.text("yes")
    with rt.db.reading() as session:
        before = session.exec(select(Conversation)).one()
    alerts = texts_to(rt, SERGEANT)
    replayed = {k: v for k, v in captured.items() if k != "NumMedia"}
    replayed["MessageSid"] = captured["MessageSid"] + "NumMedia0"

    response = client.post("/twilio/sms", data=replayed, headers={"X-Twilio-Signature": signature})

    assert response.status_code == 403
    with rt.db.reading() as session:
        after = session.exec(select(Conversation)).one()
    assert (after.state, after.version) == (before.state, before.version)
    assert texts_to(rt, SERGEANT) == alerts
