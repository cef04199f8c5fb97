"""The moments that matter on a call: danger words at any question, 0 and 9 everywhere, no dead ends."""

import math

import pytest
from sqlmodel import select

from flows.voice import danger
from hotline.services import roster
from models import Conversation, Dispatch, OutboxMessage
from tests.calls import Caller
from tests.support import HOTLINE_NUMBER

DESK = "+18169697390"  # the program's desk phone, (816) 969-7390
CHEN, RIVERA = "+18165550101", "+18165550100"
PLACE = "the QuikTrip at 291 and 3rd Street"
# Keys from the main menu to each question (ask_safe yes, adult yes, hand-over yes, weapons no,
# warrant not sure, the place by keypad: HQ, text updates yes).
TO = {
    "welcome": (),
    "info": ("1",),
    "ask_safe": ("2",),
    "ask_adult": ("2", "1"),
    "ask_handover": ("2", "1", "1"),
    "ask_weapons": ("2", "1", "1", "1"),
    "ask_warrant": ("2", "1", "1", "1", "2"),
    "ask_place": ("2", "1", "1", "1", "2", "3"),
    "ask_consent": ("2", "1", "1", "1", "2", "3", "1"),
    "confirm": ("2", "1", "1", "1", "2", "3", "1", "1"),
}
EMERGENCY = {"en": "he is not breathing", "es": "mi amigo no respira"}
CRISIS = {"en": ["I want to kill myself"], "es": ["me quiero morir", "me voy a matar"]}
LANGUAGE_KEY = {"en": "1", "es": "2"}


def add(rt, name, phone, *, sergeant=False):
    with rt.db.unit_of_work() as session:
        roster.add_officer(session, rt, name=name, phone=phone, sergeant=sergeant).on_duty = True
        session.commit()


@pytest.fixture
def sergeant(rt):
    add(rt, "Sgt. Rivera", RIVERA, sergeant=True)


def staff_texts(rt) -> list[str]:
    with rt.db.reading() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.audience == "staff")).all()
        return [rt.vault.open(row.body_sealed) for row in rows]


def dispatches(rt) -> list[Dispatch]:
    with rt.db.reading() as session:
        return list(session.exec(select(Dispatch)).all())


def conversation(rt) -> tuple[str, dict]:
    import json

    with rt.db.reading() as session:
        row = session.exec(select(Conversation).where(Conversation.channel == "voice")).one()
        return row.state, json.loads(rt.vault.open(row.data_sealed) or "{}")


def at(caller: Caller, state: str, language: str = "en"):
    caller.start(LANGUAGE_KEY[language])
    return caller.keys(*TO[state])


def recognised(words: str) -> str:
    """Return a phrase the flow must read as danger words (it fails here if it does not)."""
    assert danger(words) is not None, f"flows.intents does not recognise {words!r}"
    return words


# -- every question listens for danger words -------------------------------------------------


@pytest.mark.parametrize("state", TO)
def test_every_question_listens_for_speech_with_hints(twilio, rt, state):
    heard = at(Caller(twilio, rt), state)
    gather = heard.gather
    assert gather.get("input") == "dtmf speech" and gather.get("numDigits") == "1"
    assert "not breathing" in gather.get("hints") and "suicide" in gather.get("hints")


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("state", TO)
def test_emergency_words_at_any_question_get_911_first_and_alert_the_sergeant(
    twilio, rt, sergeant, state, language
):
    caller = Caller(twilio, rt)
    at(caller, state, language)
    before = conversation(rt)
    heard = caller.speak(EMERGENCY[language], confidence="0.2")  # heard poorly: still heard
    assert "911" in heard.said[0] and heard.said[0].index("911") < 30, "911 first"
    assert heard.languages == {"en-US" if language == "en" else "es-US"}
    assert heard.gather is not None and not heard.hangs_up
    assert [text for text in staff_texts(rt) if "emergency words" in text]
    assert dispatches(rt) == [] and conversation(rt)[0] == before[0], "the question waits"
    back = caller.press("1")
    assert conversation(rt)[0] == before[0] and back.gather is not None
    assert conversation(rt)[1].get("answers") == before[1].get("answers"), "no answer lost or taken"


@pytest.mark.parametrize("language", ["en", "es"])
def test_silence_after_emergency_words_puts_the_caller_through_to_the_desk(twilio, rt, sergeant, language):
    caller = Caller(twilio, rt)
    at(caller, "ask_place", language)
    caller.speak(EMERGENCY[language])
    heard = caller.silence()
    assert heard.dialled == DESK and heard.dial.get("callerId") == HOTLINE_NUMBER
    assert heard.dial.get("action"), "if the desk does not answer, the call still goes on"


@pytest.mark.parametrize(
    ("language", "words"), [(lang, words) for lang, phrases in CRISIS.items() for words in phrases]
)
def test_suicidal_words_at_the_place_get_988_first_and_are_never_a_place(
    twilio, rt, sergeant, language, words
):
    words = recognised(words)
    caller = Caller(twilio, rt)
    at(caller, "ask_place", language)
    heard = caller.speak(words)
    first = heard.said[0]
    assert "988" in first and "911" in first and first.index("988") < first.index("911"), "988 first"
    if language == "es":
        assert "oprima 2 para español" in first and heard.languages == {"es-US"}
    assert "police are coming" in first or "vaya la policía" in first, "says what the alert means"
    assert heard.gather is not None and not heard.hangs_up
    assert [text for text in staff_texts(rt) if "ending their life" in text]
    state, data = conversation(rt)
    assert state == "ask_place" and data["answers"].get("place") is None
    back = caller.press("1")
    assert "press 1" in back.text.lower() or "oprima 1" in back.text.lower()
    caller.press("1")  # meet at HQ
    caller.keys("1", "1")  # text updates, send
    (ride,) = dispatches(rt)
    assert ride.meet == "hq" and rt.vault.open(ride.place_sealed) is None
    assert not any(words.lower() in text.lower() for text in staff_texts(rt)), "never sent on"


def test_suicidal_words_at_a_yes_no_question_leave_the_answer_pending(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    at(caller, "ask_handover")
    heard = caller.speak("I want to kill myself")
    assert "988" in heard.said[0]
    nine = caller.press("9")
    assert "988" in nine.said[0], "9 says it again"
    caller.press("1")
    assert conversation(rt)[0] == "ask_handover"
    assert "answers" in conversation(rt)[1] and "handover" not in conversation(rt)[1]["answers"]


def test_after_suicidal_words_zero_reaches_a_person(twilio, rt, sergeant):
    add(rt, "Ofc. Chen", CHEN)
    caller = Caller(twilio, rt)
    at(caller, "ask_safe")
    caller.speak("I want to kill myself")
    assert caller.press("0").dialled == CHEN


def test_after_suicidal_words_silence_is_asked_again_then_the_desk(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    at(caller, "welcome")
    caller.speak("I want to kill myself")
    for _ in range(rt.program.reask_limit):
        again = caller.silence()
        assert again.gather is not None and "press 0" in again.text
    assert caller.silence().dialled == DESK


def test_danger_words_at_the_end_of_a_long_answer_are_heard(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    at(caller, "ask_place")
    story = "so we were at the park on third street and then we went home and " * 10
    heard = caller.speak(story + "now he is not breathing")
    assert len(story) > 400 and "911" in heard.said[0]
    assert conversation(rt)[1]["answers"].get("place") is None


def test_a_spoken_yes_answers_a_yes_no_question(twilio, rt):
    caller = Caller(twilio, rt)
    at(caller, "ask_safe")
    assert "18 or older" in caller.speak("yes").text
    assert conversation(rt)[0] == "ask_adult"
    assert "18 or older" in caller.speak("yes", confidence="0.1").text, "heard poorly: asked again"
    assert conversation(rt)[0] == "ask_adult"


# -- 0 and 9 at every question ---------------------------------------------------------------


@pytest.mark.parametrize("state", TO)
def test_zero_reaches_a_person_from_every_question(twilio, rt, state):
    add(rt, "Ofc. Chen", CHEN)
    caller = Caller(twilio, rt)
    at(caller, state)
    heard = caller.press("0")
    assert heard.dialled == CHEN and heard.dial.get("callerId") == HOTLINE_NUMBER


@pytest.mark.parametrize("state", TO)
def test_nine_repeats_every_question(twilio, rt, state):
    caller = Caller(twilio, rt)
    at(caller, state)
    before = conversation(rt)
    heard = caller.press("9")
    prompt = {"confirm": "confirm.hq", "welcome": "welcome"}.get(state, state)
    expected = rt.catalog.render(prompt, "en", channel="voice")
    if state != "confirm":
        assert expected in heard.said
    else:
        assert rt.program.hq_address in heard.text and "Press 1 to send" in heard.text
    assert heard.gather is not None and "Sorry" not in heard.said[0]
    assert conversation(rt)[0] == before[0] and conversation(rt)[1].get("answers") == before[1].get("answers")


def test_nine_at_the_summary_reads_the_spoken_place_back_again(twilio, rt):
    caller = Caller(twilio, rt)
    at(caller, "ask_place")
    caller.speak(PLACE)
    caller.press("1")
    assert PLACE in caller.press("9").text


def test_the_info_menu_repeats_on_9_and_goes_back_on_pound(twilio, rt):
    caller = Caller(twilio, rt)
    at(caller, "info")
    caller.press("2")
    again = caller.press("9")
    assert rt.catalog.render("info", "en", channel="voice") in again.said
    assert "press pound" in again.text.lower() and "press 0" in again.text.lower()
    assert "For a ride to treatment, press 2" in caller.press("#").text


@pytest.mark.parametrize(("language", "words"), [("1", "call or text 988"), ("2", "llame al 988")])
def test_the_main_menu_names_988(twilio, rt, language, words):
    heard = Caller(twilio, rt).start(language)
    assert words in heard.text


# -- nobody answered: a call back or a ride, not a goodbye -----------------------------------


def nobody_answered(caller: Caller, language: str = "1"):
    caller.start(language)
    caller.press("3")
    heard = caller.last
    while heard.dial is not None:
        heard = caller.ring("no-answer")
    return heard


def test_when_nobody_answers_the_caller_can_ask_for_a_call_back(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    offer = nobody_answered(caller)
    assert "call back" in offer.text and offer.gather is not None
    heard = caller.press("1")
    assert heard.hangs_up and "call you back" in heard.text
    (request,) = dispatches(rt)
    assert request.kind == "callback" and request.channel == "voice"
    assert request.contact_sealed is not None
    assert [text for text in staff_texts(rt) if request.ref in text and "call" in text.lower()]


def test_when_nobody_answers_the_caller_can_ask_for_a_ride(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    nobody_answered(caller, "2")
    heard = caller.press("2")
    assert "¿Está a salvo" in heard.text or "a salvo" in heard.text
    assert conversation(rt)[0] == "ask_safe"


def test_a_withheld_number_is_not_offered_a_call_back(twilio, rt, sergeant):
    caller = Caller(twilio, rt, number="anonymous")
    offer = nobody_answered(caller)
    assert "cannot call you back" in offer.text and "press 2" in offer.text
    assert caller.press("1").gather is not None and dispatches(rt) == []


def test_when_nobody_answers_9_repeats_0_tries_again_and_silence_ends_truthfully(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    offer = nobody_answered(caller)
    assert caller.press("9").said[-1] == offer.said[-1]
    again = caller.press("0")
    assert again.dialled == RIVERA, "0: the chain again"
    while caller.last.dial is not None:
        caller.ring("busy")
    for _ in range(rt.program.reask_limit):
        assert caller.silence().gather is not None
    goodbye = caller.silence()
    assert goodbye.hangs_up and rt.program.hq_address in goodbye.text and "911" in goodbye.text
    assert dispatches(rt) == []


def test_a_desk_that_does_not_answer_after_the_re_asks_offers_a_call_back_or_a_ride(twilio, rt):
    caller = Caller(twilio, rt)
    caller.start()
    for _ in range(3):
        caller.press("*")
    assert caller.last.dialled == DESK
    heard = caller.ring("no-answer")
    assert "call back" in heard.text and heard.gather is not None


# -- the wait the caller is promised --------------------------------------------------------


@pytest.mark.parametrize("officers", [0, 1, 3])
def test_no_wait_is_longer_than_the_text_promises(twilio, rt, officers):
    for n in range(officers):
        add(rt, f"Ofc. {n}", f"+1816555020{n}")
    add(rt, "Sgt. Rivera", RIVERA, sergeant=True)
    caller = Caller(twilio, rt)
    caller.start()
    heard = caller.press("3")
    legs = 0
    while caller.last.dial is not None:
        legs += 1
        caller.ring("no-answer")
    ringing = legs * rt.program.calls.dial_timeout_seconds
    text = heard.said[0]
    promised = 60 if "a minute" in text else int(text.split("up to ")[1].split()[0]) * 60
    assert ringing <= promised, (legs, text)
    assert promised - ringing < 120, "and not a wait far longer than it is"
    assert math.ceil(ringing / 60) <= promised // 60


# -- a ride by phone names the caller's language to the officer -----------------------------


def test_a_spanish_ride_by_phone_is_offered_naming_spanish(twilio, rt, sergeant):
    from hotline.plumbing import staff

    assert "{language}" in staff.texts()["offer"], "ride offers name the participant's language"
    add(rt, "Ofc. Chen", CHEN)
    caller = Caller(twilio, rt)
    at(caller, "ask_place", "es")
    caller.speak(PLACE)
    caller.keys("1", "1")
    (ride,) = dispatches(rt)
    with rt.db.reading() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.audience == "staff")).all()
        offers = [
            rt.vault.open(row.body_sealed) for row in rows if ride.ref in rt.vault.open(row.body_sealed)
        ]
    assert any("Spanish" in text for text in offers if "ACCEPT" in text)


# -- long spoken answers reach the flow whole -----------------------------------------------

LONG_YES = "yes I am safe right now I am at home with my sister and she is going to stay with me tonight"


def test_a_long_spoken_answer_reaches_the_flow_whole():
    from flows.voice import Heard, read

    assert len(LONG_YES.split()) > 12
    assert read("ask_safe", Heard(speech=LONG_YES)) == LONG_YES
    story = "we are near the library " * 60
    assert read("ask_place", Heard(speech=story)) == " ".join(story.split()), "nothing cut before the flow"


def test_a_long_spoken_yes_answers_the_question(twilio, rt):
    from flows.intents import normalise, read_answer

    assert read_answer(normalise(LONG_YES)) == "yes"
    caller = Caller(twilio, rt)
    at(caller, "ask_safe")
    assert "18 or older" in caller.speak(LONG_YES).text
    assert conversation(rt)[0] == "ask_adult"


# -- who is rung is told why; the sergeant too, when nobody answers ---------------------------


def whisper_of(caller: Caller) -> str:
    import uuid

    from tests.calls import check_twiml
    from tests.support import PUBLIC_URL

    url = caller.last.dial.find("Number").get("url")
    params = {
        "AccountSid": "AC" + "1" * 32,
        "CallSid": "CA" + uuid.uuid4().hex,
        "ParentCallSid": caller.sid,
        "From": HOTLINE_NUMBER,
        "To": caller.last.dialled,
    }
    response = caller.twilio.post(url.removeprefix(PUBLIC_URL), params)
    return check_twiml(response.get_data(as_text=True), say_limit=500).text


def test_the_desk_rung_after_emergency_words_hears_why_and_the_sergeant_is_told_if_it_does_not_answer(
    twilio, rt, sergeant
):
    caller = Caller(twilio, rt)
    at(caller, "ask_place")
    caller.speak(EMERGENCY["en"])
    caller.silence()
    heard = whisper_of(caller)
    assert "dying" in heard and "911" in heard and "Press 1 to accept" in heard
    caller.ring("no-answer")
    (alert,) = [text for text in staff_texts(rt) if "nobody took the call" in text]
    assert "emergency words" in alert and "911" in alert


def test_a_person_rung_after_suicidal_words_hears_why(twilio, rt, sergeant):
    caller = Caller(twilio, rt)
    at(caller, "welcome", "es")
    caller.speak("me quiero morir")
    caller.press("0")
    heard = whisper_of(caller)
    assert "ending their life" in heard and "988" in heard and "Spanish" in heard
    assert "Oprima 1 para aceptar" in heard


def test_the_sergeant_is_told_truthfully_when_the_desk_did_not_answer_a_caller_who_chose_nothing(
    twilio, rt, sergeant
):
    caller = Caller(twilio, rt)
    caller.start()
    for _ in range(3):
        caller.silence()
    assert "dying" not in whisper_of(caller)
    caller.ring("no-answer")
    (alert,) = [text for text in staff_texts(rt) if "nobody took the call" in text]
    assert "chose nothing" in alert and "asked to talk" not in alert


def test_when_the_flow_answers_both_kinds_both_are_said(twilio, rt, sergeant):
    from flows import INTAKE, Event

    words = "I took too many pills and I want to die"
    step = INTAKE.handle("ask_safe", {"language": "en"}, Event(words, "voice"))
    assert {"emergency", "crisis.after_emergency"} <= {reply.key for reply in step.replies}
    caller = Caller(twilio, rt)
    at(caller, "ask_safe")
    heard = caller.speak(words)
    assert "911" in heard.said[0] and "988" in heard.text
    assert "988" in caller.press("9").text, "both again on 9"
