"""Turns share one machine but nothing else: each answer is what a fresh flow would give."""

import copy
import itertools
import random
import sys
import threading

import pytest

from flows import INTAKE, Event, Flow, Step
from flows.intake import STATES, TRANSITIONS, Intake
from flows.intents import contains, contains_any, normalise, phrase_finder, read_command, read_folded_command

TEXTS = [
    "1",
    "2",
    "3",
    "0",
    "yes",
    "no",
    "not sure",
    "I'm 17",
    "Walmart on 291",
    "what happens",
    "MENU",
    "STOP",
    "HELP",
    "ES",
    "hola necesito ayuda",
    "cancel ride",
    "overdose",
    "purple",
    "",
]
DATA = [
    {},
    {"language": "es", "reasks": 2},
    {
        "language": "en",
        "answers": {"safe": "yes", "adult": "yes", "handover": "no", "weapons": "no"}
        | {"warrant": "not_sure", "meet": "place", "place": "Walmart", "consent": "yes"},
        "reasks": 1,
    },
]
CONTEXTS = [
    ("sms", {}),
    ("sms", {"request": {"ref": "R7K2", "status": "accepted"}}),
    ("sms", {"opted_out": True}),
    ("sms", {"idle": True, "reask_limit": 0}),
    ("voice", {"request": {"ref": "R7K2", "status": "completed"}}),
]
STARTS = [None, "gone", *STATES]


def corpus() -> list[tuple]:
    """Return turns from every state, in both languages, with and without a request."""
    turns = []
    for state, text, data, (channel, context) in itertools.product(STARTS, TEXTS, DATA, CONTEXTS):
        turns.append((state, data, Event(text, channel, context)))
    # Thin it evenly: every state, text, data and context still appears many times.
    return turns[::5]


TURNS = corpus()


def fresh(state, data, event) -> Step:
    """Answer one turn on a flow that has never answered anything."""
    return Flow("intake", STATES, TRANSITIONS, "welcome", Intake).handle(state, data, event)


@pytest.fixture(scope="module")
def expected() -> list[Step]:
    return [fresh(*turn) for turn in TURNS]


def test_the_corpus_reaches_every_state_and_both_languages(expected):
    assert {step.state for step in expected} == set(STATES)
    assert {step.language for step in expected} == {"en", "es"}
    assert any(step.data["answers"] for step in expected)
    assert any(step.effects for step in expected)


def test_interleaved_turns_answer_as_a_fresh_flow_does(expected):
    flow = Flow("intake", STATES, TRANSITIONS, "welcome", Intake)
    for seed in range(3):
        order = list(range(len(TURNS)))
        random.Random(seed).shuffle(order)
        for index in order:
            assert flow.handle(*TURNS[index]) == expected[index], TURNS[index]
    assert flow.machine.models == []


def test_a_turn_leaves_its_inputs_as_they_were():
    for state, data, event in TURNS:
        before = copy.deepcopy((data, event))
        step = INTAKE.handle(state, data, event)
        assert (data, event) == before
        assert step.data is not data
        assert step.data["answers"] is not data.get("answers")


def test_a_turn_after_a_failing_turn_is_unaffected(expected):
    class Broken(Intake):
        def mark_prompt(self):
            self.say("half-said")
            raise RuntimeError("boom")

    flow = Flow("intake", STATES, TRANSITIONS, "welcome", Broken)
    steps = []
    for turn in TURNS:
        try:
            steps.append(flow.handle(*turn))
        except RuntimeError:
            steps.append(None)
    # Turns that never reach mark_prompt answer exactly as the real flow; the others failed alone.
    assert [s for s, e in zip(steps, expected, strict=True) if s is not None and s != e] == []
    assert None in steps


def test_threads_sharing_the_flow_each_get_the_single_threaded_answer(expected):
    results: dict[int, list] = {}
    errors = []
    start = threading.Barrier(8)

    def worker(number: int) -> None:
        order = list(range(len(TURNS)))
        random.Random(number).shuffle(order)
        try:
            start.wait()
            results[number] = [(index, INTAKE.handle(*TURNS[index])) for index in order]
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, mid-turn too
    try:
        threads = [threading.Thread(target=worker, args=(number,)) for number in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert len(results) == 8
    for answers in results.values():
        assert [step for index, step in answers if step != expected[index]] == []
    assert INTAKE.machine.models == []


def test_state_enter_and_exit_methods_run_as_when_models_were_attached():
    class Noted(Intake):
        def on_enter_info(self):
            self.say("entered.info")

        def on_exit_welcome(self):
            self.say("left.welcome")

    flow = Flow("noted", STATES, TRANSITIONS, "welcome", Noted)
    step = flow.handle("welcome", {}, Event("1"))
    assert [reply.key for reply in step.replies] == ["left.welcome", "entered.info", "info"]
    stay = flow.handle("info", {}, Event("1"))
    assert [reply.key for reply in stay.replies] == ["info.what_happens", "info.more"]


def test_an_event_no_transition_has_is_a_programming_error():
    class Lost(Intake):
        def plan(self, state, states, initial):
            return "welcome", "no_such_event"

    flow = Flow("lost", STATES, TRANSITIONS, "welcome", Lost)
    with pytest.raises(AttributeError, match="no_such_event"):
        flow.handle("welcome", {}, Event("hello"))


ODD_TEXTS = [
    "",
    " ",
    "not sure",
    "im not sure at all",
    "not  sure",
    "Not sure",
    "i am",
    "iam",
    "i am\nhere",
    "no se",
    "no sea",
    "hola",
    "hola.",
    "x hola y",
    "a.b",
    "what happens",
    "whathappens",
    "1",
    "11",
    "a (b",
    "\thola",
]
PHRASE_SETS = [
    ("not sure", "no se", "i am", "hola", "1"),
    ("a.b", "a (b", "what happens"),
    ("",),
    (),
    ["hola", "no se"],
]


@pytest.mark.parametrize("phrases", PHRASE_SETS, ids=repr)
def test_one_search_finds_what_a_contains_per_phrase_finds(phrases):
    for text in ODD_TEXTS:
        expected = any(contains(text, phrase) for phrase in phrases)
        assert contains_any(text, phrases) is expected, text
        assert phrase_finder(phrases)(text) is expected, text


@pytest.mark.parametrize("text", ["Hello THERE", "can't", "I\u2019m", "a--b  c", "Sí", "¿Menú?", "x" * 2000])
def test_plain_ascii_folds_as_the_unicode_path_would(text):
    import re
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text[:1600])
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = bare.replace("'", "").replace("\u2019", "").casefold()
    assert normalise(text) == " ".join(re.sub(r"[^a-z0-9]+", " ", bare).split())


@pytest.mark.parametrize("text", TEXTS + ["I'm suicidal", "stop texting me", "Ayuda por favor", "EN"])
def test_reading_a_folded_text_finds_the_same_command(text):
    for channel in ("sms", "voice"):
        assert read_folded_command(normalise(text), channel) == read_command(text, channel)
