"""The intake flow by telephone: which keys each question takes and what the flow reads for them.

Pure, like the rest of `flows`: the voice service asks `read` what a keypress or a spoken answer
means for the flow, and `spoken` which replies to speak so a caller never waits in silence for a
question nobody asked. Re-asking is the flow's own: no input and invalid input both reach it as
unclear answers, so it counts them once and gives up (reask.desk) after the program's reask_limit;
on the phone that puts the caller through to the desk.

Every question listens for speech too, so emergency and suicidal words are heard wherever they
are said (`danger`); keys work the same at every question: 0 reaches a person, 9 says it again.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .intake import PROMPTS, REASKS
from .intents import normalise, read_command
from .turn import Reply

#: Not flow input: the caller chose "talk to an officer now" (3, or 0 at any question).
TALK_NOW = "talk now"
#: Not flow input: the caller pressed 9, "say that again"; the service repeats the question.
REPEAT = "repeat"
#: Commands heard at every question, whatever it asks: the caller is answered as what they said.
DANGER = frozenset({"emergency", "crisis"})
#: Nothing pressed or said: the flow re-asks (and counts it).
NO_INPUT = ""
#: A key this question does not take (or speech heard too poorly): the flow re-asks.
#: Digits only and four of them, so no guard can read it: no menu number, no age, never a place.
UNCLEAR = "0000"
#: Global words the flow would answer with texts meant for SMS; on the phone they are unclear.
NOT_BY_PHONE = frozenset({"status", "delete"})
#: Sounds speech recognition writes down that name no place ("um" must not send an officer to "um").
FILLERS = frozenset({"um", "umm", "uh", "uhh", "huh", "hmm", "hm", "mm", "er", "erm", "ah", "eh", "oh"})
#: Letters and digits a spoken place needs once the fillers are gone.
MIN_PLACE_CHARS = 3


#: Keys every question takes besides its own.
EVERY_QUESTION = {"0": TALK_NOW, "9": REPEAT}
#: What speech a question takes: only danger words, a spoken answer (yes, no, an age), or a place.
DANGER_ONLY, ANSWER, PLACE = "danger", "answer", "place"


@dataclass(frozen=True)
class Menu:
    """What one question takes: keypad keys (and what the flow reads for each), and speech."""

    keys: Mapping[str, str]
    listens: str = DANGER_ONLY

    @property
    def speech(self) -> bool:
        """Tell whether the question takes free speech (the meeting place)."""
        return self.listens == PLACE


def menu(keys: Mapping[str, str], listens: str = ANSWER) -> Menu:
    """Return a question's menu: its own keys, then 0 (a person) and 9 (again)."""
    return Menu({**EVERY_QUESTION, **keys}, listens)


# Keys reach the flow as digits, which it reads as the answers its texts number (1 yes, 2 no,
# 3 not sure, 1 headquarters): digits are in no language, so a keypress never switches it.
YES_NO = menu({"1": "1", "2": "2"})
MENUS: dict[str, Menu] = {
    "welcome": menu({"1": "1", "2": "2", "3": TALK_NOW}, DANGER_ONLY),
    # On the phone 0 is a person and 9 repeats, so the flow's "back" (0) is the pound key, its
    # "9" (while you wait: for people waiting on a ride, who text) is left out, and star is family.
    "info": menu({**{key: key for key in "12345678"}, "*": "f", "#": "0"}, DANGER_ONLY),
    "ask_safe": YES_NO,
    "ask_adult": YES_NO,
    "ask_handover": YES_NO,
    "ask_weapons": YES_NO,
    "ask_warrant": menu({"1": "1", "2": "2", "3": "3"}),
    "ask_place": menu({"1": "1"}, PLACE),
    "ask_consent": YES_NO,
    "confirm": YES_NO,
}
#: Words speech recognition is told to expect, per language: the answers and the danger words.
HINTS = {
    "en": "yes, no, not sure, overdose, not breathing, suicide, kill myself, 911",
    "es": "sí, no, no sé, sobredosis, no respira, suicidio, matarme, 911",
}

#: Replies after which the caller knows what to press, besides the state's prompt and re-ask.
ASKING = {
    "welcome": {"welcome", "welcome.reask", "confirm.dropped", "unsafe", "call.menu", "call.menu.more"},
    "info": {"info.more"},
    "confirm": {"confirm.hq"},
}
#: What to ask when a turn's replies end without a question (e.g. after the under-18 answer).
AGAIN = {"welcome": "call.menu", "confirm": "confirm.reask"}
#: Replies that end the call once spoken: the caller must hang up and dial 911.
ENDS_CALL = frozenset({"emergency", "crisis"})
#: The flow's answer to the third unclear answer in a row; on the phone: a safe goodbye.
GIVES_UP = "reask.desk"


@dataclass(frozen=True)
class Heard:
    """What the caller pressed or said at one question."""

    digits: str = ""
    speech: str = ""
    confident: bool = True  # speech recognised with enough confidence


def takes_speech(state: str) -> bool:
    """Tell whether a question takes free speech (the meeting place) as well as keys."""
    menu = MENUS.get(state)
    return bool(menu and menu.speech)


def danger(text: str) -> str | None:
    """Return "emergency" or "crisis" when words the caller said are that, else None."""
    command, _ = read_command(text, "voice")
    return command if command in DANGER else None


def read(state: str, heard: Heard) -> str:
    """Return the text the flow should read for a keypress or speech at a question."""
    menu = MENUS.get(state)
    keys = heard.digits.strip()
    if keys:
        return menu.keys.get(keys, UNCLEAR) if menu else UNCLEAR
    said = " ".join(heard.speech.split())
    if not said:
        return NO_INPUT
    if danger(said):
        # At any question, heard however poorly: a false alarm costs a sentence, a miss a life.
        return said
    if menu is None or menu.listens == DANGER_ONLY or not heard.confident:
        return UNCLEAR
    command, _ = read_command(said, "voice")
    if command in NOT_BY_PHONE:
        return UNCLEAR
    if menu.listens == ANSWER:
        return said  # the whole answer: the flow reads "yes", "I'm 25" or "not sure" in it
    if command is None and sum(len(word) for word in _meaningful(said)) < MIN_PLACE_CHARS:
        return UNCLEAR
    return said


def _meaningful(said: str) -> list[str]:
    """Return the words of a spoken answer that are not fillers."""
    return [word for word in normalise(said).split() if word not in FILLERS]


def asks(state: str) -> set[str]:
    """Return the reply keys that end a turn in this state with its question."""
    own = {PROMPTS.get(state, ""), REASKS.get(state, "")}
    return own | ASKING.get(state, set())


def spoken(state: str, replies: Sequence[Reply]) -> list[Reply]:
    """Return the replies to speak for a turn that waits at a question, ending with one."""
    # "We got an empty message" reads oddly aloud and asks nothing: the re-ask says both.
    out = [Reply(REASKS.get(state, "welcome.reask")) if r.key == "reask.empty" else r for r in replies]
    if state in MENUS and (not out or out[-1].key not in asks(state)):
        out.append(Reply(AGAIN.get(state, PROMPTS.get(state, "welcome"))))
    if state == "welcome" and out[-1].key != "call.menu.more":
        out.append(Reply("call.menu.more"))  # 988, and 0 and 9 at any question
    return out
