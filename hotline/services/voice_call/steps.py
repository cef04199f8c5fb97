"""The steps of a call: the intake flow one keypress (or spoken answer) at a time.

No call ends in a dead end: emergency or suicidal words at any question get 911 or 988 first,
then a way on (back to the question, or a person); unclear answers past the re-asks put the
caller through to the desk; when nobody answers, the caller can ask for a call back or a ride.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlmodel import select

from flows import INTAKE, Event, Reply, Step
from flows import voice as keypad
from flows.intake import PROMPTS
from hotline.plumbing import staff, throttle
from hotline.plumbing.runtime import Runtime
from hotline.services import conversation as turns
from hotline.services import dispatch
from hotline.services.voice_call.dial import connecting_line, number_to_ring, ring_chain
from hotline.services.voice_call.record import Turn, request_context, run_step, save_data, was_accepted
from hotline.services.voice_call.script import (
    BOTH,
    CHAIN,
    CONNECTED,
    DEFAULT_LANGUAGE,
    DESK,
    DIAL,
    LANGUAGE_KEYS,
    MISSES,
    MODE,
    QUESTION,
    STEP,
    WHISPER,
    WHY,
    Ask,
    Call,
    Connect,
    Line,
    Rang,
    Script,
    _language_menu,
    _languages,
    path,
    say,
)
from models import Conversation, Dispatch

log = logging.getLogger(__name__)

log = logging.getLogger(__name__)


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
        return run_step(rt, call, "language", now, lambda turn: _start(rt, turn, language))
    if keys == "9":
        return _language_menu(rt, attempt, again=True)
    if keys != "0" and attempt < rt.program.reask_limit:
        return _language_menu(rt, attempt + 1)

    def start(turn: Turn) -> Script:
        script = _start(rt, turn, _known_language(rt, turn) or _default_language(rt))
        return _talk_now(rt, turn) if keys == "0" else script

    return run_step(rt, call, "language", now, start)


def answer(rt: Runtime, call: Call, step: int, heard: keypad.Heard, *, now: datetime | None = None) -> Script:
    """Run one question's answer through the flow and return what the caller hears next."""
    return run_step(rt, call, str(step), now, lambda turn: _answer(rt, turn, heard))


def dial_result(
    rt: Runtime, call: Call, step: int, leg: int, rang: Rang, *, now: datetime | None = None
) -> Script:
    """Go on after one leg of "talk to an officer now": done, the next person, or the fallback."""
    return run_step(rt, call, str(step), now, lambda turn: _after_leg(rt, turn, step, leg, rang))


def _start(rt: Runtime, turn: Turn, language: str) -> Script:
    """Begin a call's flow at the welcome menu in the chosen language."""
    step = INTAKE.handle(None, {"language": language}, Event("", "voice", request_context(rt, None)))
    return _speak(rt, turn, step, None)


def _default_language(rt: Runtime) -> str:
    languages = _languages(rt)
    return DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in languages else languages[0]


def _known_language(rt: Runtime, turn: Turn) -> str | None:
    """Return the language this caller's texts to us chose, if they ever texted (read only)."""
    if not turn.call.sender:
        return None
    language = turn.session.exec(
        select(Conversation.language).where(
            Conversation.sender_hash == turn.call.sender, Conversation.channel == "sms"
        )
    ).first()
    return language if language in _languages(rt) else None


def _answer(rt: Runtime, turn: Turn, heard: keypad.Heard) -> Script:
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
    step = INTAKE.handle(state, turn.data, Event(text, "voice", request_context(rt, request)))
    kind = keypad.danger(text)
    if kind is not None:
        return _danger(rt, turn, step, request, kind)
    if step.state == "ask_consent" and turn.call.textable is None:
        # No number a text can reach: answer "no" (2, in no language) for the caller rather than
        # ask a false question.
        consent = INTAKE.handle(step.state, step.data, Event("2", "voice", request_context(rt, request)))
        asked = [reply for reply in step.replies if reply.key != "ask_consent"]
        step = Step(
            consent.state,
            consent.data,
            consent.language,
            asked + consent.replies,
            step.effects + consent.effects,
        )
    return _speak(rt, turn, step, request)


def _speak(rt: Runtime, turn: Turn, step: Step, request: Dispatch | None) -> Script:
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


def _ask(turn: Turn, language: str) -> Ask:
    """Return the question's wait: every question listens for speech, for danger words at least."""
    return Ask(path(STEP, step=turn.conversation.version), language, speech=True)


def _repeat(rt: Runtime, turn: Turn) -> Script:
    """Say the question again (9), as first asked; nothing is counted or changed."""
    state = turn.conversation.state or "welcome"
    language = turn.conversation.language
    stored = turn.data.get(QUESTION)
    if state == "confirm" and isinstance(stored, list) and len(stored) == 2:
        question = Reply(str(stored[0]), {k: str(v) for k, v in dict(stored[1]).items()})
    else:
        question = Reply(PROMPTS.get(state, "welcome"))
    save_data(rt, turn)
    replies = keypad.spoken(state, [question])
    return Script(lines=_lines(rt, replies, language), ask=_ask(turn, language))


def _danger(rt: Runtime, turn: Turn, step: Step, request: Dispatch | None, kind: str) -> Script:
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
    said = {reply.key for reply in step.replies}
    both = "emergency" in said and bool(said & {"crisis", "crisis.after_emergency"})
    turn.data = {**data, "language": language, MODE: kind, MISSES: 0, BOTH: both}
    turns.save_step(rt, turn.conversation, Step(state, turn.data, language), turn.now)
    log.info("call %s: %s words heard at %s", turn.call.sid, kind, state)
    return _danger_script(rt, turn, kind, language)


def _danger_script(rt: Runtime, turn: Turn, kind: str, language: str, *, sorry: bool = False) -> Script:
    keys = ["call.sorry"] if sorry else [f"call.{kind}.heard"]
    if turn.data.get(BOTH) and not sorry:
        # 911 first; 988 worded so that nobody calls it instead of 911.
        keys = ["call.emergency.heard", "crisis.after_emergency"]
    return Script(
        lines=_lines(rt, [Reply(key) for key in (*keys, f"call.{kind}.choice")], language),
        ask=_ask(turn, language),
    )


def _in_danger(rt: Runtime, turn: Turn, heard: keypad.Heard) -> Script:
    """After emergency or suicidal words: 1 back to the question, 0 a person, 9 again."""
    kind = str(turn.data[MODE])
    language = turn.conversation.language
    keys = heard.digits.strip()
    said = " ".join(heard.speech.split())
    if not keys and said and keypad.danger(said):
        # Said again, or the other kind: answered (and the sergeant told) again.
        request = dispatch.latest_for(turn.session, turn.conversation.id)
        data = {key: value for key, value in turn.data.items() if key not in (MODE, MISSES, BOTH)}
        step = INTAKE.handle(
            turn.conversation.state, data, Event(said, "voice", request_context(rt, request))
        )
        turn.data = data
        return _danger(rt, turn, step, request, keypad.danger(said) or kind)
    if keys == "1":
        for key in (MODE, MISSES, BOTH):
            turn.data.pop(key, None)
        return _repeat(rt, turn)
    if keys == "0":
        return _talk_now(rt, turn)
    if keys == "9":
        save_data(rt, turn)
        return _danger_script(rt, turn, kind, language)
    misses = int(turn.data.get(MISSES) or 0) + 1
    if kind == "emergency" or misses > rt.program.reask_limit:
        # Someone busy saving a life, or who cannot answer, is put through to the desk.
        return _to_desk(rt, turn, kind)
    turn.data[MISSES] = misses
    save_data(rt, turn)
    return _danger_script(rt, turn, kind, language, sorry=True)


def _to_desk(rt: Runtime, turn: Turn, why: str) -> Script:
    """Ring the desk alone (a caller who did not choose, or who said danger words and stayed)."""
    turn.data = {key: value for key, value in turn.data.items() if key not in (MODE, MISSES, BOTH)}
    turn.data[CHAIN] = [DESK]
    turn.data[WHY] = why
    save_data(rt, turn)
    return _ring(rt, turn, [DESK], 0, say(rt, "call.to_desk", turn.conversation.language))


def _nobody(rt: Runtime, turn: Turn, *, sorry: bool = False) -> Script:
    """Nobody answered: offer a call back (when there is a number to call) or a ride, by keypad."""
    language = turn.conversation.language
    turn.data[MODE] = "nobody"
    save_data(rt, turn)
    offer = "call.nobody.offer" if turn.call.textable else "call.nobody.ride"
    keys = ["call.sorry", offer] if sorry else ["call.nobody.now", offer]
    return Script(lines=_lines(rt, [Reply(key) for key in keys], language), ask=_ask(turn, language))


def _in_nobody(rt: Runtime, turn: Turn, heard: keypad.Heard) -> Script:
    """After nobody answered: 1 a call back, 2 a ride, 0 try again, 9 hear it again."""
    keys = heard.digits.strip()
    said = " ".join(heard.speech.split())
    data = {key: value for key, value in turn.data.items() if key not in (MODE, MISSES, CHAIN)}
    request = dispatch.latest_for(turn.session, turn.conversation.id)
    context = request_context(rt, request)
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


def _talk_now(rt: Runtime, turn: Turn) -> Script:
    """Ring on-duty officers, then the sergeant, then the desk: the order is fixed now, for the call.

    A caller without a number of its own rings people only within the withheld callers' shared
    count; beyond it, the desk alone (a flood of such calls must not ring the officers all night).
    """
    staff_too = turn.call.sender is not None or throttle.admits_withheld_ring()
    if not staff_too:
        log.warning("call %s: withheld callers over their shared count; the desk only", turn.call.sid)
    chain = ring_chain(rt, turn.session, staff_too=staff_too)
    mode = turn.data.get(MODE)
    turn.data = {key: value for key, value in turn.data.items() if key not in (MODE, MISSES, BOTH)}
    turn.data[CHAIN] = chain
    turn.data[WHY] = mode if mode in keypad.DANGER else "asked"
    save_data(rt, turn)
    language = turn.conversation.language
    log.info("call %s: talk now, %d to ring", turn.call.sid, len(chain))
    return _ring(rt, turn, chain, 0, connecting_line(rt, chain, language))


def _after_leg(rt: Runtime, turn: Turn, step: int, leg: int, rang: Rang) -> Script:
    chain = turn.data.get(CHAIN)
    chain = chain if isinstance(chain, list) else []
    save_data(rt, turn)
    language = turn.conversation.language
    accepted = rang.bridged
    if accepted is None:
        # Twilio did not say whether it bridged: "completed" alone is also what a voicemail
        # that answered (and was hung up on by the whisper) looks like, so ask for the keypress.
        accepted = rang.status in CONNECTED and was_accepted(turn.session, turn.call.sid, step)
    if accepted:
        log.info("call %s: leg %d took the call", turn.call.sid, leg)
        return Script(lines=(say(rt, "call.thanks", language),), hangup=True)
    if rang.caller_left:
        log.info("call %s: caller hung up while leg %d rang", turn.call.sid, leg)
        return Script(hangup=True)
    return _ring(rt, turn, chain, leg + 1, say(rt, "call.next", language))


def _ring(rt: Runtime, turn: Turn, chain: list[str], start: int, intro: Line) -> Script:
    """Ring the first reachable person from `start` on, or give the truthful fallback."""
    for leg in range(start, len(chain)):
        number = number_to_ring(rt, turn.session, chain[leg])
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


MODES: dict[str, Callable[[Runtime, Turn, keypad.Heard], Script]] = {
    "emergency": _in_danger,
    "crisis": _in_danger,
    "nobody": _in_nobody,
}
