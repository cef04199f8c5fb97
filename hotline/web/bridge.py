"""The CALL bridge: the hotline calls the officer, then connects them to the participant.

Neither side sees the other's number: the officer's phone shows the hotline number (it is
our call), and the participant's phone shows the hotline number too (`callerId` on the
`<Dial>`; Twilio would otherwise pass on the caller's own ID). The participant's number is
read from the request when the officer answers, never written into the call's TwiML, so a
request closed in the meantime connects nobody. It is given only to the call the hotline placed
for the request (its CallSid, kept in the outbox), and only once: a replayed or repeated request
hears that the line is closed. The call is never recorded.

The dial to the participant (`dispatch.dial_participant`) is shared with the call flow.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import select
from twilio.twiml.voice_response import VoiceResponse

from hotline.plumbing import staff
from hotline.plumbing.db import once_more_if_dropped
from hotline.plumbing.runtime import Runtime, runtime
from hotline.services import dispatch
from hotline.web.twilio_webhook import twilio_signed, twiml
from models import Dispatch, InboundMessage, Officer, OutboxMessage
from models.clock import utcnow

log = logging.getLogger(__name__)
bp = Blueprint("bridge", __name__, url_prefix="/twilio/voice/bridge")


def _say(rt: Runtime, response: VoiceResponse, text: str) -> None:
    voice = rt.program.voices.get("en", {})
    response.say(text, voice=voice.get("voice"), language=voice.get("language"))


@bp.post("/<int:dispatch_id>")
@twilio_signed
def connect(dispatch_id: int) -> Response:
    """Connect the officer who answered our call to the participant of their request, once."""
    rt = runtime()
    response = VoiceResponse()
    called = request.form.get("To", "")
    call_sid = request.form.get("CallSid", "")

    def look() -> tuple[Dispatch | None, Officer | None, str | None, bool]:
        with rt.db.reading() as session:
            found = session.get(Dispatch, dispatch_id)
            officer = session.get(Officer, found.officer_id) if found and found.officer_id else None
            number = rt.vault.open(found.contact_sealed) if found and found.contact_sealed else None
            return found, officer, number, _rang_for(session, call_sid, dispatch_id)

    try:
        found, officer, number, rang = once_more_if_dropped(look, f"bridging call {call_sid}")
    except SQLAlchemyError:
        log.exception("database failure bridging call %s", call_sid)
        found = officer = number = None
        rang = False
    ref = found.ref if found else "-"
    # Only the officer on the request, on the very call we placed to them for it (not a replayed
    # URL or request), and only the first time that call asks: the number is given once.
    ours = officer is not None and officer.active and rt.pseudonyms.of(called) == officer.phone_hash
    connected = bool(found and ours and rang and number and found.status in dispatch.ASSIGNED)
    if connected and not _first_ask(rt, call_sid):
        log.info("bridge %s: call %s asked again, not connected", ref, call_sid)
        connected = False
    if not connected:
        _say(rt, response, staff.render("bridge_closed", ref=ref))
        response.hangup()
        log.info("bridge %s: not connected (call %s)", ref, call_sid)
        return twiml(response)
    _say(rt, response, staff.render("bridge_intro", kind=found.kind, ref=ref))
    dispatch.dial_participant(
        rt, response, number, action=rt.public_url(dispatch.path_for(dispatch_id) + "/done")
    )
    return twiml(response)


def _rang_for(session, call_sid: str, dispatch_id: int) -> bool:
    """Tell whether `call_sid` is the call the hotline placed to connect this request."""
    if not call_sid:
        return False
    placed = session.exec(
        select(OutboxMessage.id).where(
            OutboxMessage.twilio_sid == call_sid,
            OutboxMessage.kind == "call",
            OutboxMessage.purpose == "bridge",
            OutboxMessage.dispatch_id == dispatch_id,
        )
    ).first()
    return placed is not None


def _first_ask(rt: Runtime, call_sid: str) -> bool:
    """Claim the call's one connection; False if it was given already (or cannot be recorded)."""

    def claim() -> None:
        with rt.db.unit_of_work() as session:
            session.add(InboundMessage(sid=f"{call_sid}:bridge"[:80], received_at=utcnow()))
            session.commit()

    try:
        once_more_if_dropped(claim, f"claiming bridge call {call_sid}")
    except IntegrityError:
        return False
    except SQLAlchemyError:
        log.exception("database failure claiming bridge call %s", call_sid)
        return False
    return True


@bp.post("/<int:dispatch_id>/done")
@twilio_signed
def done(dispatch_id: int) -> Response:
    """Record how the bridged call ended (once per call) and tell the officer if nobody answered."""
    rt = runtime()
    form = request.form
    call_sid = form.get("CallSid", "")
    outcome = (form.get("DialCallStatus") or "unknown").strip().lower()[:16]
    response = VoiceResponse()
    if outcome not in ("completed", "answered"):
        _say(rt, response, staff.render("bridge_no_answer"))
    response.hangup()
    if not call_sid:
        return twiml(response)
    step = f"{call_sid}:bridge-done"[:80]

    def record() -> None:
        with rt.db.unit_of_work() as session:
            seen = session.exec(select(InboundMessage).where(InboundMessage.sid == step)).first()
            found = session.get(Dispatch, dispatch_id)
            if seen is None and found is not None:
                now = utcnow()
                kind = "call_ended" if outcome in ("completed", "answered") else "call_unanswered"
                dispatch.record(session, found, kind, "system", now)
                session.add(InboundMessage(sid=step, received_at=now))
                session.commit()

    try:
        once_more_if_dropped(record, f"recording bridge call {call_sid}")
    except IntegrityError:
        log.info("bridge call %s: repeat delivery, already recorded", call_sid)
    except SQLAlchemyError:
        log.exception("database failure recording bridge call %s", call_sid)
    return twiml(response)
