"""Voice webhooks: Twilio's call requests in, the call service's scripts out as TwiML.

The only place that knows Twilio's call field names and builds voice TwiML. Every route is
signature-checked, action URLs with their query strings included; none answers 500 to a caller:
a database failure gets the static safe script (911, HQ, the desk, then the desk itself).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable

from flask import Blueprint, Response, request
from sqlalchemy.exc import SQLAlchemyError
from twilio.twiml.voice_response import VoiceResponse

from flows.intents import MAX_INPUT
from flows.voice import DANGER, HINTS, Heard
from hotline.plumbing import throttle
from hotline.plumbing.db import once_more_if_dropped
from hotline.plumbing.privacy import is_plain_number, textable_number
from hotline.plumbing.runtime import Runtime, runtime
from hotline.services import voice_call
from hotline.services.voice_call import Call, Line, Rang, Script
from hotline.web.twilio_webhook import printable, report_after, twilio_signed, twiml

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/twilio")

#: Twilio's SIDs: two letters and 32 hex digits.
SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}", re.IGNORECASE)
#: More than any question takes; a longer keypad string is invalid either way.
MAX_DIGITS = 32
#: Speech is read whole, as a text would be (the flow keeps 200 characters of a place): emergency
#: words at the end of a long answer must reach it too.
MAX_SPEECH = MAX_INPUT
SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


@bp.post("/voice")
@twilio_signed
def incoming() -> Response:
    """Answer a call: the emergency sentence, then the language choice (no database)."""
    log.info("call %s: incoming", _sid("CallSid"))
    rt = runtime()
    if not throttle.admits_call(rt, request.form.get("From", "")):
        return play(rt, voice_call.throttled_call(rt))
    return play(rt, voice_call.entry(rt))


@bp.post("/voice/language")
@twilio_signed
def language() -> Response:
    """Start the flow in the chosen language, or ask again."""
    attempt = _arg("attempt")
    chosen = request.args.get("choose")
    return _step(
        lambda rt, call: voice_call.choose_language(rt, call, _heard(rt), attempt=attempt, chosen=chosen)
    )


@bp.post("/voice/step")
@twilio_signed
def step() -> Response:
    """Take the answer to one question (keys, or speech for the meeting place)."""
    number = _arg("step")
    return _step(lambda rt, call: voice_call.answer(rt, call, number, _heard(rt)))


@bp.post("/voice/dial")
@twilio_signed
def dial() -> Response:
    """Go on after one person was rung for "talk to an officer now"."""
    number, leg = _arg("step"), _arg("leg")
    form = request.form
    bridged = {"true": True, "false": False}.get(form.get("DialBridged", "").strip().lower())
    rang = Rang(
        status=form.get("DialCallStatus", "").strip().lower()[:24],
        bridged=bridged,
        caller_left=form.get("CallStatus", "").strip().lower() in voice_call.FINISHED,
    )
    return _step(lambda rt, call: voice_call.dial_result(rt, call, number, leg, rang))


@bp.post("/voice/whisper")
@twilio_signed
def whisper() -> Response:
    """Ask the person rung to press 1 before the caller is put through (no database)."""
    rt = runtime()
    log.info("call %s: whisper on leg %s", _sid("ParentCallSid"), _sid("CallSid"))
    language = request.args.get("lang", "en")
    language = language if language in rt.program.voices else "en"
    why = request.args.get("why")
    return play(rt, voice_call.whisper(rt, _arg("step"), language, why if why in DANGER else None))


@bp.post("/voice/whisper/answer")
@twilio_signed
def whisper_answer() -> Response:
    """Put the caller through when the person rung pressed 1; otherwise end their leg."""
    rt = runtime()
    pressed = request.form.get("Digits", "").strip() == "1"
    parent = _sid("ParentCallSid")
    log.info("call %s: leg %s %s", parent, _sid("CallSid"), "took the call" if pressed else "passed")
    return play(rt, voice_call.take_leg(rt, parent, _arg("step"), pressed=pressed))


@bp.post("/fallback/voice")
@twilio_signed
def fallback() -> Response:
    """Answer with static safe TwiML when the main path failed; touches no database."""
    code = printable(request.form.get("ErrorCode", ""))[:12]
    log.error("Twilio used the voice fallback for %s (error %s)", _sid("CallSid"), code)
    response = play(runtime(), voice_call.unavailable(runtime()))
    report_after(response, code)
    return response


# -- requests in -----------------------------------------------------------------------------


def _step(work: Callable[[Runtime, Call], Script]) -> Response:
    """Run a step that needs the database; a failure gets the static safe script."""
    rt = runtime()
    call_sid = _sid("CallSid")
    if not call_sid:
        log.warning("call request without a CallSid on %s", request.path)
        return play(rt, voice_call.unavailable(rt))
    sender = request.form.get("From", "")
    # Only a bare number is the caller's own: withheld and odd IDs share the throttle's count.
    known = rt.pseudonyms.of(sender) if is_plain_number(sender) else None
    call = Call(call_sid, textable_number(sender), known)
    try:
        script = once_more_if_dropped(lambda: work(rt, call), f"on call {call_sid}")
    except SQLAlchemyError:
        log.exception("database failure on call %s", call_sid)
        script = voice_call.unavailable(rt)
    except Exception:
        # A caller must never hear Twilio's "application error": a bug gets the safe script too.
        log.exception("error on call %s", call_sid)
        script = voice_call.unavailable(rt)
    return play(rt, script)


def _sid(name: str) -> str:
    value = request.form.get(name, "").strip()
    return value if SID.fullmatch(value) else ""


def _arg(name: str) -> int:
    """Return a whole-number query argument of our own action URLs (0 if absent)."""
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) <= 9 else 0


def _heard(rt: Runtime) -> Heard:
    form = request.form
    speech = printable(form.get("SpeechResult", ""))[:MAX_SPEECH]
    try:
        confidence = float(form.get("Confidence", "") or 0)
    except ValueError:
        confidence = 0.0
    confident = math.isfinite(confidence) and confidence >= rt.program.calls.speech_confidence
    return Heard(
        digits=printable(form.get("Digits", "")).strip()[:MAX_DIGITS],
        speech=speech,
        confident=confident,
    )


# -- TwiML out -------------------------------------------------------------------------------


def play(rt: Runtime, script: Script) -> Response:
    """Return a script as a TwiML response."""
    return twiml(render(rt, script))


def render(rt: Runtime, script: Script) -> VoiceResponse:
    """Build the TwiML of a script with the program's voices, limits and the hotline number."""
    calls = rt.program.calls
    response = VoiceResponse()
    ask = script.ask
    if ask is not None:
        voice = _voice(rt, ask.language)
        gather = response.gather(
            action=rt.public_url(ask.action),
            method="POST",
            input="dtmf speech" if ask.speech else "dtmf",
            num_digits=1,
            timeout=calls.gather_timeout_seconds,
            finish_on_key="",  # "#" is a key like any other: an invalid one, asked again
            action_on_empty_result=True if ask.on_empty else None,
            language=voice["language"],
            speech_timeout="auto" if ask.speech else None,
            hints=HINTS.get(ask.language) if ask.speech else None,
        )
        _say(rt, gather, script.lines)
        if ask.on_empty:
            # Silence already posts to the action; should a gather ever fall through, so does this.
            response.redirect(rt.public_url(ask.action), method="POST")
    else:
        _say(rt, response, script.lines)
    connect = script.connect
    if connect is not None:
        dial = response.dial(
            caller_id=rt.hotline_number,  # never the caller's own number (IVR-4)
            timeout=calls.dial_timeout_seconds,
            record="do-not-record",
            action=rt.public_url(connect.action) if connect.action else None,
            method="POST" if connect.action else None,
        )
        dial.number(
            connect.number,
            url=rt.public_url(connect.whisper) if connect.whisper else None,
            method="POST" if connect.whisper else None,
        )
    _say(rt, response, script.after)
    if script.redirect:
        response.redirect(rt.public_url(script.redirect), method="POST")
    if script.hangup:
        response.hangup()
    return response


def _say(rt: Runtime, parent, lines: Iterable[Line]) -> None:
    limit = rt.program.calls.max_say_chars
    for line in lines:
        voice = _voice(rt, line.language)
        for part in spoken_parts(line.text, limit):
            parent.say(part, voice=voice["voice"], language=voice["language"])


def _voice(rt: Runtime, language: str) -> dict[str, str]:
    voices = rt.program.voices
    return voices.get(language) or voices["en"]


def spoken_parts(text: str, limit: int) -> list[str]:
    """Split a text into parts of at most `limit` characters, at sentence ends where possible."""
    parts: list[str] = []
    current = ""
    for piece in _pieces(" ".join(text.split()), limit):
        joined = f"{current} {piece}" if current else piece
        if len(joined) <= limit:
            current = joined
        else:
            parts.append(current)
            current = piece
    if current:
        parts.append(current)
    return parts


def _pieces(text: str, limit: int) -> Iterable[str]:
    """Yield sentences, each cut at words (or, for a giant word, anywhere) to fit the limit."""
    for sentence in SENTENCE_END.split(text):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit + 1)
            cut = cut if cut > 0 else limit
            yield sentence[:cut].strip()
            sentence = sentence[cut:].strip()
        if sentence:
            yield sentence
