"""Calling the hotline: the emergency sentence, the language menu, the main menu and bad keypresses."""

import pytest
from sqlmodel import func, select

from hotline import create_app
from hotline.plumbing.runtime import runtime
from models import Conversation, InboundMessage, OutboxMessage
from tests.calls import Caller, check_twiml
from tests.support import HOTLINE_NUMBER, PARTICIPANT, PUBLIC_URL, Twilio, hotline_config

BROKEN_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2"
DESK = "+18169697390"  # the program's desk phone, (816) 969-7390


@pytest.fixture
def caller(twilio, rt) -> Caller:
    return Caller(twilio, rt)


def count(rt, model) -> int:
    with rt.db.reading() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_a_call_hears_the_emergency_sentence_first_then_the_language_menu(caller):
    heard = caller.dial_in()
    assert heard.said[0] == "If this is an emergency, hang up and dial 911."
    assert "For English, press 1." in heard.said
    assert "Si es una emergencia, cuelgue y marque 911." in heard.said
    assert "Para español, oprima 2." in heard.said
    assert heard.languages == {"en-US", "es-US"}
    assert heard.gather.get("numDigits") == "1"


@pytest.mark.parametrize(
    ("key", "language", "press"), [("1", "en-US", "press 1"), ("2", "es-US", "oprima 1")]
)
def test_the_language_key_sets_the_menu_language(caller, key, language, press):
    heard = caller.start(key)
    assert heard.languages == {language}
    assert press in heard.text and "911" in heard.text
    assert heard.gather.get("action").startswith(PUBLIC_URL + "/twilio/voice/step?step=")


def test_the_entry_needs_no_database():
    app = create_app(hotline_config(BROKEN_DATABASE), environ={})
    heard = Caller(Twilio(app.test_client()), runtime(app)).dial_in()
    assert "911" in heard.said[0] and heard.gather is not None


INVALID_KEYS = {"star": "*", "hash": "#", "ninety-nine": "99", "500 digits": "7" * 500, "letters": "A"}


def conversations(rt) -> list[Conversation]:
    with rt.db.reading() as session:
        return list(session.exec(select(Conversation)).all())


@pytest.mark.parametrize("keys", INVALID_KEYS.values(), ids=INVALID_KEYS.keys())
def test_the_language_menu_asks_twice_then_goes_on_in_english(caller, rt, keys):
    caller.dial_in()
    first = caller.press(keys)
    assert first.said[0] == "Sorry, I did not get that." and first.gather is not None
    assert caller.press(keys).gather is not None
    assert count(rt, Conversation) == 0, "nothing is stored before a language is chosen"
    last = caller.press(keys)
    assert last.gather is not None and not last.hangs_up
    assert last.languages == {"en-US"} and "press 2" in last.text and "988" in last.text
    assert [(c.state, c.language) for c in conversations(rt)] == [("welcome", "en")]


def test_silence_at_the_language_menu_goes_on_in_english(caller, rt):
    caller.dial_in()
    assert caller.silence().gather is not None
    assert caller.silence().gather is not None
    menu = caller.silence()
    assert menu.languages == {"en-US"} and "For a ride to treatment, press 2" in menu.text
    assert caller.press("2").gather is not None, "the menu works: the ride questions start"


def test_silence_at_the_language_menu_goes_on_in_the_language_of_the_callers_texts(twilio, rt):
    twilio.text("espanol", sender=PARTICIPANT)
    caller = Caller(twilio, rt, number=PARTICIPANT)
    caller.dial_in()
    caller.silence()
    caller.silence()
    menu = caller.silence()
    assert menu.languages == {"es-US"} and "oprima 2" in menu.text
    texted, called = sorted(conversations(rt), key=lambda c: c.channel)
    assert (texted.channel, texted.language, called.channel) == ("sms", "es", "voice")
    assert called.sender_hash != texted.sender_hash, "the call is keyed by its CallSid, not the number"
    other = Caller(twilio, rt, number="+18165550199")
    other.dial_in()
    other.silence()
    other.silence()
    assert other.silence().languages == {"en-US"}, "another number's texts say nothing of this call"


def test_nine_at_the_language_menu_says_it_again_and_zero_reaches_a_person(caller, rt):
    first = caller.dial_in()
    again = caller.press("9")
    assert again.said == first.said, "no 'sorry': 9 is a choice"
    heard = caller.press("0")
    assert heard.dialled == DESK and heard.languages == {"en-US"}, "nobody on duty: the desk"


@pytest.mark.parametrize("language", ["1", "2"])
def test_every_program_answer_is_spoken_then_the_menu_again(caller, rt, language):
    caller.start(language)
    menu = caller.press("1")
    assert ("press 6" if language == "1" else "oprima 6") in menu.text
    for topic in "12345678*":
        heard = caller.press(topic)
        assert heard.gather is not None
        assert len(heard.said) >= 2, "the answer, then how to go on"
        assert heard.said[-1] == rt.catalog.render(
            "info.more", "en" if language == "1" else "es", channel="voice"
        )
    back = caller.press("#")
    assert ("press 3" if language == "1" else "oprima 3") in back.text


def test_the_spoken_privacy_answer_says_what_erasing_leaves_and_no_reply_words(caller):
    caller.start()
    caller.press("1")
    heard = caller.press("6")
    assert "not recorded" in heard.text and "What stays" in heard.text
    assert "Reply" not in heard.text and "reply" not in heard.text


def test_nine_repeats_the_main_menu(caller):
    first = caller.start()
    again = caller.press("9")
    assert again.said == first.said


GATHER_STATES = [
    ("welcome", []),
    ("info", ["1"]),
    ("ask_safe", ["2"]),
    ("ask_adult", ["2", "1"]),
    ("ask_handover", ["2", "1", "1"]),
    ("ask_weapons", ["2", "1", "1", "2"]),
    ("ask_warrant", ["2", "1", "1", "2", "2"]),
    ("ask_place", ["2", "1", "1", "2", "2", "3"]),
    ("ask_consent", ["2", "1", "1", "2", "2", "3", "1"]),
    ("confirm", ["2", "1", "1", "2", "2", "3", "1", "2"]),
]
BAD_ANSWERS = {
    "star": {"Digits": "*"},
    "hash": {"Digits": "#"},
    "ninety-nine": {"Digits": "99"},
    "500 digits": {"Digits": "1" * 500},
    "a key the question lacks": {"Digits": "8"},
    "silence": {},
    "empty speech": {"SpeechResult": "", "Confidence": "0.0"},
    "mumbled speech": {"SpeechResult": "the q trip on", "Confidence": "0.12"},
}


# Every bad answer at the main menu, the spoken question and the summary; every question with two.
# Star picks "family and friends" in the info menu: there, hash is the bad key.
CASES = [
    (state, path, bad)
    for state, path in GATHER_STATES
    for bad in ("ninety-nine" if state == "info" else "star", "silence")
] + [
    (state, path, bad)
    for state, path in GATHER_STATES
    if state in ("welcome", "ask_place", "confirm")
    for bad in BAD_ANSWERS
    if bad not in ("star", "silence")
]


@pytest.mark.parametrize(("state", "path", "bad"), CASES, ids=[f"{s}-{b}" for s, _, b in CASES])
def test_every_question_asks_again_twice_then_puts_the_caller_through_to_the_desk(
    caller, rt, state, path, bad
):
    bad = BAD_ANSWERS[bad]
    caller.start()
    caller.keys(*path)
    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).one().state == state
    for _ in range(2):
        again = caller.post(caller.action, **bad)
        assert again.gather is not None and not again.hangs_up
        assert again.said and "press" in again.said[-1].lower(), "the re-ask ends with the question"
    desk = caller.post(caller.action, **bad)
    assert desk.gather is None and not desk.hangs_up, "no goodbye: a person"
    assert desk.dialled == DESK and desk.dial.get("callerId") == HOTLINE_NUMBER
    assert desk.dial.get("action"), "if the desk does not answer, the call still goes on"
    assert "desk" in desk.text and "could not go on" not in desk.text
    assert count(rt, OutboxMessage) == 0, "nothing was sent for a call that did not answer"


def test_a_good_answer_resets_the_re_asks(caller):
    caller.start()
    caller.press("*")
    caller.press("*")
    caller.press("2")
    caller.press("*")
    assert caller.press("*").gather is not None, "two fresh re-asks after an understood answer"


def test_a_twilio_retry_of_a_step_gets_the_same_answer_and_advances_once(caller, rt):
    caller.start()
    action = caller.action
    first = caller.post(action, Digits="2")
    again = caller.post(action, Digits="2")
    assert first.document == again.document
    with rt.db.reading() as session:
        conversation = session.exec(select(Conversation)).one()
        assert conversation.state == "ask_safe" and conversation.version == 2
        assert conversation.channel == "voice"


def test_a_retry_of_the_language_choice_starts_the_flow_once(caller, rt):
    caller.dial_in()
    action = caller.action
    assert caller.post(action, Digits="2").document == caller.post(action, Digits="2").document
    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).one().version == 1


def test_calls_are_keyed_by_call_sid_so_withheld_callers_stay_apart(twilio, rt):
    one, two = Caller(twilio, rt, number="anonymous"), Caller(twilio, rt, number="anonymous")
    one.start()
    two.start()
    one.press("2")
    with rt.db.reading() as session:
        states = sorted(c.state for c in session.exec(select(Conversation)).all())
    assert states == ["ask_safe", "welcome"]


@pytest.mark.parametrize("number", ["anonymous", "Restricted", "+266696687", "", "266696687", "client:bob"])
def test_odd_caller_numbers_get_the_menu(twilio, rt, number):
    heard = Caller(twilio, rt, number=number).start()
    assert "press 1" in heard.text


def test_nothing_identifying_reaches_the_logs(twilio, rt, caplog):
    canary = "+18165559876"
    call = Caller(twilio, rt, number=canary)
    with caplog.at_level("DEBUG"):
        call.start()
        call.keys("2", "1", "1", "2", "2", "3")
        call.speak("the Canary Diner on Main Street")
    logged = caplog.text
    assert "5559876" not in logged and "Canary Diner" not in logged
    assert call.sid in logged


VOICE_ROUTES = [
    "/twilio/voice",
    "/twilio/voice/language?attempt=0",
    "/twilio/voice/step?step=1",
    "/twilio/voice/dial?step=1&leg=0",
    "/twilio/voice/whisper?step=1",
    "/twilio/voice/whisper/answer?step=1",
    "/twilio/voice/status",
    "/twilio/fallback/voice",
]


@pytest.mark.parametrize("route", VOICE_ROUTES)
def test_every_voice_route_refuses_an_unsigned_or_forged_request(client, rt, caller, route):
    params = caller.params(Digits="1")
    assert client.post(route, data=params).status_code == 403
    forged = client.post(route, data=params, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert forged.status_code == 403
    assert count(rt, Conversation) == 0 and count(rt, InboundMessage) == 0


def test_a_tampered_action_query_is_refused(caller, twilio, rt):
    caller.start()
    from tests.support import sign

    params = caller.params(Digits="2")
    signature = sign("/twilio/voice/step?step=1", params)
    response = twilio.client.post(
        "/twilio/voice/step?step=7", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403
    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).one().state == "welcome"


def test_a_database_failure_mid_call_gets_911_hq_and_the_desk():
    app = create_app(hotline_config(BROKEN_DATABASE), environ={})
    rt = runtime(app)
    call = Caller(Twilio(app.test_client()), rt)
    call.dial_in()
    heard = call.press("1")
    assert "911" in heard.text and rt.program.hq_address in heard.text
    assert heard.dialled == "+18169697390", "the caller is put through to the desk"
    assert heard.gather is None


def test_the_fallback_url_answers_without_a_database():
    app = create_app(hotline_config(BROKEN_DATABASE), environ={})
    rt = runtime(app)
    call = Caller(Twilio(app.test_client()), rt)
    heard = call.post(
        "/twilio/fallback/voice", ErrorCode="11200", ErrorUrl=PUBLIC_URL + "/twilio/voice/step?step=3"
    )
    assert heard.said[0].startswith("Sorry, this line cannot answer right now. If this is an emergency")
    assert rt.program.hq_address in heard.text and rt.program.desk_phone in heard.text
    assert heard.languages == {"en-US", "es-US"}
    assert heard.dialled == "+18169697390"
    assert heard.dial.get("action") is None, "after the desk, the goodbye and hang-up follow"
    assert heard.hangs_up


def test_a_call_request_without_a_call_sid_gets_the_safe_answer(caller, twilio):
    params = caller.params(Digits="1")
    params.pop("CallSid")
    response = twilio.post("/twilio/voice/step?step=1", params)
    heard = check_twiml(response.get_data(as_text=True), say_limit=500)
    assert "911" in heard.text and heard.dialled


def test_a_voice_answer_is_valid_twiml_whatever_was_said(caller):
    caller.start()
    caller.keys("2", "1", "1", "2", "2", "3")
    heard = caller.speak("<Response>&'\"]]></Response> \x00 corner of 3rd & Main")
    assert "corner of 3rd" in heard.text or heard.gather is not None
    assert PARTICIPANT not in heard.document


def test_an_english_only_program_skips_the_language_menu(tmp_path, database_url):
    from hotline.plumbing.config import DEFAULT_PROGRAM

    program = tmp_path / "program.toml"
    program.write_text(DEFAULT_PROGRAM.read_text().replace('languages = ["en", "es"]', 'languages = ["en"]'))
    app = create_app(hotline_config(database_url, HOTLINE_PROGRAM=str(program)), environ={})
    rt = runtime(app)
    rt.db.create_all()
    try:
        call = Caller(Twilio(app.test_client()), rt)
        entry = call.dial_in()
        assert entry.said == ["If this is an emergency, hang up and dial 911."]
        assert entry.gather is None and entry.languages == {"en-US"}
        menu = call.post(entry.root.find("Redirect").text)
        assert "press 1" in menu.text and menu.languages == {"en-US"}
    finally:
        rt.db.dispose()
