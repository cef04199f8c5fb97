"""People as they really write: emergencies, suicidal words, Spanish, answers, questions, rides.

The corpus tables run every message through the intake flow in each state where it matters,
judged as bench/understanding.py judges them (that report prints the same figures).
"""

import importlib.util
import json
import sys
import tomllib
from pathlib import Path

import pytest

from flows import INTAKE, Event
from flows.danger import correct, read_danger
from flows.intake import INFO_CHOICES
from flows.intents import normalise, read_adult, read_answer, read_command
from flows.language import detect_language, switched_language
from flows.questions import TOPICS, read_question
from flows.voice import Heard, read
from tests.support import REPO, require

_SPEC = importlib.util.spec_from_file_location("understanding", REPO / "bench" / "understanding.py")
understanding = importlib.util.module_from_spec(_SPEC)
sys.modules["understanding"] = understanding  # dataclasses look their module up there
_SPEC.loader.exec_module(understanding)

OWN = tomllib.loads(understanding.OWN.read_text(encoding="utf-8"))
TEXTS = understanding.catalog()


def grouped(corpus: dict) -> dict[tuple[str, str], list]:
    """Return the corpus cases per (category, state)."""
    groups: dict[tuple[str, str], list] = {}
    for category, state, item in understanding.cases(corpus, TEXTS):
        groups.setdefault((category, state), []).append(item)
    return groups


OWN_GROUPS = grouped(OWN)


def misses(category: str, state: str, items: list) -> list[str]:
    return [
        understanding.message_of(item)
        for item in items
        if not understanding.check(TEXTS, category, state, item)
    ]


@pytest.mark.parametrize(("category", "state"), sorted(OWN_GROUPS))
def test_own_corpus_is_handled_right_in_every_state(category, state):
    assert misses(category, state, OWN_GROUPS[category, state]) == []


def test_own_corpus_is_several_hundred_messages_in_both_languages():
    messages = [understanding.message_of(item) for items in OWN.values() for item in items]
    assert len(messages) >= 600
    assert len(OWN["emergency"]) >= 100 and len(OWN["crisis"]) >= 60
    spanish = [m for m in OWN["emergency"] + OWN["crisis"] if detect_language(normalise(m)) == "es"]
    assert len(spanish) >= 50


def shared_corpus() -> dict:
    path = understanding.SHARED
    require(path.exists(), f"the shared corpus is not beside the repository: {path}")
    return tomllib.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("category", sorted(understanding.WHERE))
def test_shared_corpus_is_handled_right_in_every_state(category):
    groups = grouped(shared_corpus())
    wrong = {
        state: misses(category, state, items) for (name, state), items in groups.items() if name == category
    }
    assert {state: found for state, found in wrong.items() if found} == {}


@pytest.mark.parametrize("state", understanding.ALARM_STATES)
def test_ordinary_messages_never_raise_an_alarm(state):
    calm = understanding.ordinary(OWN)
    alarms = [m for m in calm if understanding.alarmed(understanding.send(TEXTS, state, m))]
    assert alarms == []


def test_the_shared_ordinary_lists_never_raise_an_alarm():
    calm = understanding.ordinary(shared_corpus())
    for state in understanding.ALARM_STATES:
        assert [m for m in calm if understanding.alarmed(understanding.send(TEXTS, state, m))] == []


# ---- danger ----------------------------------------------------------------------------------

OLD_PHRASES = json.loads((Path(__file__).parent / "danger_phrases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("kind", "phrase"), OLD_PHRASES)
def test_every_phrase_the_exact_lists_knew_is_still_recognised(kind, phrase):
    assert read_command(phrase)[0] == kind
    assert read_command(f"please {phrase} now", "voice")[0] == kind


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("sucidal", "suicidal"),
        ("suicde", "suicide"),
        ("ovedose", "overdose"),
        ("unresponsve", "unresponsive"),
        ("inconsiente", "inconsciente"),
        ("sobredocis", "sobredosis"),
        # Real words near a danger word are never "corrected".
        ("esperando", "esperando"),
        ("responses", "responses"),
        ("breaking", "breaking"),
        ("subsidio", "subsidio"),
        ("drugs", "drugs"),
    ],
)
def test_misspelt_danger_words_are_corrected_and_real_words_kept(typed, meant):
    assert correct(typed) == meant


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("my phone is dying", None),
        ("my phone is dying and he isnt breathing", "emergency"),
        ("me muero de hambre", None),
        ("me muero de hambre y mi hijo no respira", "emergency"),
        ("im dying of boredom lol", None),
        ("i fell out with my family", None),
        ("he fell out in the bathroom", "emergency"),
    ],
)
def test_an_ordinary_saying_never_alarms_and_hides_no_danger_beside_it(text, kind):
    assert read_danger(normalise(text))[0] == kind


@pytest.mark.parametrize(
    ("text", "kind", "also_crisis"),
    [
        # A wish not to wake up is suicidal words, not someone who will not wake.
        ("i just want to go to sleep and never wake up", "crisis", False),
        ("quisiera no despertar", "crisis", False),
        ("nadie me extrañaría si me muero", "crisis", False),
        ("i feel like dying", "crisis", False),
        # The overdose beside the wish still counts: 911 first, 988 as well.
        ("i want to od and never wake up", "emergency", True),
        ("i feel like im dying i took too much", "emergency", False),
        ("he never woke up", "emergency", False),
    ],
)
def test_a_wish_not_to_wake_is_suicidal_words_and_an_overdose_beside_it_still_counts(text, kind, also_crisis):
    found, _, both = read_danger(normalise(text))
    assert (found, both) == (kind, also_crisis)


def test_emergency_and_suicidal_words_together_give_911_then_988():
    kind, _, also_crisis = read_danger(normalise("i took too many pills i want to die"))
    assert (kind, also_crisis) == ("emergency", True)
    answers = {"safe": "yes", "adult": "yes"}
    step = INTAKE.handle("ask_handover", {"answers": answers}, Event("i took too many pills i want to die"))
    said = [r.key for r in step.replies]
    # 911 first; then 988, worded so nobody texts 988 instead of calling 911.
    assert said[0].startswith("emergency") and "crisis.after_emergency" in said, said
    assert [e.params["reason"] for e in step.effects if e.kind == "alert_sergeant"] == ["emergency"]
    assert step.state != "ask_weapons" and step.data["answers"] == answers


@pytest.mark.parametrize("text", ["me quiero matar", "i dont want to live anymore", "me voy a matar"])
def test_suicidal_words_where_the_place_is_asked_are_never_the_place(text):
    data = {"language": "en", "answers": dict(understanding.FULL), "reasks": 0}
    step = INTAKE.handle("ask_place", data, Event(text))
    assert step.state != "ask_consent" and "place" not in step.data["answers"]
    assert [r.key for r in step.replies][0] == "crisis"
    assert "suicide" in [e.params.get("reason") for e in step.effects]


@pytest.mark.parametrize("text", ["me quiero matar", "i dont want to live anymore", "hes not breathing"])
def test_danger_while_an_officer_has_accepted_is_answered_not_relayed(text):
    context = {"request": {"ref": "R7K2", "status": "accepted", "relay": True}}
    step = INTAKE.handle("request_open", {"language": "en"}, Event(text, "sms", context))
    assert [e.kind for e in step.effects] == ["alert_sergeant"]
    assert step.replies[0].key in ("crisis", "emergency")


def test_an_ordinary_text_while_an_officer_has_accepted_is_still_relayed():
    context = {"request": {"ref": "R7K2", "status": "accepted", "relay": True}}
    step = INTAKE.handle("request_open", {"language": "en"}, Event("im by the front door", "sms", context))
    assert [e.kind for e in step.effects] == ["relay"]


@pytest.mark.parametrize(("said", "reply"), [("me voy a matar", "crisis"), ("she od'd", "emergency")])
def test_a_spoken_place_with_danger_words_is_answered_as_what_it_is(said, reply):
    text = read("ask_place", Heard(speech=said))
    data = {"language": "en", "answers": dict(understanding.FULL), "reasks": 0}
    step = INTAKE.handle("ask_place", data, Event(text, "voice"))
    assert step.state == "ask_place" and [r.key for r in step.replies] == [reply]


# ---- language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("me pueden ayudar", "es"),
        ("mi esposo necesita ayuda con las drogas", "es"),
        ("habla español?", "es"),
        ("ola", "es"),
        ("no esta respirando", "es"),
        ("can someone help me", "en"),
        ("my son uses drugs", "en"),
        ("hi", "en"),
    ],
)
def test_the_first_message_sets_the_language(text, language):
    assert INTAKE.handle(None, {}, Event(text)).language == language


@pytest.mark.parametrize("text", ["ok", "no", "si", "HQ", "La Quinta Inn", "QuikTrip on 291", "👍", "1"])
def test_short_answers_and_place_names_never_switch_language(text):
    for language in ("en", "es"):
        assert switched_language(normalise(text), language) is None


def test_a_whole_sentence_in_the_other_language_switches_mid_conversation():
    step = INTAKE.handle("ask_safe", {"language": "en"}, Event("no entiendo, hablan español?"))
    assert step.language == "es"
    step = INTAKE.handle(
        "ask_safe", {"language": "es"}, Event("sorry i dont speak spanish, can you text me in english")
    )
    assert step.language == "en"


@pytest.mark.parametrize("text", ["quiero ayuda", "cuanto cuesta", "hola"])
def test_two_words_only_spanish_uses_switch_to_spanish(text):
    assert INTAKE.handle("info", {"language": "en"}, Event(text)).language == "es"


def test_the_place_never_switches_language():
    data = {"language": "en", "answers": dict(understanding.FULL), "reasks": 0}
    step = INTAKE.handle("ask_place", data, Event("en la esquina de la calle tercera y la avenida principal"))
    assert step.language == "en" and step.state == "ask_consent"


# ---- answers -------------------------------------------------------------------------------


def test_thumbs_answer_yes_and_no():
    assert INTAKE.handle("ask_safe", {}, Event("👍")).state == "ask_adult"
    assert [r.key for r in INTAKE.handle("ask_safe", {}, Event("👎🏽")).replies] == ["unsafe"]


def test_a_long_voice_to_text_answer_is_read_from_its_start():
    said = "yeah I think so I mean I've got a little bit of stuff on me I want to get rid of"
    assert read_answer(normalise(said)) == "yes"
    step = INTAKE.handle("ask_handover", {"answers": {"safe": "yes", "adult": "yes"}}, Event(said))
    assert step.state == "ask_weapons" and step.data["answers"]["handover"] == "yes"
    assert read_answer(normalise("yes " * 100)) is None  # a wall of text is no answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm not a minor", "yes"),
        ("no im not a minor", "yes"),
        ("im over 18", "yes"),
        ("im not 18", "no"),
        ("no tengo 18", "no"),
        ("no soy menor", "yes"),
        ("soy menor", "no"),
        ("im not an adult", "no"),
    ],
)
def test_ages_said_with_a_negation(text, expected):
    assert read_adult(normalise(text)) == expected


# ---- questions, rides and hellos ------------------------------------------------------------


def test_every_topic_the_menu_answers_has_patterns_and_the_new_ones_wait_for_their_text():
    topics = set(INFO_CHOICES) - {"back"}
    assert topics <= set(TOPICS)
    assert {"pickup", "treatment", "waiting", "family"} <= set(TOPICS)
    for topic in set(TOPICS) - topics - {"arrest"}:
        if f"info.{topic}" not in TEXTS.keys("en"):
            example = {"waiting": "should i use while i wait", "family": "my son needs help"}.get(topic)
            if example:
                assert read_question(normalise(example)) == topic
                step = INTAKE.handle("ask_safe", {"language": "en"}, Event(example))
                assert f"info.{topic}" not in [r.key for r in step.replies]


def test_a_question_mid_screening_is_answered_then_the_question_asked_again():
    answers = {"safe": "yes", "adult": "yes", "handover": "no"}
    step = INTAKE.handle(
        "ask_weapons", {"language": "en", "answers": answers}, Event("wait will i get arrested?")
    )
    assert [r.key for r in step.replies] == ["info.arrest", "ask_weapons"]
    assert step.state == "ask_weapons" and step.data["answers"] == answers


def test_a_question_where_the_place_is_asked_is_not_the_place():
    data = {"language": "es", "answers": dict(understanding.FULL), "reasks": 0}
    step = INTAKE.handle("ask_place", data, Event("no tengo seguro"))
    assert [r.key for r in step.replies] == ["info.cost", "ask_place"] and step.state == "ask_place"


def test_a_question_from_the_welcome_leads_to_the_info_menu():
    step = INTAKE.handle("welcome", {"language": "en"}, Event("is this confidential"))
    assert (step.state, [r.key for r in step.replies]) == ("info", ["info.privacy", "info.more"])


def test_a_first_text_question_is_answered_before_the_welcome():
    step = INTAKE.handle(None, {}, Event("cuanto cuesta?"))
    assert (step.language, [r.key for r in step.replies]) == ("es", ["info.cost", "welcome"])


@pytest.mark.parametrize(
    "text", ["can someone pick me up", "necesito que me recojan", "I want to go to treatment"]
)
def test_a_first_text_asking_for_a_ride_starts_the_ride_questions(text):
    step = INTAKE.handle(None, {}, Event(text))
    assert step.state == "ask_safe" and [r.key for r in step.replies] == ["ask_safe"]


@pytest.mark.parametrize("text", ["hi", "hello", "hola", "quiero ayuda", "help me"])
def test_hellos_from_the_info_menu_show_the_welcome(text):
    step = INTAKE.handle("info", {"language": "en"}, Event(text))
    assert (step.state, [r.key for r in step.replies]) == ("welcome", ["welcome"])


@pytest.mark.parametrize("text", ["ride", "I need a ride"])
def test_a_ride_from_the_info_menu_starts_the_ride_questions(text):
    assert INTAKE.handle("info", {"language": "en"}, Event(text)).state == "ask_safe"


def test_the_language_detector_is_built_only_when_first_needed():
    import subprocess

    code = (
        "import flows, flows.language as language\n"
        "before = language.detector.cache_info().currsize\n"
        "flows.INTAKE.handle('ask_safe', {}, flows.Event('yes'))\n"
        "print(before, language.detector.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.split() == ["0", "0"]


def test_a_bare_answer_or_a_call_never_switches_language():
    assert INTAKE.handle("ask_warrant", {"language": "es"}, Event("not sure")).language == "es"
    call = Event("not sure", "voice")  # keypad 3 reaches the flow as English words
    assert INTAKE.handle("ask_warrant", {"language": "es"}, call).language == "es"
    spoken = Event("quiero saber como funciona todo esto", "voice")
    assert INTAKE.handle("info", {"language": "en"}, spoken).language == "en"


@pytest.mark.parametrize(
    "text", ["when will they get here", "how long till the officer comes", "cuanto tardan?"]
)
def test_asking_when_the_officer_comes_gets_the_requests_status(text):
    context = {"request": {"ref": "R7K2", "status": "waiting"}}
    step = INTAKE.handle("request_open", {"language": "en"}, Event(text, "sms", context))
    assert [r.key for r in step.replies] == ["status.waiting"]
