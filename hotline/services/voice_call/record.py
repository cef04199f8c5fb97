"""The record of a call: one commit per step, and a Twilio retry that hears the same words.

A call is a conversation keyed by its CallSid, never by the caller's number (withheld numbers
would share one). Every question's action URL carries the conversation's version as `step`;
(CallSid, step) goes into the inbound log with the script that answered it, sealed, so a
Twilio retry hears the same words and advances nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from flows import Step
from hotline.plumbing import staff
from hotline.plumbing.db import once_more_if_dropped
from hotline.plumbing.runtime import Runtime
from hotline.services import conversation as turns
from hotline.services.voice_call.script import Call, Line, Script, call_key, goodbye
from models import Conversation, Dispatch, InboundMessage
from models.clock import utcnow

log = logging.getLogger(__name__)

log = logging.getLogger(__name__)


@dataclass
class Turn:
    """One step's working set inside its transaction."""

    session: Session
    conversation: Conversation
    call: Call
    now: datetime
    data: dict[str, Any] = field(default_factory=dict)


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


def run_step(
    rt: Runtime, call: Call, key: str, now: datetime | None, work: Callable[[Turn], Script]
) -> Script:
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
            turn = Turn(session, conversation, call, now, turns.load_data(rt, conversation))
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


def request_context(rt: Runtime, request: Dispatch | None) -> dict[str, Any]:
    return {
        "request": {"ref": request.ref, "status": request.status} if request else None,
        "idle": False,  # a call lasts minutes, never the idle reset's hours
        "opted_out": False,  # STOP is a texting word; calls have no opt-out state
        "reask_limit": rt.program.reask_limit,
    }


def was_accepted(session: Session, call_sid: str, step: int) -> bool:
    sid = _accepted_sid(call_sid, step)
    return session.exec(select(InboundMessage.id).where(InboundMessage.sid == sid)).first() is not None


def save_data(rt: Runtime, turn: Turn) -> None:
    """Store the call's data (the flow's, and the dial chain) without a flow turn."""
    conversation = turn.conversation
    step = Step(conversation.state or "welcome", turn.data, conversation.language)
    turns.save_step(rt, conversation, step, turn.now)
