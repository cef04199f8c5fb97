"""Talk to an officer now: officers one by one, then the sergeant, then the desk; press 1 to take it."""

import uuid

import pytest
from sqlmodel import select

from hotline.services import roster
from models import Officer, OutboxMessage
from tests.calls import Caller, check_twiml
from tests.support import HOTLINE_NUMBER, PUBLIC_URL

CHEN, OKAFOR, RIVERA = "+18165550101", "+18165550102", "+18165550100"
DESK = "+18169697390"  # the program's desk phone, (816) 969-7390
CANARY = "+18165557777"  # the caller: must never reach an officer's leg


def add(rt, name, phone, *, sergeant=False, on_duty=True):
    with rt.db.unit_of_work() as session:
        roster.add_officer(session, rt, name=name, phone=phone, sergeant=sergeant).on_duty = on_duty
        session.commit()


@pytest.fixture
def roster_on_duty(rt):
    add(rt, "Ofc. Chen", CHEN)
    add(rt, "Ofc. Okafor", OKAFOR)
    add(rt, "Sgt. Rivera", RIVERA, sergeant=True)


@pytest.fixture
def caller(twilio, rt) -> Caller:
    return Caller(twilio, rt, number=CANARY)


def alerts(rt) -> list[str]:
    with rt.db.reading() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.audience == "staff")).all()
        return [rt.vault.open(row.body_sealed) for row in rows]


def talk_now(caller: Caller, language: str = "1"):
    caller.start(language)
    return caller.press("3")


def test_pressing_3_rings_the_first_officer_from_the_hotline_number(caller, roster_on_duty):
    heard = talk_now(caller)
    assert heard.said == [
        "Connecting you to an officer now. Please stay on the line; this can take up to 3 minutes."
    ]
    assert heard.dialled == CHEN and heard.gather is None
    dial = heard.dial
    assert dial.get("callerId") == HOTLINE_NUMBER and dial.get("record") == "do-not-record"
    assert dial.get("timeout") == "20"
    assert dial.find("Number").get("url").startswith(PUBLIC_URL + "/twilio/voice/whisper?step=")


@pytest.mark.parametrize("status", ["no-answer", "busy", "failed", "canceled"])
def test_a_leg_nobody_took_moves_to_the_next_person(caller, roster_on_duty, status):
    talk_now(caller)
    heard = caller.ring(status, bridged="false")
    assert heard.said == ["Nobody has answered yet. We are trying someone else. Please stay on the line."]
    assert heard.dialled == OKAFOR


def test_the_chain_goes_officers_sergeant_desk_then_the_truthful_fallback(caller, rt, roster_on_duty):
    rung = [talk_now(caller).dialled]
    for status in ("no-answer", "busy", "failed"):
        rung.append(caller.ring(status).dialled)
    assert rung == [CHEN, OKAFOR, RIVERA, DESK]
    last = caller.ring("no-answer")
    assert last.dial is None and not last.hangs_up and last.gather is not None
    assert "nobody could answer" in last.text and "call back" in last.text and "ride" in last.text
    assert rt.program.desk_phone not in last.text, "not the desk that just did not answer"
    (alert,) = [text for text in alerts(rt) if "talk to an officer now" in text]
    assert "nobody took the call (4 rung)" in alert and CANARY not in alert and "5557777" not in alert


def test_a_retried_dial_result_neither_skips_nor_repeats_anyone(caller, rt, roster_on_duty):
    talk_now(caller)
    action = caller.last.dial.get("action")
    first = caller.post(action, DialCallStatus="no-answer", DialBridged="false")
    again = caller.post(action, DialCallStatus="no-answer", DialBridged="false")
    assert first.document == again.document and again.dialled == OKAFOR
    assert caller.ring("busy").dialled == RIVERA


def test_an_officer_who_took_the_call_ends_it_with_thanks(caller, rt, roster_on_duty):
    talk_now(caller)
    heard = caller.ring("completed", bridged="true")
    assert heard.said == ["Thank you for calling Safe Passage. Goodbye."] and heard.hangs_up
    assert heard.dial is None
    assert not [text for text in alerts(rt) if "talk to an officer now" in text]


def test_a_voicemail_that_answered_is_not_a_person_who_took_the_call(caller, roster_on_duty):
    talk_now(caller)
    assert caller.ring("completed", bridged="false").dialled == OKAFOR


def officer_leg(caller: Caller, url: str, **extra) -> str:
    """Post to a whisper URL as Twilio does on the rung officer's own leg; return its TwiML."""
    params = {
        "AccountSid": "AC" + "1" * 32,
        "CallSid": "CA" + uuid.uuid4().hex,
        "ParentCallSid": caller.sid,
        "CallStatus": "in-progress",
        "Direction": "outbound-dial",
        "From": HOTLINE_NUMBER,
        "To": CHEN,
        **extra,
    }
    response = caller.twilio.post(url.removeprefix(PUBLIC_URL), params)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_without_dial_bridged_only_a_recorded_keypress_counts_as_taken(caller, roster_on_duty):
    talk_now(caller)
    assert caller.ring("completed").dialled == OKAFOR, "completed alone may be a voicemail"
    whisper = check_twiml(officer_leg(caller, caller.last.dial.find("Number").get("url")), say_limit=500)
    officer_leg(caller, whisper.gather.get("action"), Digits="1", To=OKAFOR)
    heard = caller.ring("completed")
    assert heard.hangs_up and heard.dial is None and "Thank you" in heard.text


def test_the_whisper_asks_the_officer_to_press_1_and_hangs_up_otherwise(caller, roster_on_duty):
    talk_now(caller)
    whisper = check_twiml(officer_leg(caller, caller.last.dial.find("Number").get("url")), say_limit=500)
    assert whisper.said[0] == "Safe Passage caller. Press 1 to accept."
    gather = whisper.gather
    assert gather.get("numDigits") == "1" and gather.get("actionOnEmptyResult") is None
    assert whisper.hangs_up, (
        "no keypress (a voicemail): the officer's leg ends, the caller is not put through"
    )
    taken = check_twiml(officer_leg(caller, gather.get("action"), Digits="1"), say_limit=500)
    assert not taken.hangs_up and taken.gather is None, "an empty answer: Twilio connects the two"
    for keys in ("2", "", "*"):
        passed = check_twiml(officer_leg(caller, gather.get("action"), Digits=keys), say_limit=500)
        assert passed.hangs_up


def test_the_callers_number_never_reaches_an_officers_leg(caller, rt, roster_on_duty):
    talk_now(caller)
    documents = []
    for _ in range(4):
        dial = caller.last.dial
        assert dial.get("callerId") == HOTLINE_NUMBER
        assert CANARY not in dial.find("Number").get("url")
        whisper = officer_leg(caller, dial.find("Number").get("url"))
        action = check_twiml(whisper, say_limit=500).gather.get("action")
        documents += [
            whisper,
            officer_leg(caller, action, Digits="1"),
            officer_leg(caller, action, Digits="2"),
        ]
        caller.ring("no-answer")
    assert documents and not any(CANARY in doc or "5557777" in doc for doc in documents)


def test_the_caller_hanging_up_while_ringing_ends_the_chain_quietly(caller, rt, roster_on_duty):
    talk_now(caller)
    heard = caller.ring("no-answer", caller="completed")
    assert heard.dial is None and heard.hangs_up
    assert not [text for text in alerts(rt) if "talk to an officer now" in text]


def test_with_nobody_on_duty_the_desk_is_rung(caller, rt):
    heard = talk_now(caller)
    assert heard.dialled == DESK
    assert "this can take a minute" in heard.text, "one ring: a minute is the truth"
    last = caller.ring("busy")
    assert "nobody could answer" in last.text and last.gather is not None


def test_an_officer_who_went_off_duty_meanwhile_is_skipped(caller, rt, roster_on_duty):
    talk_now(caller)
    with rt.db.unit_of_work() as session:
        roster.set_duty(session, rt, OKAFOR, False)
        session.commit()
    assert caller.ring("no-answer").dialled == RIVERA


def test_at_most_the_configured_number_of_officers_is_rung(caller, rt):
    for n in range(5):
        add(rt, f"Ofc. {n}", f"+1816555020{n}")
    add(rt, "Sgt. Rivera", RIVERA, sergeant=True)
    add(rt, "Sgt. Off", "+18165550109", sergeant=True, on_duty=False)
    rung = [talk_now(caller).dialled]
    while caller.last.dial is not None:
        rung.append(caller.ring("no-answer").dialled)
    assert rung[:-1] == ["+18165550200", "+18165550201", "+18165550202", RIVERA, DESK]
    with rt.db.reading() as session:
        assert len(session.exec(select(Officer)).all()) == 7


def test_a_spanish_caller_hears_spanish_and_the_officer_hears_the_callers_language(caller, roster_on_duty):
    heard = talk_now(caller, "2")
    assert heard.languages == {"es-US"} and "oficial" in heard.text
    whisper = check_twiml(officer_leg(caller, heard.dial.find("Number").get("url")), say_limit=500)
    assert whisper.languages == {"en-US", "es-US"}, "officers' languages are not known: both"
    english = [say.text for say in whisper.gather.iter("Say") if say.get("language") == "en-US"]
    spanish = [say.text for say in whisper.gather.iter("Say") if say.get("language") == "es-US"]
    assert "Spanish" in english[0] and "Press 1" in english[0], "an English speaker knows what comes"
    assert "español" in spanish[0] and "Oprima 1" in spanish[0]
    assert whisper.said[0] == english[0], "English first: the officer knows why Spanish follows"
    assert "Nadie ha contestado" in caller.ring("no-answer").text


def test_an_english_callers_whisper_is_english_only(caller, roster_on_duty):
    heard = talk_now(caller, "1")
    whisper = check_twiml(officer_leg(caller, heard.dial.find("Number").get("url")), say_limit=500)
    assert whisper.languages == {"en-US"} and "Spanish" not in whisper.text


def test_a_forged_whisper_language_is_english(caller, roster_on_duty):
    heard = talk_now(caller, "1")
    url = heard.dial.find("Number").get("url").replace("lang=en", "lang=xx")
    from tests.support import sign

    path = url.removeprefix(PUBLIC_URL)
    params = {"AccountSid": "AC" + "1" * 32, "CallSid": "CA" + uuid.uuid4().hex, "To": CHEN}
    response = caller.twilio.client.post(
        path, data=params, headers={"X-Twilio-Signature": sign(path, params)}
    )
    whisper = check_twiml(response.get_data(as_text=True), say_limit=500)
    assert whisper.languages == {"en-US"}
