"""How many messages people really send the hotline handles right, per category and state.

    .venv/bin/python bench/understanding.py [--own] [--corpus PATH ...] [--misses]
    make understanding

Reads the project's corpus (../shared/corpus/messages.toml beside the repository; --own adds
tests/flows/corpus.toml, the hotline's own larger set) and sends every message through the intake
flow in each state where it matters: as a first text, mid-screening, where the meeting place is
asked, while waiting for an officer and after one accepted. What "right" means per category is
the corpus README's: 911 and naloxone for an emergency, 988 for suicidal words, Spanish for a
Spanish first text, the answer saved for yes / no / not sure, the topic's answer for a question,
the place taken (or never taken). Last, the false alarms: ordinary messages (yes, no, not sure,
places, menu numbers, everyday words about drugs and help) answered as an emergency or crisis.

Only the flow's public interface (INTAKE.handle, the text catalog, the program file) is used, so
the same script measures an older version: PYTHONPATH=<other checkout> python bench/understanding.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The shared corpus sits beside the repository (as CI lays it out); HOTLINE_CORPUS names another.
SHARED = Path(os.environ.get("HOTLINE_CORPUS") or REPO.parent / "shared" / "corpus" / "messages.toml")
OWN = REPO / "tests" / "flows" / "corpus.toml"
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # after PYTHONPATH, so another checkout can be measured

from flows import INTAKE, Event, Step  # noqa: E402
from flows.texts import Catalog  # noqa: E402
from hotline.plumbing.program import load_program  # noqa: E402

SCREENING_ANSWERS = {  # what mid-screening state the "mid-screening" rows use, and its answers
    "safe": "yes",
    "adult": "yes",
    "handover": "no",
}
FULL = SCREENING_ANSWERS | {"weapons": "no", "warrant": "no"}
WAITING = {"ref": "R7K2", "status": "waiting"}
ACCEPTED = {"ref": "R7K2", "status": "accepted", "relay": True}
# state name in the report -> (flow state, answers so far, context)
STATES = {
    "first": (None, {}, {}),
    "menu": ("welcome", {}, {}),
    "info": ("info", {}, {}),
    "screening": ("ask_weapons", SCREENING_ANSWERS, {}),
    "adult": ("ask_adult", {"safe": "yes"}, {}),
    "warrant": ("ask_warrant", FULL | {"warrant": None}, {}),
    "place": ("ask_place", FULL, {}),
    "waiting": ("request_open", {}, {"request": WAITING}),
    "accepted": ("request_open", {}, {"request": ACCEPTED}),
}
# category -> the states its messages are tried in
WHERE = {
    "emergency": ("first", "screening", "place", "waiting", "accepted"),
    "crisis": ("first", "screening", "place", "waiting", "accepted"),
    "both": ("first", "screening", "place", "accepted"),
    "spanish_first": ("first",),
    "english_first": ("first",),
    "yes": ("adult", "warrant"),
    "no": ("adult", "warrant"),
    "not_sure": ("warrant",),
    "adult": ("adult",),
    "minor": ("adult",),
    "questions": ("first", "menu", "info", "screening", "place", "waiting"),
    "ride": ("first", "menu", "info"),
    "greetings": ("menu", "info"),
    "places": ("place",),
    "not_places": ("place",),
}
ALARM_STATES = ("first", "menu", "screening", "place", "waiting", "accepted")


@dataclass
class Turn:
    """One message sent in one state, and what came back."""

    step: Step
    texts: list[str]  # the replies rendered, lowercase, accents folded
    keys: list[str]

    def says(self, *words: str) -> bool:
        return any(word in text for text in self.texts for word in words)


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def catalog() -> Catalog:
    program = load_program(REPO / "hotline" / "program.toml")
    return Catalog(overrides=program.texts, facts=program.facts())


def send(texts: Catalog, state: str, message: str, language: str = "en") -> Turn:
    """Send one message in a report state and render the replies."""
    flow_state, answers, context = STATES[state]
    data = {} if flow_state is None else {"language": language, "answers": dict(answers), "reasks": 0}
    step = INTAKE.handle(flow_state, data, Event(message, "sms", context))
    rendered = [fold(texts.render(r.key, step.language, dict(r.params))) for r in step.replies]
    return Turn(step, rendered, [r.key for r in step.replies])


def alarmed(turn: Turn) -> bool:
    """Tell whether a turn answered as an emergency or crisis."""
    reasons = {e.params.get("reason") for e in turn.step.effects if e.kind == "alert_sergeant"}
    return bool(reasons & {"emergency", "suicide"}) or bool({"emergency", "crisis"} & set(turn.keys))


def not_passed_on(turn: Turn, state: str) -> bool:
    """Tell whether a danger message was kept out of the place and away from the officer."""
    relayed = any(e.kind == "relay" for e in turn.step.effects)
    placed = state == "place" and turn.step.state != "ask_place"
    return not relayed and not placed


def emergency(turn: Turn, state: str, item: object) -> bool:
    return turn.says("911") and turn.says("naloxone", "naloxona", "narcan") and not_passed_on(turn, state)


def crisis(turn: Turn, state: str, item: object) -> bool:
    return turn.says("988") and not_passed_on(turn, state)


def both(turn: Turn, state: str, item: object) -> bool:
    return emergency(turn, state, item) and crisis(turn, state, item)


def in_language(language: str) -> Callable[[Turn, str, object], bool]:
    def right(turn: Turn, state: str, item: object) -> bool:
        return turn.step.language == language

    return right


def answered(expected: str, field: str = "") -> Callable[[Turn, str, object], bool]:
    """The answer saved at the screening question (adult at ask_adult, warrant at ask_warrant)."""

    def right(turn: Turn, state: str, item: object) -> bool:
        step = turn.step
        if state == "adult":
            if expected == "no":
                return step.state == "welcome" and "under_age" in turn.keys
            return step.data.get("answers", {}).get("adult") == expected
        return step.data.get("answers", {}).get("warrant") == expected

    return right


def question(turn: Turn, state: str, item: object) -> bool:
    """An info answer that covers the topic (words from the corpus, or the topic's own text)."""
    _, wanted = item  # type: ignore[misc]
    infos = [text for key, text in zip(turn.keys, turn.texts, strict=True) if is_info_answer(key)]
    if isinstance(wanted, str):
        if state == "place" and turn.step.state != "ask_place":
            return False
        return f"info.{wanted}" in turn.keys
    if state == "place" and turn.step.state != "ask_place":
        return False  # taken as the meeting place
    return any(fold(word) in text for text in infos for word in wanted)


def is_info_answer(key: str) -> bool:
    return key.startswith("info.") and key not in ("info.more", "info.reask")


def ride(turn: Turn, state: str, item: object) -> bool:
    return turn.step.state == "ask_safe"


def greeting(turn: Turn, state: str, item: object) -> bool:
    return turn.step.state == "welcome" and "welcome" in turn.keys


def place(turn: Turn, state: str, item: object) -> bool:
    answers = turn.step.data.get("answers", {})
    return turn.step.state == "ask_consent" and answers.get("meet") in ("hq", "place")


def not_place(turn: Turn, state: str, item: object) -> bool:
    kind, _ = item  # type: ignore[misc]
    return turn.step.state == "ask_place" and (emergency if kind == "emergency" else crisis)(
        turn, state, item
    )


JUDGES: dict[str, Callable[[Turn, str, object], bool]] = {
    "emergency": emergency,
    "crisis": crisis,
    "both": both,
    "spanish_first": in_language("es"),
    "english_first": in_language("en"),
    "yes": answered("yes"),
    "no": answered("no"),
    "not_sure": answered("not_sure"),
    "adult": answered("yes"),
    "minor": answered("no"),
    "questions": question,
    "ride": ride,
    "greetings": greeting,
    "places": place,
    "not_places": not_place,
}


def message_of(item: object) -> str:
    """Return the message of a corpus item: a string, [message, topic] or [kind, message]."""
    if isinstance(item, list):
        return item[1] if item[0] in ("crisis", "emergency") else item[0]
    return str(item)


def applies(category: str, state: str, item: object) -> bool:
    """Leave out pairs that do not make sense: an age where the warrant question is asked."""
    if category in ("yes", "no") and state == "warrant":
        return not any(c.isdigit() for c in message_of(item))
    return True


def answerable(texts: Catalog, category: str, item: object) -> bool:
    """A question whose topic has no text yet (a topic being written) is not counted."""
    if category == "questions" and isinstance(item, list) and isinstance(item[1], str):
        return f"info.{item[1]}" in texts.keys("en")
    return True


def check(texts: Catalog, category: str, state: str, item: object) -> bool:
    """Tell whether one message in one state is handled right."""
    language = "es" if category == "questions" and is_spanish_question(item) else "en"
    turn = send(texts, state, message_of(item), language)
    return JUDGES[category](turn, state, item)


def is_spanish_question(item: object) -> bool:
    wanted = item[1] if isinstance(item, list) else None  # type: ignore[index]
    return isinstance(wanted, list) and any(w in ("gratis", "cargo", "privacidad", "costo") for w in wanted)


def cases(corpus: dict, texts: Catalog) -> Iterator[tuple[str, str, object]]:
    """Yield (category, state, item) for every message of a corpus in every state it matters."""
    for category, states in WHERE.items():
        for item in corpus.get(category, []):
            if not answerable(texts, category, item):
                continue
            for state in states:
                if applies(category, state, item):
                    yield category, state, item


def ordinary(corpus: dict) -> list[str]:
    """Return the messages that must never raise an alarm."""
    found = list(corpus.get("ordinary", []))
    for category in ("yes", "no", "not_sure", "places", "adult", "minor", "greetings"):
        found += [str(m) for m in corpus.get(category, [])]
    return found


def load(paths: list[Path]) -> dict[str, list]:
    merged: dict[str, list] = {}
    for path in paths:
        for category, items in tomllib.loads(path.read_text(encoding="utf-8")).items():
            merged.setdefault(category, []).extend(items)
    return merged


def report(corpus: dict, texts: Catalog, show_misses: bool) -> tuple[int, int, int]:
    """Print the table; return (handled right, tried, false alarms)."""
    table: dict[str, dict[str, list[int]]] = {}
    misses = []
    for category, state, item in cases(corpus, texts):
        ok = check(texts, category, state, item)
        cell = table.setdefault(category, {}).setdefault(state, [0, 0])
        cell[0] += ok
        cell[1] += 1
        if not ok:
            misses.append((category, state, message_of(item)))
    columns = [s for s in STATES if any(s in row for row in table.values())]
    print(f"{'category':<14}" + "".join(f"{s:>12}" for s in columns) + f"{'all':>12}")
    right = tried = 0
    for category, row in table.items():
        cells = []
        for state in columns:
            good, total = row.get(state, (0, 0))
            cells.append(f"{good}/{total}" if total else "-")
        good = sum(c[0] for c in row.values())
        total = sum(c[1] for c in row.values())
        right, tried = right + good, tried + total
        print(f"{category:<14}" + "".join(f"{c:>12}" for c in cells) + f"{good}/{total}".rjust(12))
    print(f"{'handled right':<14}{right}/{tried} ({100 * right / max(tried, 1):.1f}%)")
    alarms = []
    calm = ordinary(corpus)
    for message in calm:
        for state in ALARM_STATES:
            if alarmed(send(texts, state, message)):
                alarms.append((state, message))
    print(f"false alarms on ordinary messages: {len(alarms)} of {len(calm) * len(ALARM_STATES)} turns")
    if show_misses:
        for category, state, message in misses:
            print(f"  miss  {category:<14} {state:<10} {message!r}")
        for state, message in alarms:
            print(f"  alarm {state:<10} {message!r}")
    return right, tried, len(alarms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, action="append", help="a corpus file (default: shared)")
    parser.add_argument("--own", action="store_true", help="add the hotline's own corpus")
    parser.add_argument("--misses", action="store_true", help="list every message handled wrong")
    args = parser.parse_args()
    paths = list(args.corpus or ([SHARED] if SHARED.exists() else []))
    if args.own:
        paths.append(OWN)
    if not paths:
        sys.exit(f"no corpus: {SHARED} is missing; pass --corpus PATH or --own")
    texts = catalog()
    for path in paths:
        print(f"corpus: {path}")
    report(load(paths), texts, args.misses)


if __name__ == "__main__":
    main()
