"""A ride by phone: the same screening by keypad, the place by speech, the same dispatch as by text."""

import pytest
from sqlmodel import select

from hotline.services import roster
from models import Conversation, Dispatch, InboundMessage, OutboxMessage
from tests.calls import Caller
from tests.support import PARTICIPANT

PLACE = "the QuikTrip at 291 and 3rd Street"
# ask_safe yes, adult yes, hand-over yes, weapons no, warrant not sure
SCREENING = ("2", "1", "1", "1", "2", "3")


@pytest.fixture
def sergeant(rt):
    with rt.db.unit_of_work() as session:
        person = roster.add_officer(session, rt, name="Sgt. Rivera", phone="+18165550100", sergeant=True)
        person.on_duty = True
        session.commit()
        return person


def dispatches(rt) -> list[Dispatch]:
    with rt.db.reading() as session:
        return list(session.exec(select(Dispatch)).all())


def staff_texts(rt) -> list[str]:
    with rt.db.reading() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.audience == "staff")).all()
        return [rt.vault.open(row.body_sealed) for row in rows]


def ride_by_phone(caller: Caller, language: str = "1", place: str | None = PLACE):
    caller.start(language)
    caller.keys(*SCREENING)
    heard = caller.speak(place) if place else caller.press("1")
    return heard


@pytest.mark.parametrize(
    ("language", "code", "sent"), [("1", "en", "request is sent"), ("2", "es", "fue enviada")]
)
def test_a_ride_by_phone_opens_one_dispatch_and_alerts_the_sergeant(
    twilio, rt, sergeant, language, code, sent
):
    caller = Caller(twilio, rt)
    consent = ride_by_phone(caller, language)
    assert ("Press 1 for yes" if code == "en" else "Oprima 1 para sí") in consent.text
    summary = caller.press("1")
    assert PLACE in summary.text, "the place is read back before anything is sent"
    done = caller.press("1")
    assert sent in done.text and rt.program.desk_phone in done.text and done.hangs_up
    (ride,) = dispatches(rt)
    assert (ride.kind, ride.channel, ride.language) == ("ride", "voice", code)
    assert ride.is_open
    assert (ride.handover, ride.weapons, ride.warrant, ride.meet) == ("yes", "no", "not_sure", "place")
    assert rt.vault.open(ride.place_sealed) == PLACE
    assert ride.consent and rt.vault.open(ride.contact_sealed) == PARTICIPANT
    alerts = [text for text in staff_texts(rt) if ride.ref in text]
    assert alerts and PLACE in alerts[0]
    assert not any(PARTICIPANT in text or "5550142" in text for text in staff_texts(rt))


def test_a_ride_by_phone_is_the_same_dispatch_as_by_text(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    ride_by_phone(caller)
    caller.keys("1", "1")
    for text in ("hi", "2", "yes", "yes", "yes", "no", "not sure", PLACE, "yes", "yes"):
        twilio.text(text, sender="+18165550177")
    by_phone, by_text = sorted(dispatches(rt), key=lambda d: d.channel, reverse=True)
    assert (by_phone.channel, by_text.channel) == ("voice", "sms")
    fields = ("kind", "status", "handover", "weapons", "warrant", "meet", "consent", "language")
    assert {f: getattr(by_phone, f) for f in fields} == {f: getattr(by_text, f) for f in fields}
    assert rt.vault.open(by_phone.place_sealed) == rt.vault.open(by_text.place_sealed) == PLACE


def test_meeting_at_headquarters_by_keypad(twilio, rt):
    caller = Caller(twilio, rt)
    ride_by_phone(caller, place=None)
    summary = caller.press("2")
    assert rt.program.hq_address in summary.text
    caller.press("1")
    (ride,) = dispatches(rt)
    assert ride.meet == "hq" and rt.vault.open(ride.place_sealed) is None
    assert not ride.consent and ride.contact_sealed is None


@pytest.mark.parametrize("number", ["anonymous", "+18005551212", "+441632960961", "266696687"])
def test_a_caller_texts_cannot_reach_is_not_asked_for_text_updates(twilio, rt, number):
    caller = Caller(twilio, rt, number=number)
    summary = ride_by_phone(caller)
    assert PLACE in summary.text and "text" not in summary.text.lower()
    caller.press("1")
    (ride,) = dispatches(rt)
    assert ride.consent is False and ride.contact_sealed is None


def test_changing_your_mind_at_the_summary_sends_nothing(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    ride_by_phone(caller)
    caller.press("2")
    heard = caller.press("2")
    assert "nothing was sent" in heard.text and heard.gather is not None
    assert dispatches(rt) == [] and staff_texts(rt) == []


def test_twilio_retrying_the_confirmation_opens_one_dispatch(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    ride_by_phone(caller)
    caller.press("1")
    action = caller.action
    first = caller.post(action, Digits="1")
    for _ in range(2):
        assert caller.post(action, Digits="1").document == first.document
    assert len(dispatches(rt)) == 1
    assert len([t for t in staff_texts(rt) if "requested" in t]) == 1


# The path `hotline twilio configure` sets, and the one numbers set by hand from older docs use.
@pytest.mark.parametrize("callback", ["/twilio/status", "/twilio/voice/status"])
@pytest.mark.parametrize("at", ["the menu", "the meeting place", "the summary"])
def test_hanging_up_mid_call_sends_nothing_and_forgets_the_answers(twilio, rt, sergeant, at, callback):
    caller = Caller(twilio, rt)
    if at == "the menu":
        caller.start()
    else:
        ride_by_phone(caller)
        if at == "the summary":
            caller.press("1")
    assert caller.hang_up(callback) == 204
    assert dispatches(rt) == [] and staff_texts(rt) == []
    with rt.db.reading() as session:
        conversation = session.exec(select(Conversation)).one()
        assert conversation.state is None and conversation.data_sealed is None
        logged = session.exec(select(InboundMessage)).all()
        assert logged and all(row.reply_sealed is None for row in logged)
    assert caller.hang_up(callback) == 204, "a repeated callback changes nothing"


def test_hanging_up_after_confirming_keeps_the_request_open(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    ride_by_phone(caller)
    caller.keys("1", "1")
    caller.hang_up()
    (ride,) = dispatches(rt)
    assert ride.is_open and rt.vault.open(ride.place_sealed) == PLACE


def test_a_status_callback_for_an_unknown_call_is_accepted(twilio, rt):
    assert Caller(twilio, rt).hang_up() == 204


def test_not_safe_gets_911_guidance_alerts_the_sergeant_and_keeps_the_line(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    caller.start()
    caller.press("2")
    heard = caller.press("2")
    assert "dial 911" in heard.text and "press 2" in heard.text and heard.gather is not None
    assert any("not safe" in text for text in staff_texts(rt))


def test_under_eighteen_is_pointed_elsewhere_then_hears_the_choices(twilio, rt):
    caller = Caller(twilio, rt)
    caller.start()
    caller.keys("2", "1")
    heard = caller.press("2")
    assert "18+" in heard.said[0] and rt.program.crisis_line in heard.said[0]
    assert "1-800-662-4357" in heard.said[0]
    assert heard.said[-2] == rt.catalog.render("call.menu", "en", channel="voice")
    assert "988" in heard.said[-1]
    assert caller.press("1").gather is not None, "the menu still works"
    assert dispatches(rt) == []


def test_weapons_yes_gets_the_safety_instruction_then_the_next_question(twilio, rt):
    caller = Caller(twilio, rt)
    caller.start()
    heard = caller.keys("2", "1", "1", "1", "1")
    assert "keep any weapon out of reach" in heard.text and "warrant" in heard.said[-1]


def test_the_warrant_answer_is_honest(twilio, rt):
    caller = Caller(twilio, rt)
    caller.start()
    heard = caller.keys(*SCREENING)
    assert "arrested on it" in heard.text and "signature bond" in heard.text
    assert "officer who comes will be told" in heard.text


@pytest.mark.parametrize("words", ["someone here is overdosing", "he is not breathing"])
def test_emergency_words_at_the_place_say_911_alert_and_keep_the_question(twilio, rt, sergeant, words):
    caller = Caller(twilio, rt)
    caller.start()
    caller.keys(*SCREENING)
    heard = caller.speak(words)
    assert heard.said[0].startswith("Hang up and dial 911 now") and not heard.hangs_up
    assert heard.gather is not None, "press 1 to go back, or stay on the line for the desk"
    assert any("emergency" in text for text in staff_texts(rt))
    assert dispatches(rt) == []
    assert "address or landmark" in caller.press("1").text, "back to the question, unanswered"


@pytest.mark.parametrize("words", ["status", "delete", "yes", "no", "not sure", "um", "uh huh", "hmm"])
def test_words_that_are_no_place_are_asked_again(twilio, rt, words):
    caller = Caller(twilio, rt)
    caller.start()
    caller.keys(*SCREENING)
    heard = caller.speak(words)
    assert heard.gather is not None and "address or landmark" in heard.said[-1]
    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).one().state == "ask_place"


def test_a_place_heard_poorly_is_asked_again_then_taken_when_clear(twilio, rt):
    caller = Caller(twilio, rt)
    caller.start()
    caller.keys(*SCREENING)
    assert "address or landmark" in caller.speak(PLACE, confidence="0.2").text
    assert "May the officer send text updates" in caller.speak(PLACE).text


def test_a_spanish_caller_answering_by_keypad_stays_in_spanish(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    ride_by_phone(caller, "2", place=None)
    summary = caller.press("1")
    assert summary.languages == {"es-US"} and "Oprima 1" in summary.text
    caller.press("1")
    (ride,) = dispatches(rt)
    assert ride.language == "es"
