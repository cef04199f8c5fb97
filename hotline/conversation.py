"""Conversation service: one inbound text, one turn of the flow (or one staff command), one commit."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from flows import INTAKE, Event, Step
from hotline import commands, dispatch, outbox, retention, roster, staff
from hotline.runtime import Runtime
from models import Conversation, Dispatch, InboundMessage, Officer
from models.clock import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inbound:
    """An inbound text, stripped of everything the hotline does not use."""

    sid: str
    sender: str
    body: str
    num_media: int = 0


def handle_sms(rt: Runtime, inbound: Inbound, *, now: datetime | None = None) -> list[str]:
    """Answer an inbound text: a staff command from an active staff number, else a flow turn.

    The same MessageSid always gets the same answer and changes things once.
    """
    now = now or utcnow()
    sender_hash = rt.pseudonyms.of(inbound.sender)
    try:
        with rt.db.unit_of_work() as session:
            officer = roster.active_staff(session, sender_hash)
            if officer is not None:
                texts = _command(session, rt, inbound, officer, now)
            else:
                texts = _turn(session, rt, inbound, sender_hash, now)
            session.commit()
            return texts
    except IntegrityError:
        # Another worker committed this MessageSid between our check and our insert.
        with rt.db.reading() as session:
            seen = session.exec(select(InboundMessage).where(InboundMessage.sid == inbound.sid))
            return _stored_texts(rt, seen.first())


def _command(session: Session, rt: Runtime, inbound: Inbound, officer: Officer, now: datetime) -> list[str]:
    """Carry out a staff command once per MessageSid (staff have no conversation row)."""
    seen = session.exec(select(InboundMessage).where(InboundMessage.sid == inbound.sid)).first()
    if seen is not None:
        log.info("repeat delivery of %s answered from the log", inbound.sid)
        return _stored_texts(rt, seen)
    # Claim the SID first: a concurrent repeat waits here and then fails on the unique key,
    # so its command is rolled back whole and it answers with what this one stored.
    claim = InboundMessage(sid=inbound.sid, conversation_id=None, received_at=now)
    session.add(claim)
    session.flush()
    texts = commands.handle(session, rt, officer, inbound.body, now=now)
    claim.reply_sealed = rt.vault.seal(json.dumps(texts))
    session.add(claim)
    log.info("staff text %s from officer %s handled", inbound.sid, officer.id)
    return texts


def _turn(session: Session, rt: Runtime, inbound: Inbound, sender_hash: str, now: datetime) -> list[str]:
    """Run one turn of the participant flow inside the caller's unit of work."""
    conversation = lock_conversation(session, sender_hash, channel="sms", now=now)
    seen = session.exec(select(InboundMessage).where(InboundMessage.sid == inbound.sid)).first()
    if seen is not None:
        log.info("repeat delivery of %s answered from the log", inbound.sid)
        return _stored_texts(rt, seen)
    request = dispatch.latest_for(session, conversation.id)
    step = INTAKE.handle(
        conversation.state,
        load_data(rt, conversation),
        Event(
            text=inbound.body,
            channel="sms",
            context=_context(rt, conversation, request, now, relay=dispatch.can_relay(session, request)),
        ),
    )
    texts = [rt.catalog.render(r.key, step.language, dict(r.params)) for r in step.replies]
    apply_effects(session, rt, conversation, step, request, contact=inbound.sender, now=now)
    save_step(rt, conversation, step, now)
    session.add(conversation)
    session.add(
        InboundMessage(
            sid=inbound.sid,
            conversation_id=conversation.id,
            reply_sealed=rt.vault.seal(json.dumps(texts)),
            received_at=now,
        )
    )
    log.info("turn %s: conversation %s now %s", inbound.sid, conversation.id, step.state)
    return texts


def lock_conversation(session: Session, sender_hash: str, *, channel: str, now: datetime) -> Conversation:
    """Return the sender's conversation, created if new, locked for this transaction.

    Two messages from one sender on two workers are applied one after the other: the row
    lock (PostgreSQL) or the write lock (SQLite, BEGIN IMMEDIATE) serialises them.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(Conversation)
        .values(sender_hash=sender_hash, channel=channel, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["sender_hash"])
    )
    query = select(Conversation).where(Conversation.sender_hash == sender_hash)
    return session.exec(query.with_for_update()).one()


def load_data(rt: Runtime, conversation: Conversation) -> dict[str, Any]:
    """Return the flow's stored data for a conversation."""
    opened = rt.vault.open(conversation.data_sealed)
    if conversation.data_sealed and opened is None:
        log.error("conversation %s data unreadable (key removed?); starting over", conversation.id)
    return json.loads(opened) if opened else {}


def save_step(rt: Runtime, conversation: Conversation, step: Step, now: datetime) -> None:
    """Store where the flow is now (the data sealed: it can hold the pickup place)."""
    conversation.state = step.state
    conversation.language = step.language
    conversation.data_sealed = rt.vault.seal(json.dumps(step.data))
    conversation.version += 1
    conversation.updated_at = now


def _context(
    rt: Runtime, conversation: Conversation, request: Dispatch | None, now: datetime, *, relay: bool = False
):
    idle = timedelta(hours=rt.program.idle_reset_hours)
    return {
        # relay: the participant's texts may go to their officer (accepted, consented, not opted out).
        "request": {"ref": request.ref, "status": request.status, "relay": relay} if request else None,
        "idle": conversation.state is not None and now - conversation.updated_at > idle,
        "opted_out": conversation.opted_out,
        "reask_limit": rt.program.reask_limit,
    }


def _stored_texts(rt: Runtime, seen: InboundMessage | None) -> list[str]:
    opened = rt.vault.open(seen.reply_sealed) if seen else None
    return json.loads(opened) if opened else []


def apply_effects(
    session: Session,
    rt: Runtime,
    conversation: Conversation,
    step: Step,
    request: Dispatch | None,
    *,
    contact: str,
    now: datetime,
) -> None:
    """Carry out what the flow asked for, inside the turn's transaction."""
    open_request = request if request is not None and request.is_open else None
    when = staff.local_time(now, rt.program.timezone)
    for effect in step.effects:
        kind, params = effect.kind, effect.params
        if kind == "alert_sergeant":
            reason = params.get("reason", "emergency")
            text = staff.render(f"alert_{reason}", time=when, conv=f"#{conversation.id}")
            dispatch.alert_sergeants(session, rt, text)
        elif kind == "opt_out":
            conversation.opted_out = True
            cancelled = outbox.cancel_pending_to(session, conversation.sender_hash)
            log.info("conversation %s opted out; %d queued texts cancelled", conversation.id, cancelled)
            if open_request is not None:
                text = staff.render("participant_stopped", ref=open_request.ref, time=when)
                dispatch.alert_sergeants(
                    session, rt, text, dispatch=open_request, dedupe=f"stopped:{open_request.ref}:{now}"
                )
        elif kind == "opt_in":
            conversation.opted_out = False
        elif kind in ("request_ride", "request_callback"):
            if open_request is not None:
                log.info("conversation %s already has open request %s", conversation.id, open_request.ref)
                continue
            open_request = dispatch.open_request(
                session,
                rt,
                conversation,
                kind="ride" if kind == "request_ride" else "callback",
                language=step.language,
                answers=params.get("answers"),
                contact=contact,
                now=now,
            )
        elif kind == "cancel_request" and open_request is not None:
            text = staff.render("request_cancelled", ref=open_request.ref, time=when)
            dispatch.close(
                session, rt, open_request, status="cancelled", actor="participant", staff_text=text, now=now
            )
            open_request = None
        elif kind == "relay" and open_request is not None:
            if not dispatch.relay_to_officer(session, rt, open_request, str(params.get("text", "")), now=now):
                log.warning("conversation %s: relay to %s not allowed now", conversation.id, open_request.ref)
        elif kind == "delete_data":
            erase_participant(session, rt, conversation, now=now)
            open_request = None
        elif kind not in ("cancel_request", "relay"):
            log.error("unknown flow effect %r ignored", kind)


def erase_participant(session: Session, rt: Runtime, conversation: Conversation, *, now: datetime) -> None:
    """Erase everything stored about a sender; only SIDs and de-identified counts remain."""
    retention.erase_traces(session, rt, conversation, now=now)
    when = staff.local_time(now, rt.program.timezone)
    requests = session.exec(select(Dispatch).where(Dispatch.conversation_id == conversation.id)).all()
    for request in requests:
        if request.is_open:
            text = staff.render("participant_deleted", ref=request.ref, time=when)
            dispatch.close(
                session, rt, request, status="cancelled", actor="participant", staff_text=text, now=now
            )
        request.place_sealed = None
        request.contact_sealed = None
        request.conversation_id = None
        session.add(request)
    outbox.cancel_pending_to(session, conversation.sender_hash)
    session.execute(
        update(InboundMessage)
        .where(InboundMessage.conversation_id == conversation.id)
        .values(reply_sealed=None, conversation_id=None)
    )
    log.info("conversation %s erased on request", conversation.id)
