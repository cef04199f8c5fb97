"""Voice calls: the intake flow one keypress (or spoken answer) at a time, one commit per step.

A call is a conversation keyed by its CallSid, never by the caller's number (withheld numbers
would share one). Every question's action URL carries the conversation's version as `step`;
(CallSid, step) goes into the inbound log with the script that answered it, sealed, so a
Twilio retry hears the same words and advances nothing.

The service answers with a Script (what is said, then one way on: a question, a call to an
officer, or goodbye); hotline/voice.py turns it into TwiML. The entry, the whisper on an
officer's phone and the static answers touch no database.

No call ends in a dead end: emergency or suicidal words at any question get 911 or 988 first,
then a way on (back to the question, or a person); unclear answers past the re-asks put the
caller through to the desk; when nobody answers, the caller can ask for a call back or a ride.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from flows import INTAKE, Event, Reply, Step
from flows import voice as keypad
from flows.intake import PROMPTS
from hotline.plumbing import staff
from hotline.plumbing.db import once_more_if_dropped
from hotline.plumbing.privacy import normalise_phone
from hotline.plumbing.runtime import Runtime
from hotline.services import conversation as turns
from hotline.services import dispatch
from models import Conversation, Dispatch, InboundMessage, Officer
from models.clock import utcnow

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


@dataclass
class _Turn:
    """One step's working set inside its transaction."""

    session: Session
    conversation: Conversation
    call: Call
    now: datetime
    data: dict[str, Any] = field(default_factory=dict)


def call_key(rt: Runtime, call_sid: str) -> str:
    """Return the conversation key of a call: a pseudonym of its CallSid."""
    return rt.pseudonyms.of("call:" + call_sid)


def path(base: str, **query: object) -> str:
    """Return one of our paths with its query string."""
    return f"{base}?{urlencode(query)}" if query else base


def say(rt: Runtime, key: str, language: str, params: Mapping[str, str] | None = None) -> Line:
    """Return a catalog text as spoken in a language (its voice variant where there is one)."""
    return Line(rt.catalog.render(key, language, params, channel="voice"), language)


# -- answers that need no database -----------------------------------------------------------


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


# -- steps of a call -------------------------------------------------------------------------


def choose_language(
    rt: Runtime,
    call: Call,
    heard: keypad.Heard,
    *,
    attempt: int = 0,
    chosen: str | None = None,
    now: datetime | None = None,
) -> Script:
    """Start the flow in the language the caller pressed, or ask again (twice).

    A caller who still chose none goes on in the language their texts to us chose, else in
    English; 0 goes on the same way straight to a person, 9 says the choice again.
    """
    keys = heard.digits.strip()
    language = chosen or LANGUAGE_KEYS.get(keys)
    if language in _languages(rt):
        return _once(rt, call, "language", now, lambda turn: _start(rt, turn, language))
    if keys == "9":
        return _language_menu(rt, attempt, again=True)
    if keys != "0" and attempt < rt.program.reask_limit:
        return _language_menu(rt, attempt + 1)

    def start(turn: _Turn) -> Script:
        script = _start(rt, turn, _known_language(rt, turn) or _default_language(rt))
        return _talk_now(rt, turn) if keys == "0" else script

    return _once(rt, call, "language", now, start)


def answer(rt: Runtime, call: Call, step: int, heard: keypad.Heard, *, now: datetime | None = None) -> Script:
    """Run one question's answer through the flow and return what the caller hears next."""
    return _once(rt, call, str(step), now, lambda turn: _answer(rt, turn, heard))


def dial_result(
    rt: Runtime, call: Call, step: int, leg: int, rang: Rang, *, now: datetime | None = None
) -> Script:
    """Go on after one leg of "talk to an officer now": done, the next person, or the fallback."""
    return _once(rt, call, str(step), now, lambda turn: _after_leg(rt, turn, step, leg, rang))


def take_leg(
    rt: Runtime, parent_sid: str, step: int, *, pressed: bool, now: datetime | None = None
) -> Script:
    """Put the caller through if the person rung pressed 1 (recorded: voicemail cannot); else end the leg."""
    if not pressed:
        return Script(lines=(Line(staff.render("call_not_taken"), "en"),), hangup=True)
    if parent_sid:
        try:
            when = now or utcnow()
            once_more_if_dropped(
                lambda: _record_acceptance(rt, parent_sid, step, when), f"on call {parent_sid}"
            )
        except SQLAlchemyError:
            # Twilio's DialBridged still tells the caller's side; the officer is not kept waiting.
            log.exception("database failure recording the keypress on call %s", parent_sid)
    return Script()  # an empty answer: Twilio connects the two


def _record_acceptance(rt: Runtime, parent_sid: str, step: int, now: datetime) -> None:
    sid = _accepted_sid(parent_sid, step)
    try:
        with rt.db.unit_of_work() as session:
            if session.exec(select(InboundMessage.id).where(InboundMessage.sid == sid)).first() is None:
                session.add(InboundMessage(sid=sid, received_at=now))
            session.commit()
    except IntegrityError:
        pass  # Twilio retried the keypress and the other request recorded it


def close(rt: Runtime, call_sid: str, *, now: datetime | None = None) -> bool:
    """Forget a finished call's unsent answers; a request it confirmed stays open. True if any."""
    now = now or utcnow()
    with rt.db.unit_of_work() as session:
        conversation = session.exec(
            select(Conversation).where(Conversation.sender_hash == call_key(rt, call_sid)).with_for_update()
        ).first()
        if conversation is None or (conversation.state is None and conversation.data_sealed is None):
            session.rollback()
            return False
        conversation.state = None
        conversation.data_sealed = None
        conversation.version += 1
        conversation.updated_at = now
        session.add(conversation)
        # The scripts only served Twilio's retries of a call that is over; one may hold the place.
        for seen in session.exec(
            select(InboundMessage).where(InboundMessage.conversation_id == conversation.id)
        ).all():
            seen.reply_sealed = None
            session.add(seen)
        session.commit()
    log.info("call %s closed: conversation %s", call_sid, conversation.id)
    return True


def _once(rt: Runtime, call: Call, key: str, now: datetime | None, work: Callable[[_Turn], Script]) -> Script:
    """Run one step of a call in one transaction, once per (CallSid, key); retries get the same."""
    now = now or utcnow()
    sid = f"{call.sid}:{key}"
    try:
        with rt.db.unit_of_work() as session:
            conversation = turns.lock_conversation(session, call_key(rt, call.sid), channel="voice", now=now)
            seen = session.exec(select(InboundMessage).where(InboundMessage.sid == sid)).first()
            if seen is not None:
                log.info("repeat of call %s step %s answered from the log", call.sid, key)
                session.rollback()
                return _stored(rt, seen)
            turn = _Turn(session, conversation, call, now, turns.load_data(rt, conversation))
            script = work(turn)
            session.add(conversation)
            session.add(
                InboundMessage(
                    sid=sid,
                    conversation_id=conversation.id,
                    reply_sealed=rt.vault.seal(script.dump()),
                    received_at=now,
                )
            )
            session.commit()
    except IntegrityError:
        # Another worker committed this step between our check and our insert.
        with rt.db.reading() as session:
            return _stored(rt, session.exec(select(InboundMessage).where(InboundMessage.sid == sid)).first())
    log.info("call %s step %s: conversation %s now %s", call.sid, key, conversation.id, conversation.state)
    return script


def _stored(rt: Runtime, seen: InboundMessage | None) -> Script:
    opened = rt.vault.open(seen.reply_sealed) if seen is not None else None
    if not opened:
        return goodbye(rt, ["en"])
    return Script.load(opened)


def _accepted_sid(parent_sid: str, step: int) -> str:
    return f"{parent_sid}:{step}:accepted"


def _context(rt: Runtime, request: Dispatch | None) -> dict[str, Any]:
    return {
        "request": {"ref": request.ref, "status": request.status} if request else None,
        "idle": False,  # a call lasts minutes, never the idle reset's hours
        "opted_out": False,  # STOP is a texting word; calls have no opt-out state
        "reask_limit": rt.program.reask_limit,
    }


def _start(rt: Runtime, turn: _Turn, language: str) -> Script:
    """Begin a call's flow at the welcome menu in the chosen language."""
    step = INTAKE.handle(None, {"language": language}, Event("", "voice", _context(rt, None)))
    return _speak(rt, turn, step, None)


def _default_language(rt: Runtime) -> str:
    languages = _languages(rt)
    return DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in languages else languages[0]


def _known_language(rt: Runtime, turn: _Turn) -> str | None:
    """Return the language this caller's texts to us chose, if they ever texted (read only)."""
    if not turn.call.sender:
        return None
    language = turn.session.exec(
        select(Conversation.language).where(
            Conversation.sender_hash == turn.call.sender, Conversation.channel == "sms"
        )
    ).first()
    return language if language in _languages(rt) else None


def _answer(rt: Runtime, turn: _Turn, heard: keypad.Heard) -> Script:
    state = turn.conversation.state
    mode = turn.data.get(MODE)
    if mode in MODES:
        return MODES[mode](rt, turn, heard)
    text = keypad.read(state or "", heard)
    if text == keypad.TALK_NOW:
        return _talk_now(rt, turn)
    if text == keypad.REPEAT:
        return _repeat(rt, turn)
    request = dispatch.latest_for(turn.session, turn.conversation.id)
    step = INTAKE.handle(state, turn.data, Event(text, "voice", _context(rt, request)))
    kind = keypad.danger(text)
    if kind is not None:
        return _danger(rt, turn, step, request, kind)
    if step.state == "ask_consent" and turn.call.textable is None:
        # No number a text can reach: answer "no" (2, in no language) for the caller rather than
        # ask a false question.
        consent = INTAKE.handle(step.state, step.data, Event("2", "voice", _context(rt, request)))
        asked = [reply for reply in step.replies if reply.key != "ask_consent"]
        step = Step(
            consent.state,
            consent.data,
            consent.language,
            asked + consent.replies,
            step.effects + consent.effects,
        )
    return _speak(rt, turn, step, request)


def _speak(rt: Runtime, turn: _Turn, step: Step, request: Dispatch | None) -> Script:
    """Apply a flow step (effects, state) and return how the call goes on."""
    turns.apply_effects(
        turn.session, rt, turn.conversation, step, request, contact=turn.call.textable or "", now=turn.now
    )
    language, keys = step.language, [reply.key for reply in step.replies]
    if keypad.GIVES_UP in keys:
        # Nothing understood after the re-asks: a person at the desk, not a goodbye.
        turns.save_step(rt, turn.conversation, step, turn.now)
        turn.data = dict(step.data)
        return _to_desk(rt, turn, "unclear")
    replies = keypad.spoken(step.state, step.replies) if step.state in keypad.MENUS else []
    if replies and replies[-1].key in ("confirm.place", "confirm.hq"):
        step.data[QUESTION] = [replies[-1].key, dict(replies[-1].params)]  # for 9
    turns.save_step(rt, turn.conversation, step, turn.now)
    if "callback.requested" in keys:
        # Said on the phone, the call-back request is the end of the call.
        return Script(lines=_lines(rt, [*step.replies, Reply("call.thanks")], language), hangup=True)
    if replies:
        return Script(lines=_lines(rt, replies, language), ask=_ask(turn, language))
    # The request went out (or the flow stopped where a call cannot wait): say so, then goodbye.
    return Script(lines=_lines(rt, [*step.replies, Reply("call.thanks")], language), hangup=True)


def _lines(rt: Runtime, replies: Iterable[Reply], language: str) -> tuple[Line, ...]:
    lines = (say(rt, reply.key, language, reply.params) for reply in replies)
    return tuple(line for line in lines if line.text)


def _ask(turn: _Turn, language: str) -> Ask:
    """Return the question's wait: every question listens for speech, for danger words at least."""
    return Ask(path(STEP, step=turn.conversation.version), language, speech=True)


def _repeat(rt: Runtime, turn: _Turn) -> Script:
    """Say the question again (9), as first asked; nothing is counted or changed."""
    state = turn.conversation.state or "welcome"
    language = turn.conversation.language
    stored = turn.data.get(QUESTION)
    if state == "confirm" and isinstance(stored, list) and len(stored) == 2:
        question = Reply(str(stored[0]), {k: str(v) for k, v in dict(stored[1]).items()})
    else:
        question = Reply(PROMPTS.get(state, "welcome"))
    _save(rt, turn)
    replies = keypad.spoken(state, [question])
    return Script(lines=_lines(rt, replies, language), ask=_ask(turn, language))


# -- emergency and suicidal words, and nobody answered: a choice outside the flow -----------


def _danger(rt: Runtime, turn: _Turn, step: Step, request: Dispatch | None, kind: str) -> Script:
    """Answer emergency or suicidal words as what they are, then offer a way on.

    The flow's effects are carried out (the sergeant is alerted, as for a text) but not its
    move: the question waits, unanswered, until the caller presses 1 to go back to it. When
    the flow answered both kinds, both are said, the caller's own kind first.
    """
    turns.apply_effects(
        turn.session, rt, turn.conversation, step, request, contact=turn.call.textable or "", now=turn.now
    )
    state = turn.conversation.state or "welcome"
    data = {key: value for key, value in turn.data.items() if key != CHAIN}
    language = step.language if step.language in _languages(rt) else turn.conversation.language
    both = {reply.key for reply in step.replies} >= keypad.DANGER
    turn.data = {**data, "language": language, MODE: kind, MISSES: 0, BOTH: both}
    turns.save_step(rt, turn.conversation, Step(state, turn.data, language), turn.now)
    log.info("call %s: %s words heard at %s", turn.call.sid, kind, state)
    return _danger_script(rt, turn, kind, language)


def _danger_script(rt: Runtime, turn: _Turn, kind: str, language: str, *, sorry: bool = False) -> Script:
    other = "crisis" if kind == "emergency" else "emergency"
    kinds = [kind, other] if turn.data.get(BOTH) else [kind]
    keys = ["call.sorry"] if sorry else [f"call.{each}.heard" for each in kinds]
    return Script(
        lines=_lines(rt, [Reply(key) for key in (*keys, f"call.{kind}.choice")], language),
        ask=_ask(turn, language),
    )


def _in_danger(rt: Runtime, turn: _Turn, heard: keypad.Heard) -> Script:
    """After emergency or suicidal words: 1 back to the question, 0 a person, 9 again."""
    kind = str(turn.data[MODE])
    language = turn.conversation.language
    keys = heard.digits.strip()
    said = " ".join(heard.speech.split())
    if not keys and said and keypad.danger(said):
        # Said again, or the other kind: answered (and the sergeant told) again.
        request = dispatch.latest_for(turn.session, turn.conversation.id)
        data = {key: value for key, value in turn.data.items() if key not in (MODE, MISSES, BOTH)}
        step = INTAKE.handle(turn.conversation.state, data, Event(said, "voice", _context(rt, request)))
        turn.data = data
        return _danger(rt, turn, step, request, keypad.danger(said) or kind)
    if keys == "1":
        for key in (MODE, MISSES, BOTH):
            turn.data.pop(key, None)
        return _repeat(rt, turn)
    if keys == "0":
        return _talk_now(rt, turn)
    if keys == "9":
        _save(rt, turn)
        return _danger_script(rt, turn, kind, language)
    misses = int(turn.data.get(MISSES) or 0) + 1
    if kind == "emergency" or misses > rt.program.reask_limit:
        # Someone busy saving a life, or who cannot answer, is put through to the desk.
        return _to_desk(rt, turn, kind)
    turn.data[MISSES] = misses
    _save(rt, turn)
    return _danger_script(rt, turn, kind, language, sorry=True)


def _to_desk(rt: Runtime, turn: _Turn, why: str) -> Script:
    """Ring the desk alone (a caller who did not choose, or who said danger words and stayed)."""
    turn.data = {key: value for key, value in turn.data.items() if key not in (MODE, MISSES, BOTH)}
    turn.data[CHAIN] = [DESK]
    turn.data[WHY] = why
    _save(rt, turn)
    return _ring(rt, turn, [DESK], 0, say(rt, "call.to_desk", turn.conversation.language))


def _nobody(rt: Runtime, turn: _Turn, *, sorry: bool = False) -> Script:
    """Nobody answered: offer a call back (when there is a number to call) or a ride, by keypad."""
    language = turn.conversation.language
    turn.data[MODE] = "nobody"
    _save(rt, turn)
    offer = "call.nobody.offer" if turn.call.textable else "call.nobody.ride"
    keys = ["call.sorry", offer] if sorry else ["call.nobody.now", offer]
    return Script(lines=_lines(rt, [Reply(key) for key in keys], language), ask=_ask(turn, language))


def _in_nobody(rt: Runtime, turn: _Turn, heard: keypad.Heard) -> Script:
    """After nobody answered: 1 a call back, 2 a ride, 0 try again, 9 hear it again."""
    keys = heard.digits.strip()
    said = " ".join(heard.speech.split())
    data = {key: value for key, value in turn.data.items() if key not in (MODE, MISSES, CHAIN)}
    request = dispatch.latest_for(turn.session, turn.conversation.id)
    context = _context(rt, request)
    if not keys and said and keypad.danger(said):
        step = INTAKE.handle(turn.conversation.state, data, Event(said, "voice", context))
        turn.data = data
        return _danger(rt, turn, step, request, keypad.danger(said) or "emergency")
    choice = {"1": "3", "2": "2"}.get(keys) if (keys != "1" or turn.call.textable) else None
    if choice is not None:
        # The main menu's own choices: 3 asks for a call back, 2 starts the ride questions.
        step = INTAKE.handle("welcome", data, Event(choice, "voice", context))
        return _speak(rt, turn, step, request)
    if keys == "0":
        return _talk_now(rt, turn)
    if keys == "9":
        return _nobody(rt, turn)
    misses = int(turn.data.get(MISSES) or 0) + 1
    if misses > rt.program.reask_limit:
        language = turn.conversation.language
        return Script(lines=(say(rt, "call.nobody.goodbye", language),), hangup=True)
    turn.data[MISSES] = misses
    return _nobody(rt, turn, sorry=True)


MODES: dict[str, Callable[[Runtime, _Turn, keypad.Heard], Script]] = {
    "emergency": _in_danger,
    "crisis": _in_danger,
    "nobody": _in_nobody,
}


# -- talk to an officer now ------------------------------------------------------------------


def _talk_now(rt: Runtime, turn: _Turn) -> Script:
    """Ring on-duty officers, then the sergeant, then the desk: the order is fixed now, for the call."""
    chain = _chain(rt, turn.session)
    mode = turn.data.get(MODE)
    turn.data = {key: value for key, value in turn.data.items() if key not in (MODE, MISSES, BOTH)}
    turn.data[CHAIN] = chain
    turn.data[WHY] = mode if mode in keypad.DANGER else "asked"
    _save(rt, turn)
    language = turn.conversation.language
    log.info("call %s: talk now, %d to ring", turn.call.sid, len(chain))
    return _ring(rt, turn, chain, 0, _connecting(rt, chain, language))


def _connecting(rt: Runtime, chain: list[str], language: str) -> Line:
    """Say how long the caller may wait: every ring of the chain, whispers included."""
    calls = rt.program.calls
    seconds = len(chain) * (calls.dial_timeout_seconds + WHISPER_SECONDS)
    minutes = math.ceil(seconds / 60)
    if minutes <= 1:
        return say(rt, "call.connecting", language)
    return say(rt, "call.connecting.minutes", language, {"minutes": str(minutes)})


def _after_leg(rt: Runtime, turn: _Turn, step: int, leg: int, rang: Rang) -> Script:
    chain = turn.data.get(CHAIN)
    chain = chain if isinstance(chain, list) else []
    _save(rt, turn)
    language = turn.conversation.language
    accepted = rang.bridged
    if accepted is None:
        # Twilio did not say whether it bridged: "completed" alone is also what a voicemail
        # that answered (and was hung up on by the whisper) looks like, so ask for the keypress.
        accepted = rang.status in CONNECTED and _was_accepted(turn.session, turn.call.sid, step)
    if accepted:
        log.info("call %s: leg %d took the call", turn.call.sid, leg)
        return Script(lines=(say(rt, "call.thanks", language),), hangup=True)
    if rang.caller_left:
        log.info("call %s: caller hung up while leg %d rang", turn.call.sid, leg)
        return Script(hangup=True)
    return _ring(rt, turn, chain, leg + 1, say(rt, "call.next", language))


def _ring(rt: Runtime, turn: _Turn, chain: list[str], start: int, intro: Line) -> Script:
    """Ring the first reachable person from `start` on, or give the truthful fallback."""
    for leg in range(start, len(chain)):
        number = _number(rt, turn.session, chain[leg])
        if number is None:
            continue
        step = turn.conversation.version
        why = turn.data.get(WHY)
        query = {"why": why} if why in keypad.DANGER else {}
        whisper = path(WHISPER, step=step, lang=turn.conversation.language, **query)
        connect = Connect(number, action=path(DIAL, step=step, leg=leg), whisper=whisper)
        return Script(lines=(intro,), connect=connect)
    when = staff.local_time(turn.now, rt.program.timezone)
    why = turn.data.get(WHY)
    key = f"call_unanswered_{why}" if why in (*keypad.DANGER, "unclear") else "call_unanswered"
    text = staff.render(key, time=when, tried=len(chain))
    staff.alert_sergeants(turn.session, rt, text, dedupe=f"call-unanswered:{turn.conversation.id}")
    log.info("call %s: nobody took the call (%d rung)", turn.call.sid, len(chain))
    return _nobody(rt, turn)


def _chain(rt: Runtime, session: Session) -> list[str]:
    """Return who to ring, in order: on-duty officers (fairly), sergeants, the desk; each once."""
    calls = rt.program.calls
    people = dispatch.on_duty_officers(session)[: calls.dial_officers]
    people += staff.sergeants(session)[: calls.dial_sergeants]
    chain, seen = [], set()
    for person in people:
        if person.phone_hash not in seen:
            seen.add(person.phone_hash)
            chain.append(f"officer:{person.id}")
    desk = desk_number(rt)
    if desk and rt.pseudonyms.of(desk) not in seen:
        chain.append(DESK)
    return chain


def _number(rt: Runtime, session: Session, target: object) -> str | None:
    """Return the number to ring for a chain entry, or None if they left the roster or duty."""
    if target == DESK:
        return desk_number(rt)
    kind, _, ident = str(target).partition(":")
    officer = session.get(Officer, int(ident)) if kind == "officer" and ident.isdigit() else None
    if officer is None or not officer.active or (not officer.is_sergeant and not officer.on_duty):
        return None
    return rt.vault.open(officer.phone_sealed)


def _was_accepted(session: Session, call_sid: str, step: int) -> bool:
    sid = _accepted_sid(call_sid, step)
    return session.exec(select(InboundMessage.id).where(InboundMessage.sid == sid)).first() is not None


def _save(rt: Runtime, turn: _Turn) -> None:
    """Store the call's data (the flow's, and the dial chain) without a flow turn."""
    conversation = turn.conversation
    step = Step(conversation.state or "welcome", turn.data, conversation.language)
    turns.save_step(rt, conversation, step, turn.now)


def throttled_call(rt: Runtime) -> Script:
    """Return the answer to a throttled call: 911 first, then HQ and the desk, and hang up."""
    languages = [language for language in rt.program.languages if language in ("en", "es")]
    goodbye_lines = goodbye(rt, languages).lines
    return Script(lines=(say(rt, "call.emergency", languages[0]), *goodbye_lines), hangup=True)
