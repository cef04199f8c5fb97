"""The intake flow by telephone: which keys each question takes and what the flow reads for them.

Pure, like the rest of `flows`: the voice service asks `read` what a keypress or a spoken answer
means for the flow, and `spoken` which replies to speak so a caller never waits in silence for a
question nobody asked. Re-asking is the flow's own: no input and invalid input both reach it as
unclear answers, so it counts them once and gives up (reask.desk) after the program's reask_limit.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .intake import PROMPTS, REASKS
from .intents import normalise, read_command
from .turn import Reply

#: Not flow input: the caller chose "talk to an officer now" and the service bridges the call.
TALK_NOW = "talk now"
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


@dataclass(frozen=True)
class Menu:
    """What one question takes: keypad keys (and what the flow reads for each), and speech."""

    keys: Mapping[str, str]
    speech: bool = False


YES_NO = Menu({"1": "yes", "2": "no"})
MENUS: dict[str, Menu] = {
    "welcome": Menu({"1": "1", "2": "2", "3": TALK_NOW, "9": "menu"}),
    "info": Menu({key: key for key in "0123456789"} | {"*": "f"}),  # star: family and friends
    "ask_safe": YES_NO,
    "ask_adult": YES_NO,
    "ask_handover": YES_NO,
    "ask_weapons": YES_NO,
    "ask_warrant": Menu({"1": "yes", "2": "no", "3": "not sure"}),
    "ask_place": Menu({"1": "hq"}, speech=True),
    "ask_consent": YES_NO,
    "confirm": YES_NO,
}

#: Replies after which the caller knows what to press, besides the state's prompt and re-ask.
ASKING = {
    "welcome": {"welcome", "welcome.reask", "confirm.dropped", "unsafe", "call.menu"},
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
    """Tell whether a question listens for speech as well as keys."""
    menu = MENUS.get(state)
    return bool(menu and menu.speech)


def read(state: str, heard: Heard) -> str:
    """Return the text the flow should read for a keypress or speech at a question."""
    menu = MENUS.get(state)
    keys = heard.digits.strip()
    if keys:
        return menu.keys.get(keys, UNCLEAR) if menu else UNCLEAR
    said = " ".join(heard.speech.split())
    if not said:
        return NO_INPUT
    if menu is None or not menu.speech or not heard.confident:
        return UNCLEAR
    command, _ = read_command(said, "voice")
    if command in NOT_BY_PHONE:
        return UNCLEAR
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
    return out
