"""Keys and speech to flow input, spoken parts, and the program's call settings (no database)."""

import pytest

from flows import INTAKE, Event, Reply
from flows.voice import MENUS, NO_INPUT, REPEAT, TALK_NOW, UNCLEAR, Heard, read, spoken
from hotline import create_app
from hotline.plumbing.config import DEFAULT_PROGRAM, ConfigError
from hotline.plumbing.program import load_program
from hotline.plumbing.runtime import runtime
from hotline.web.voice import spoken_parts
from tests.calls import Caller
from tests.support import Twilio, hotline_config

KEYS = [
    ("welcome", "1", "1"),
    ("welcome", "3", TALK_NOW),
    ("welcome", "9", REPEAT),
    ("welcome", "4", UNCLEAR),
    ("info", "#", "0"),
    ("info", "7", "7"),  # pickup; 8 at treatment
    ("info", "*", "f"),  # star: family and friends
    ("info", "0", TALK_NOW),
    ("info", "9", REPEAT),
    ("welcome", "0", TALK_NOW),
    ("ask_weapons", "0", TALK_NOW),
    ("confirm", "9", REPEAT),
    ("ask_safe", "1", "1"),
    ("ask_safe", "2", "2"),
    ("ask_safe", "3", UNCLEAR),
    ("ask_adult", "99", UNCLEAR),
    ("ask_warrant", "3", "3"),
    ("ask_place", "1", "1"),
    ("ask_place", "2", UNCLEAR),
    ("confirm", "1", "1"),
    ("confirm", "*", UNCLEAR),
    ("confirm", "#", UNCLEAR),
    ("request_open", "1", UNCLEAR),
]


@pytest.mark.parametrize(("state", "digits", "text"), KEYS)
def test_keys_become_what_the_flow_reads(state, digits, text):
    assert read(state, Heard(digits=digits)) == text


def test_speech_is_read_only_where_a_question_listens_for_it():
    place = "the QuikTrip on 291"
    assert read("ask_place", Heard(speech=f"  {place} ")) == place
    assert read("ask_place", Heard(speech=place, confident=False)) == UNCLEAR
    assert read("ask_safe", Heard(speech="yes")) == "yes", "a spoken answer reaches the flow whole"
    assert read("ask_safe", Heard(speech="yes", confident=False)) == UNCLEAR
    assert read("welcome", Heard(speech="a ride")) == UNCLEAR, "menus take keys (and danger words)"
    assert read("ask_place", Heard(speech="status")) == UNCLEAR, "a texting word, not a place"
    assert read("ask_place", Heard(speech="  ")) == NO_INPUT
    assert read("ask_place", Heard(speech="um uh")) == UNCLEAR, "fillers name no place"
    assert read("ask_place", Heard(speech="um, QuikTrip")) == "um, QuikTrip"
    assert read("ask_place", Heard(speech="overdose")) == "overdose", "emergency words reach the flow"
    assert read("ask_place", Heard(digits="1", speech="main street")) == "1", "a key wins"


@pytest.mark.parametrize("state", MENUS)
def test_the_unclear_marker_is_unclear_to_the_flow_at_every_question(state):
    answers = {"safe": "yes", "adult": "yes", "handover": "no", "weapons": "no", "warrant": "no"}
    answers |= {"meet": "hq", "place": None, "consent": "no"}
    data = {"language": "en", "answers": answers, "reasks": 0}
    step = INTAKE.handle(state, data, Event(UNCLEAR, "voice"))
    assert (step.state, step.data["reasks"], step.effects) == (state, 1, [])


def test_spoken_replies_always_end_with_a_question():
    assert [r.key for r in spoken("ask_safe", [Reply("reask.empty")])] == ["ask_safe.reask"]
    assert [r.key for r in spoken("welcome", [Reply("under_age")])] == [
        "under_age",
        "call.menu",
        "call.menu.more",
    ]
    assert [r.key for r in spoken("ask_place", [Reply("help")])] == ["help", "ask_place"]
    assert [r.key for r in spoken("info", [Reply("info.cost"), Reply("info.more")])] == [
        "info.cost",
        "info.more",
    ]
    assert [r.key for r in spoken("confirm", [Reply("confirm.hq")])] == ["confirm.hq"]


def test_spoken_parts_fit_the_limit_and_keep_every_word():
    text = "First sentence here. " + "word " * 60 + "End. " + "x" * 130
    parts = spoken_parts(text, 100)
    assert all(0 < len(part) <= 100 for part in parts)
    assert (
        " ".join(parts).split()
        == " ".join(text.split()).replace("x" * 130, "x" * 100 + " " + "x" * 30).split()
    )
    assert spoken_parts("Short. Two.", 100) == ["Short. Two."]


def test_the_program_file_sets_the_call_settings(tmp_path):
    path = tmp_path / "program.toml"
    path.write_text(DEFAULT_PROGRAM.read_text().replace("dial_officers = 3", "dial_officers = 5"))
    assert load_program(path).calls.dial_officers == 5
    default = load_program(DEFAULT_PROGRAM)
    assert default.calls.max_say_chars == 500 and default.calls.dial_timeout_seconds == 20
    assert set(default.voices) == {"en", "es"}, "[voice]'s own values are not a voice"


@pytest.mark.parametrize(
    "bad",
    [
        'max_say_chars = "long"\n',
        "max_say_chars = 20\n",
        "dial_timeout_seconds = 600\n",
        "speech_confidence = 1.5\n",
        "gather_timeout_seconds = true\n",
    ],
)
def test_a_wrong_call_setting_fails_at_start_not_in_a_call(tmp_path, bad):
    text = DEFAULT_PROGRAM.read_text()
    name = bad.split(" =")[0]
    lines = [line for line in text.splitlines() if not line.startswith(name + " ")]
    text = "\n".join(lines).replace("[voice]\n", "[voice]\n" + bad)
    path = tmp_path / "program.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="voice"):
        create_app(hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_PROGRAM=str(path)), environ={})


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('voice = "Polly.Lupe"', 'voice = "Polly.Joanna"'),  # an English voice for Spanish
        ('language = "es-US"', 'language = "es-ES"'),  # a language the hotline does not allow
    ],
)
def test_an_unknown_voice_or_language_fails_at_start(tmp_path, old, new):
    path = tmp_path / "program.toml"
    path.write_text(DEFAULT_PROGRAM.read_text().replace(old, new))
    with pytest.raises(ConfigError, match="voice"):
        create_app(hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_PROGRAM=str(path)), environ={})


def test_a_desk_phone_that_cannot_be_dialled_fails_at_start(tmp_path):
    path = tmp_path / "program.toml"
    path.write_text(DEFAULT_PROGRAM.read_text().replace('"(816) 969-7390"', '"the front desk"'))
    with pytest.raises(ConfigError, match="desk_phone"):
        create_app(hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_PROGRAM=str(path)), environ={})


def test_a_long_program_text_is_spoken_in_parts_within_the_limit(tmp_path):
    long_entry = "If this is an emergency, hang up and dial 911. " + "Please listen closely. " * 40
    path = tmp_path / "program.toml"
    path.write_text(
        DEFAULT_PROGRAM.read_text().replace("max_say_chars = 500", "max_say_chars = 120")
        + f'\n[texts.en]\n"call.emergency.voice" = "{long_entry.strip()}"\n'
    )
    app = create_app(hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_PROGRAM=str(path)), environ={})
    rt = runtime(app)
    heard = Caller(Twilio(app.test_client()), rt).dial_in()  # checks every <Say> against the limit
    english = [text for text in heard.said if "Please listen" in text or "911" in text]
    assert len(english) > 5 and all(len(text) <= 120 for text in heard.said)
    assert " ".join(english).count("Please listen closely.") == 40


def test_keys_reach_the_flow_as_digits_in_no_language():
    # A Spanish caller pressing 1 must not send the flow "yes", which reads as English.
    for state, menu in MENUS.items():
        for key, text in menu.keys.items():
            # "f" (family and friends, star) is a menu letter in no language either.
            assert text.isdigit() or text in (TALK_NOW, REPEAT, "f"), (state, key, text)
