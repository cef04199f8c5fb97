"""Masked relay: MSG and replies pass between officer and participant from the hotline number;
CALL rings the officer and bridges them to the participant with the hotline as caller ID."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import pytest
from sqlmodel import select

from hotline.plumbing.transport import TwilioTransport
from hotline.services import dispatch
from models import Dispatch, DispatchEvent
from tests.contract.conftest import prism_url  # noqa: F401  (the Prism fixture, for one contract test)
from tests.dispatch_helpers import (
    CHEN,
    OKAFOR,
    SERGEANT,
    add_roster,
    code_for,
    placed_call,
    request_ride,
    rows,
    run_worker,
    text,
    texts_to,
    the_dispatch,
)
from tests.support import ACCOUNT_SID, HOTLINE_NUMBER, PARTICIPANT, PUBLIC_URL


@pytest.fixture
def accepted(rt):
    """A ride Ofc. Chen accepted, for a participant who agreed to texts."""
    add_roster(rt)
    request_ride(rt)
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    return the_dispatch(rt)


def test_msg_reaches_the_participant_from_the_hotline_and_their_reply_reaches_the_officer(
    twilio, rt, transport, accepted
):
    reply = twilio.text("MSG I'm in a grey Ford at the pumps, 5 min", sender=CHEN)
    assert reply == [f"Sent to the participant of {accepted.ref} from the hotline number."]
    run_worker(rt)
    (to_participant,) = [
        s["body"] for s in transport.sent if s["to"] == PARTICIPANT and "grey Ford" in s["body"]
    ]
    assert to_participant == (
        f"Update on your request {accepted.ref}:\nNew message for you about your ride:\n"
        "I'm in a grey Ford at the pumps, 5 min"
    )
    assert CHEN[2:] not in to_participant

    answer = twilio.text("ok I'm wearing a red jacket")
    assert answer[0].startswith(f"Update on your request {accepted.ref}:\nWe passed your message on.")
    run_worker(rt)
    (to_officer,) = [s["body"] for s in transport.sent if s["to"] == CHEN and "red jacket" in s["body"]]
    assert to_officer == f"SAFE PASSAGE {accepted.ref}, the participant writes:\nok I'm wearing a red jacket"
    assert PARTICIPANT[2:] not in to_officer
    assert not [s for s in transport.sent if s["to"] == OKAFOR and "red jacket" in s["body"]]

    with rt.db.reading() as session:
        relayed = session.exec(
            select(DispatchEvent).where(DispatchEvent.kind.in_(["relay_out", "relay_in"]))
        ).all()
    assert [(e.kind, rt.vault.open(e.detail_sealed)) for e in relayed] == [
        ("relay_out", "I'm in a grey Ford at the pumps, 5 min"),
        ("relay_in", "ok I'm wearing a red jacket"),
    ]
    assert any("texted the participant" in b for b in texts_to(rt, SERGEANT))


def test_commands_and_empty_texts_from_the_participant_are_not_relayed(rt, accepted):
    assert "on the way" in text(rt, "STATUS")[0]
    assert "on the way" in text(rt, "?")[0]
    assert "is cancelled" in text(rt, "CANCEL RIDE")[0]
    assert [b for b in texts_to(rt, CHEN) if "participant writes" in b] == []


def test_without_consent_nothing_is_relayed_either_way(rt):
    add_roster(rt)
    request_ride(rt, consent="no")
    text(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    ref = the_dispatch(rt).ref
    assert text(rt, "MSG hello", CHEN) == [
        f"The participant of {ref} did not agree to texts (or asked to stop them), so nothing was sent."
    ]
    assert "on the way" in text(rt, "where are you")[0], "the participant gets their status instead"
    assert texts_to(rt, PARTICIPANT) == []
    assert [b for b in texts_to(rt, CHEN) if "participant writes" in b] == []
    assert text(rt, "CALL", CHEN)[0].startswith("There is no number to call")


def test_after_stop_the_officer_cannot_text_the_participant(rt, accepted):
    assert text(rt, "STOP") == []
    assert any("replied STOP" in b for b in texts_to(rt, SERGEANT))
    assert text(rt, "MSG still coming?", CHEN)[0].startswith(
        f"The participant of {accepted.ref} did not agree"
    )
    assert [b for b in texts_to(rt, PARTICIPANT) if "still coming" in b] == []


def test_msg_limits(rt, accepted):
    assert text(rt, "MSG", CHEN)[0].startswith("Write the text after MSG")
    assert text(rt, "MSG " + "x" * 301, CHEN) == ["Too long for a text: keep MSG under 300 characters."]
    assert text(rt, f"MSG {accepted.ref} on my way", CHEN)[0].startswith("Sent")
    relayed = f"Update on your request {accepted.ref}:\nNew message for you about your ride:\non my way"
    assert texts_to(rt, PARTICIPANT)[-1] == relayed


def test_after_the_ride_closes_texts_are_not_relayed(rt, accepted):
    text(rt, "DONE IN", CHEN)
    assert "is closed" in text(rt, "thank you so much")[0]
    assert [b for b in texts_to(rt, CHEN) if "participant writes" in b] == []
    assert text(rt, "MSG bye", CHEN) == ["You have no open ride or call-back. Reply HELP for the commands."]


# -- CALL and the bridge ------------------------------------------------------------------------


def bridge_form(dispatch_id, to=CHEN, call_sid="CA" + "7" * 32, **extra):
    return {
        "AccountSid": ACCOUNT_SID,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
        "From": HOTLINE_NUMBER,
        "To": to,
        **extra,
    }


def parse(response) -> ElementTree.Element:
    assert response.status_code == 200 and response.mimetype == "text/xml"
    root = ElementTree.fromstring(response.get_data(as_text=True))
    assert root.tag == "Response"
    return root


def test_call_rings_the_officer_then_bridges_to_the_participant_masked(twilio, rt, transport, accepted):
    assert text(rt, "CALL", CHEN)[0].startswith("Calling you now from the hotline number")
    run_worker(rt)
    (call,) = [s for s in transport.sent if s["kind"] == "call"]
    assert call["to"] == CHEN and PARTICIPANT not in call["twiml"], "the number is read only on answer"
    redirect = ElementTree.fromstring(call["twiml"]).find("Redirect")
    assert redirect.text == f"{PUBLIC_URL}/twilio/voice/bridge/{accepted.id}"

    form = bridge_form(accepted.id, call_sid=call["sid"])
    root = parse(twilio.post(f"/twilio/voice/bridge/{accepted.id}", form))

    assert "Connecting you to the participant" in root.find("Say").text
    dial = root.find("Dial")
    assert dial.get("callerId") == HOTLINE_NUMBER, "the participant sees the hotline, not the officer"
    assert dial.get("record") == "do-not-record"
    assert dial.find("Number").text == PARTICIPANT
    assert dial.get("action") == f"{PUBLIC_URL}/twilio/voice/bridge/{accepted.id}/done"
    assert any("asked to be connected by call" in b for b in texts_to(rt, SERGEANT))


def test_the_bridge_gives_the_number_once_to_the_call_that_rang_the_officer(twilio, rt, accepted):
    text(rt, "CALL", CHEN)
    form = bridge_form(accepted.id, call_sid=placed_call(rt, accepted.id))
    path = f"/twilio/voice/bridge/{accepted.id}"
    assert parse(twilio.post(path, form)).find("Dial").find("Number").text == PARTICIPANT

    for again in (form, bridge_form(accepted.id, call_sid="CA" + "e" * 32)):
        root = parse(twilio.post(path, again))
        assert root.find("Dial") is None and root.find("Hangup") is not None
        assert PARTICIPANT not in ElementTree.tostring(root, encoding="unicode")
    # A new CALL is a new call: it connects once more.
    text(rt, "CALL", CHEN)
    fresh = bridge_form(accepted.id, call_sid=placed_call(rt, accepted.id))
    assert parse(twilio.post(path, fresh)).find("Dial").find("Number").text == PARTICIPANT


def test_the_bridge_refuses_unsigned_requests(client, rt, accepted):
    response = client.post(f"/twilio/voice/bridge/{accepted.id}", data=bridge_form(accepted.id))
    assert response.status_code == 403


@pytest.mark.parametrize("case", ["other number", "closed", "unknown request", "not our call"])
def test_the_bridge_connects_nobody_else(twilio, rt, accepted, case):
    text(rt, "CALL", CHEN)
    target, to, call_sid = accepted.id, CHEN, placed_call(rt, accepted.id)
    if case == "other number":
        to = OKAFOR
    elif case == "closed":
        text(rt, "DONE OUT", CHEN)
    elif case == "unknown request":
        target = 9999
    else:
        call_sid = "CA" + "7" * 32
    root = parse(twilio.post(f"/twilio/voice/bridge/{target}", bridge_form(target, to=to, call_sid=call_sid)))
    assert root.find("Dial") is None and root.find("Hangup") is not None
    assert PARTICIPANT not in ElementTree.tostring(root, encoding="unicode")


def test_the_end_of_a_bridged_call_is_recorded_once(twilio, rt, accepted):
    path = f"/twilio/voice/bridge/{accepted.id}/done"
    missed = bridge_form(accepted.id, DialCallStatus="no-answer", DialCallDuration="0")
    root = parse(twilio.post(path, missed))
    assert "did not answer" in root.find("Say").text
    parse(twilio.post(path, missed))  # Twilio retries
    with rt.db.reading() as session:
        kinds = [e.kind for e in session.exec(select(DispatchEvent)).all()]
    assert kinds.count("call_unanswered") == 1


def test_a_callback_request_can_be_answered_by_call(twilio, rt, transport):
    add_roster(rt)
    text(rt, "hi")
    text(rt, "3")
    text(rt, "now")
    ref = the_dispatch(rt).ref
    text(rt, f"ASSIGN {ref} Chen", SERGEANT)
    assert text(rt, "CALL", CHEN)[0].startswith("Calling you now")
    request = the_dispatch(rt)
    form = bridge_form(request.id, call_sid=placed_call(rt, request.id))
    root = parse(twilio.post(f"/twilio/voice/bridge/{request.id}", form))
    assert root.find("Dial").find("Number").text == PARTICIPANT


def test_call_twiml_has_no_personal_data(rt, accepted):
    twiml = dispatch.call_twiml(rt, accepted)
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    assert re.fullmatch(
        r'<Response><Redirect method="POST">[^<]+</Redirect></Response>', twiml.removeprefix(head)
    )


@pytest.mark.contract
def test_the_bridge_call_and_an_offer_text_are_accepted_by_twilios_api(prism_url, rt, accepted):  # noqa: F811
    """The REST calls CALL and an offer make, checked by Prism against Twilio's API description."""
    transport = TwilioTransport(
        "AC" + "0123456789abcdef" * 2, "test-auth-token", HOTLINE_NUMBER, base_url=prism_url
    )
    try:
        with rt.db.reading() as session:
            ride = session.get(Dispatch, accepted.id)
        call = transport.place_call(
            to=CHEN, twiml=dispatch.call_twiml(rt, ride), status_callback=f"{PUBLIC_URL}/twilio/status"
        )
        (offer,) = rows(rt, purpose="offer")
        sms = transport.send_sms(to=CHEN, body=offer.body, status_callback=f"{PUBLIC_URL}/twilio/status")
    finally:
        transport.close()
    assert call.sid.startswith("CA") and sms.sid[:2] in ("SM", "MM")
    assert dispatch.ASSIGNED == ("accepted", "arriving")


def test_a_relay_that_cannot_reach_the_officer_tells_the_sergeant(rt, accepted):
    from hotline.plumbing.transport import FINAL, TransportError
    from tests.dispatch_helpers import ScriptedTransport

    run_worker(rt)  # everything queued so far goes out
    rt.transport = ScriptedTransport({CHEN: [TransportError(FINAL, code=30006, http_status=400)]})
    text(rt, "I'm by the door")
    run_worker(rt)
    (alert,) = [b for b in texts_to(rt, SERGEANT) if "could not reach" in b]
    assert "Ofc. Chen (30006)" in alert and "still have the request" in alert
    assert the_dispatch(rt).officer_id is not None, "the ride stays with the officer"
