"""What a call hears: the Script the call service answers with, and the answers that need no database.

The service answers with a Script (what is said, then one way on: a question, a call to an
officer, or goodbye); hotline/web/voice.py turns it into TwiML. The entry, the whisper on an
officer's phone and the static answers touch no database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from flows import voice as keypad
from hotline.plumbing import staff
from hotline.plumbing.privacy import normalise_phone
from hotline.plumbing.runtime import Runtime

log = logging.getLogger(__name__)

log = logging.getLogger(__name__)


ENTRY = "/twilio/voice"


LANGUAGE = "/twilio/voice/language"


STEP = "/twilio/voice/step"


DIAL = "/twilio/voice/dial"


WHISPER = "/twilio/voice/whisper"


WHISPER_ANSWER = "/twilio/voice/whisper/answer"


#: The language menu's keys, as its texts say them ("For English, press 1").
LANGUAGE_KEYS = {"1": "en", "2": "es"}


#: The language a caller who chose none goes on in (unless their texts to us chose one).
DEFAULT_LANGUAGE = "en"


#: Where the dial chain lives in the conversation's (sealed) data, beside the flow's own.
CHAIN = "call_chain"


DESK = "desk"


#: A choice the call asks outside the flow's questions, in the conversation's data:
#: after emergency or suicidal words ("emergency", "crisis"), or once nobody answered ("nobody").
MODE = "call_mode"


MISSES = "call_misses"  # unclear answers to that choice


BOTH = "call_both"  # the flow answered both kinds ("took too many pills, I want to die")


QUESTION = "call_question"  # the summary as last read back, for 9 at the confirm question


#: Why a person is being rung, for their whisper and the sergeant's alert if nobody answers:
#: "asked" (3 or 0), "unclear" (past the re-asks), "emergency" or "crisis" (after such words).
WHY = "call_why"


#: Seconds a rung phone may take beyond its ring: the whisper, said twice, and its wait.
WHISPER_SECONDS = 14


#: What Twilio says of a leg that was put through to the caller.
CONNECTED = frozenset({"completed", "answered"})


#: Call statuses after which the caller is gone.
FINISHED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@dataclass(frozen=True)
class Line:
    """One thing spoken, in one language."""

    text: str
    language: str


@dataclass(frozen=True)
class Ask:
    """Wait for one key (or speech) and post it to `action`, a path with its query."""

    action: str
    language: str = "en"
    speech: bool = False
    # Caller questions post silence too, so the flow counts it; the whisper just falls through.
    on_empty: bool = True


@dataclass(frozen=True)
class Connect:
    """Ring one number from the hotline number; `action` hears how it went."""

    number: str
    action: str | None = None
    whisper: str | None = None


@dataclass(frozen=True)
class Script:
    """What the caller hears next: lines (inside the question, if any), then one way on."""

    lines: tuple[Line, ...] = ()
    ask: Ask | None = None
    connect: Connect | None = None
    after: tuple[Line, ...] = ()  # spoken after a Connect without action, or a whisper unanswered
    redirect: str | None = None
    hangup: bool = False

    def dump(self) -> str:
        """Return the script as JSON (stored sealed for retries)."""
        return json.dumps(asdict(self))

    @classmethod
    def load(cls, text: str) -> Script:
        """Rebuild a script stored by dump()."""
        raw = json.loads(text)
        return cls(
            lines=tuple(Line(**line) for line in raw.get("lines", ())),
            ask=Ask(**raw["ask"]) if raw.get("ask") else None,
            connect=Connect(**raw["connect"]) if raw.get("connect") else None,
            after=tuple(Line(**line) for line in raw.get("after", ())),
            redirect=raw.get("redirect"),
            hangup=bool(raw.get("hangup")),
        )


@dataclass(frozen=True)
class Call:
    """An inbound call as the service sees it: its SID, and the caller's number if it takes texts.

    `sender` is the pseudonym of the caller's number (as texts are keyed), to read the language
    their texts chose; the number itself is never stored for a call.
    """

    sid: str
    textable: str | None = None
    sender: str | None = None


@dataclass(frozen=True)
class Rang:
    """How one leg of "talk to an officer now" went."""

    status: str  # completed, answered, busy, no-answer, failed, canceled
    bridged: bool | None = None  # None when Twilio did not say
    caller_left: bool = False


def call_key(rt: Runtime, call_sid: str) -> str:
    """Return the conversation key of a call: a pseudonym of its CallSid."""
    return rt.pseudonyms.of("call:" + call_sid)


def path(base: str, **query: object) -> str:
    """Return one of our paths with its query string."""
    return f"{base}?{urlencode(query)}" if query else base


def say(rt: Runtime, key: str, language: str, params: Mapping[str, str] | None = None) -> Line:
    """Return a catalog text as spoken in a language (its voice variant where there is one)."""
    return Line(rt.catalog.render(key, language, params, channel="voice"), language)


def entry(rt: Runtime) -> Script:
    """Greet a call: the emergency sentence first, then the language choice."""
    languages = _languages(rt)
    if len(languages) == 1:
        only = languages[0]
        return Script(lines=(say(rt, "call.emergency", only),), redirect=path(LANGUAGE, choose=only))
    return _language_menu(rt, attempt=0)


def unavailable(rt: Runtime) -> Script:
    """Return the static safe answer: 911, HQ and the desk, then put the caller through to the desk."""
    languages = _languages(rt)
    desk = desk_number(rt)
    return Script(
        lines=tuple(say(rt, "call.unavailable", language) for language in languages),
        connect=Connect(desk) if desk else None,
        after=tuple(say(rt, "call.goodbye", language) for language in languages),
        hangup=True,
    )


def goodbye(rt: Runtime, languages: Iterable[str]) -> Script:
    """Return the safe goodbye (HQ's address, the desk number, 911) and hang up."""
    return Script(lines=tuple(say(rt, "call.goodbye", language) for language in languages), hangup=True)


def whisper(rt: Runtime, step: int, language: str = "en", why: str | None = None) -> Script:
    """Return what an officer's phone hears before the caller is put through: press 1, or nothing.

    Said twice, since a voicemail greeting may talk over the first; voicemail never presses 1,
    so it never takes the call. Nothing about the caller is in it but their language, least of
    all their number. Officers' languages are not known: a caller who chose another language
    than English is named as speaking it, in English, then the whisper is said in their language.
    A caller put through after emergency or suicidal words is announced as such (`why`).
    """
    lines = [Line(staff.render("call_whisper"), "en")]
    if language != "en" and language in _languages(rt):
        name = staff.render(f"call_language_{language}")
        lines = [
            Line(staff.render("call_whisper_speaks", language=name), "en"),
            say(rt, "call.whisper", language),
        ]
    if why in keypad.DANGER:
        lines.insert(0, Line(staff.render(f"call_whisper_{why}"), "en"))
    return Script(
        lines=tuple(lines * 2),
        ask=Ask(path(WHISPER_ANSWER, step=step), on_empty=False),
        after=(Line(staff.render("call_not_taken"), "en"),),
        hangup=True,
    )


def desk_number(rt: Runtime) -> str | None:
    """Return the program's desk phone in E.164."""
    return normalise_phone(rt.program.desk_phone)


def _languages(rt: Runtime) -> list[str]:
    return [language for language in rt.program.languages if language in LANGUAGE_KEYS.values()]


def _language_menu(rt: Runtime, attempt: int, *, again: bool = False) -> Script:
    lines = []
    for language in _languages(rt):
        lines.append(say(rt, "call.sorry" if attempt and not again else "call.emergency", language))
        lines.append(say(rt, "call.language", language))
    return Script(lines=tuple(lines), ask=Ask(path(LANGUAGE, attempt=attempt)))


def throttled_call(rt: Runtime) -> Script:
    """Return the answer to a throttled call: 911 first, then HQ and the desk, and hang up."""
    languages = [language for language in rt.program.languages if language in ("en", "es")]
    goodbye_lines = goodbye(rt, languages).lines
    return Script(lines=(say(rt, "call.emergency", languages[0]), *goodbye_lines), hangup=True)
