"""Dispatch services: requests for an officer, their timelines, and alerts to the sergeant."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from hotline import outbox, staff
from hotline.runtime import Runtime
from models import Conversation, Dispatch, DispatchEvent, Officer
from models.clock import utcnow
from models.dispatch import OPEN_STATUSES

log = logging.getLogger(__name__)

# Short references read over a radio: no 0/O, 1/I/L, 2/Z, 5/S, 8/B look-alikes.
REF_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
REF_LENGTH = 4


def new_ref(session: Session) -> str:
    """Return an unused short reference such as R7K2."""
    while True:
        ref = "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))
        if session.exec(select(Dispatch.id).where(Dispatch.ref == ref)).first() is None:
            return ref


def latest_for(session: Session, conversation_id: int) -> Dispatch | None:
    """Return the conversation's open request, or else its most recent one."""
    query = select(Dispatch).where(Dispatch.conversation_id == conversation_id)
    open_one = session.exec(
        query.where(col(Dispatch.status).in_(OPEN_STATUSES)).order_by(col(Dispatch.id).desc())
    ).first()
    return open_one or session.exec(query.order_by(col(Dispatch.id).desc())).first()


def record(session: Session, dispatch: Dispatch, kind: str, actor: str, now: datetime) -> None:
    """Add a step to the dispatch's timeline."""
    session.add(DispatchEvent(dispatch_id=dispatch.id, kind=kind, actor=actor, at=now))


def open_request(
    session: Session,
    rt: Runtime,
    conversation: Conversation,
    *,
    kind: str,
    language: str,
    answers: Mapping[str, Any] | None = None,
    contact: str | None = None,
    now: datetime | None = None,
) -> Dispatch:
    """Create a ride or callback request and alert the sergeant, in the caller's transaction."""
    now = now or utcnow()
    answers = answers or {}
    consent = answers.get("consent") == "yes" or kind == "callback"
    dispatch = Dispatch(
        ref=new_ref(session),
        kind=kind,
        status="waiting",
        conversation_id=conversation.id,
        channel=conversation.channel,
        language=language,
        handover=answers.get("handover"),
        weapons=answers.get("weapons"),
        warrant=answers.get("warrant"),
        meet=answers.get("meet"),
        place_sealed=rt.vault.seal(answers.get("place")),
        consent=consent,
        contact_sealed=rt.vault.seal(contact) if consent and contact else None,
        created_at=now,
        updated_at=now,
    )
    session.add(dispatch)
    session.flush()
    record(session, dispatch, "requested", "participant", now)
    when = staff.local_time(now, rt.program.timezone)
    if kind == "ride":
        place = answers.get("place") if answers.get("meet") == "place" else None
        text = staff.render(
            "ride_requested",
            ref=dispatch.ref,
            time=when,
            place=place or f"HQ, {rt.program.hq_address}",
            handover=staff.answer(answers.get("handover")),
            weapons=staff.answer(answers.get("weapons")),
            warrant=staff.answer(answers.get("warrant")),
            consent="yes" if consent else "no",
        )
    else:
        text = staff.render("callback_requested", ref=dispatch.ref, time=when)
    alert_sergeants(session, rt, text, dispatch=dispatch, dedupe=f"requested:{dispatch.ref}")
    log.info("dispatch %s (%s) opened for conversation %s", dispatch.ref, kind, conversation.id)
    return dispatch


def close(
    session: Session,
    rt: Runtime,
    dispatch: Dispatch,
    *,
    status: str,
    actor: str,
    outcome: str | None = None,
    staff_text: str | None = None,
    now: datetime | None = None,
) -> None:
    """Close a request (cancelled, completed with an outcome), erase its contact, tell the sergeant."""
    now = now or utcnow()
    dispatch.status = status
    dispatch.outcome = outcome or dispatch.outcome
    dispatch.updated_at = dispatch.closed_at = now
    dispatch.contact_sealed = None
    session.add(dispatch)
    record(session, dispatch, status, actor, now)
    if staff_text:
        alert_sergeants(session, rt, staff_text, dispatch=dispatch, dedupe=f"{status}:{dispatch.ref}")


def assign(
    session: Session,
    rt: Runtime,
    dispatch: Dispatch,
    officer: Officer,
    *,
    actor: str,
    now: datetime | None = None,
) -> None:
    """Give an open request to an officer (a sergeant's ASSIGN, or the board)."""
    now = now or utcnow()
    dispatch.officer_id = officer.id
    dispatch.status = "accepted"
    dispatch.accepted_at = dispatch.updated_at = now
    officer.last_assigned_at = now
    session.add_all([dispatch, officer])
    record(session, dispatch, "assigned", actor, now)


def add_note(
    session: Session, rt: Runtime, dispatch: Dispatch, text: str, *, actor: str, now: datetime | None = None
) -> None:
    """Add a staff note to a request's timeline (sealed: notes can hold details of the person)."""
    now = now or utcnow()
    session.add(
        DispatchEvent(
            dispatch_id=dispatch.id, kind="note", actor=actor, at=now, detail_sealed=rt.vault.seal(text)
        )
    )


def sergeants(session: Session) -> list[Officer]:
    """Return who gets alerts: active sergeants on duty, or every active sergeant if none is."""
    active = session.exec(
        select(Officer).where(Officer.is_sergeant, Officer.active).order_by(col(Officer.id))
    ).all()
    on_duty = [officer for officer in active if officer.on_duty]
    return on_duty or list(active)


def alert_sergeants(
    session: Session,
    rt: Runtime,
    text: str,
    *,
    dispatch: Dispatch | None = None,
    dedupe: str | None = None,
) -> int:
    """Queue an alert to every sergeant who should see it; return how many were queued."""
    queued = 0
    for sergeant in sergeants(session):
        number = rt.vault.open(sergeant.phone_sealed)
        if not number:
            log.error("sergeant %s has an unreadable phone number", sergeant.id)
            continue
        row = outbox.enqueue(
            session,
            rt,
            to=number,
            body=text,
            audience="staff",
            purpose="alert",
            officer_id=sergeant.id,
            dispatch_id=dispatch.id if dispatch else None,
            dedupe_key=f"{dedupe}:{sergeant.id}" if dedupe else None,
        )
        queued += row is not None
    if not queued:
        log.error("no sergeant could be alerted (dispatch %s)", dispatch.ref if dispatch else "-")
    return queued
