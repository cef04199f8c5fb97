"""Opening a request, assignment and closing: the first valid ACCEPT wins, then arrival, the outcome, notes.

The first valid ACCEPT wins by a conditional UPDATE of the dispatch row, so two officers
answering at once on two processes have exactly one winner; every other open offer is
withdrawn (its officer told "taken") and paging stops.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from hotline.plumbing import staff, timers
from hotline.plumbing.runtime import Runtime
from hotline.services.dispatch.offers import OFFER_DEADLINE, offer_next, withdraw_offers
from hotline.services.dispatch.relays import tell_officer, tell_participant
from hotline.services.dispatch.requests import (
    ASSIGNED,
    DispatchError,
    actor_of,
    lock,
    new_ref,
    place_of,
    record,
    when_of,
)
from models import Conversation, Dispatch, Officer
from models.clock import utcnow
from models.dispatch import OPEN_STATUSES

log = logging.getLogger(__name__)

# -- opening ---------------------------------------------------------------------------------


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
    """Create a ride or callback request, alert the sergeant and (rides) offer it to an officer."""
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
        text = staff.render(
            "ride_requested",
            ref=dispatch.ref,
            time=when,
            place=place_of(rt, dispatch),
            handover=staff.answer(answers.get("handover")),
            weapons=staff.answer(answers.get("weapons")),
            warrant=staff.answer(answers.get("warrant")),
            consent="yes" if consent else "no",
            language=staff.language(language),
        )
    else:
        text = staff.render(
            "callback_requested",
            ref=dispatch.ref,
            time=when,
            when=when_of(rt, dispatch),
            language=staff.language(dispatch.language),
        )
    staff.alert_sergeants(session, rt, text, dispatch=dispatch, dedupe=f"requested:{dispatch.ref}")
    if kind == "ride":
        offer_next(session, rt, dispatch, now=now)
    log.info("dispatch %s (%s) opened for conversation %s", dispatch.ref, kind, conversation.id)
    return dispatch


# -- after acceptance ------------------------------------------------------------------------


def assign(
    session: Session,
    rt: Runtime,
    dispatch: Dispatch,
    officer: Officer,
    *,
    actor: str,
    now: datetime | None = None,
) -> None:
    """Give an open request to an officer (a sergeant's ASSIGN, or the board).

    Open offers are withdrawn and their officers told it is taken; a previously assigned
    officer is told they no longer need to go; the officer and the participant are told.
    """
    now = now or utcnow()
    dispatch = lock(session, dispatch)
    if not dispatch.is_open:
        raise DispatchError(f"{dispatch.ref} is {dispatch.status}.")
    if not officer.active:
        raise DispatchError(f"{officer.name} is not active on the roster.")
    previous = dispatch.officer_id
    # The new officer's own offer ends quietly: the assignment text says it all.
    withdraw_offers(session, rt, dispatch, now=now, notice="offer_taken", keep_quiet=officer.id)
    dispatch.officer_id = officer.id
    dispatch.status = "accepted"
    dispatch.accepted_at = dispatch.updated_at = now
    officer.last_assigned_at = now
    session.add_all([dispatch, officer])
    record(session, dispatch, "assigned", actor, now, sealed=rt.vault.seal(officer.name))
    by = actor_name(session, actor)
    if previous is not None and previous != officer.id:
        before = session.get(Officer, previous)
        if before is not None:
            text = staff.render(
                "assignment_ended_call" if dispatch.kind == "callback" else "assignment_ended",
                ref=dispatch.ref,
                status="reassigned",
                time=staff.local_time(now, rt.program.timezone),
                by=by,
            )
            tell_officer(session, rt, before, text, dispatch=dispatch, purpose="notice")
    details = {"ref": dispatch.ref, "by": by, "time": staff.local_time(now, rt.program.timezone)}
    details["language"] = staff.language(dispatch.language)
    if dispatch.kind == "callback":  # a call to make, not a ride: nobody is "on the way"
        text = staff.render("assigned_callback", when=when_of(rt, dispatch), **details)
    else:
        text = staff.render(
            "assigned_to_you",
            kind=staff.kind(dispatch.kind),
            place=place_of(rt, dispatch),
            handover=staff.answer(dispatch.handover),
            weapons=staff.answer(dispatch.weapons),
            **details,
        )
    if actor != actor_of(officer):  # a sergeant who takes a call-back to make the call knows
        tell_officer(session, rt, officer, text, dispatch=dispatch, purpose="assigned")
    if dispatch.kind != "callback":
        tell_participant(session, rt, dispatch, "status.accepted")
    log.info("dispatch %s assigned to officer %s by %s", dispatch.ref, officer.id, actor.split(":")[0])


def mark_arrived(
    session: Session, rt: Runtime, dispatch: Dispatch, officer: Officer, *, now: datetime | None = None
) -> None:
    """Record that the assigned officer is at the meeting place; tell the participant."""
    now = now or utcnow()
    dispatch = lock(session, dispatch)
    if dispatch.status not in ASSIGNED or dispatch.officer_id != officer.id:
        raise DispatchError(f"{dispatch.ref} is not yours to mark arrived.")
    if dispatch.status == "arriving":
        return
    dispatch.status = "arriving"
    dispatch.updated_at = now
    session.add(dispatch)
    record(session, dispatch, "arrived", actor_of(officer), now)
    tell_participant(session, rt, dispatch, "status.arriving")


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
    """Close a request (cancelled, or completed with an outcome): paging stops for everyone.

    Open offers are withdrawn (their officers told), pending deadlines cancelled, the assigned
    officer told unless they closed it, the participant told unless they did (with consent),
    the sergeant gets `staff_text`, and the contact number is erased.
    """
    now = now or utcnow()
    if status not in ("cancelled", "completed"):
        raise DispatchError(f"cannot close a request as {status!r}")
    dispatch = lock(session, dispatch)
    if not dispatch.is_open:
        return
    when = staff.local_time(now, rt.program.timezone)
    withdraw_offers(session, rt, dispatch, now=now, notice="offer_closed", status=status, time=when)
    timers.cancel_timers(session, dispatch_id=dispatch.id, kind=OFFER_DEADLINE)
    assigned = session.get(Officer, dispatch.officer_id) if dispatch.officer_id else None
    if assigned is not None and actor != actor_of(assigned):
        text = staff.render(
            "assignment_ended_call" if dispatch.kind == "callback" else "assignment_ended",
            ref=dispatch.ref,
            status=status,
            time=when,
            by=actor_name(session, actor),
        )
        tell_officer(session, rt, assigned, text, dispatch=dispatch, purpose="notice")
    if actor != "participant":
        tell_participant(session, rt, dispatch, f"status.{status}")
    dispatch.status = status
    dispatch.outcome = outcome or dispatch.outcome
    dispatch.updated_at = dispatch.closed_at = now
    dispatch.contact_sealed = None
    session.add(dispatch)
    record(session, dispatch, status, actor, now)
    if staff_text:
        staff.alert_sergeants(session, rt, staff_text, dispatch=dispatch, dedupe=f"{status}:{dispatch.ref}")


def add_note(
    session: Session, rt: Runtime, dispatch: Dispatch, text: str, *, actor: str, now: datetime | None = None
) -> None:
    """Add a staff note to a request's timeline (sealed: notes can hold details of the person)."""
    now = now or utcnow()
    record(session, dispatch, "note", actor, now, sealed=rt.vault.seal(text))


def actor_name(session: Session, actor: str) -> str:
    """Return how staff texts name an actor: a roster name, "the participant", a user name."""
    kind, _, rest = actor.partition(":")
    if kind == "officer" and rest.isdigit():
        officer = session.get(Officer, int(rest))
        return officer.name if officer else "staff"
    if kind == "user" and rest:
        return rest
    return {"participant": "the participant", "system": "the hotline"}.get(kind, kind)


def assigned_to(session: Session, officer: Officer) -> list[Dispatch]:
    """Return the open requests an officer is on (accepted or arriving), oldest first."""
    query = select(Dispatch).where(Dispatch.officer_id == officer.id, col(Dispatch.status).in_(ASSIGNED))
    return list(session.exec(query.order_by(col(Dispatch.id))).all())


def open_requests(session: Session) -> list[Dispatch]:
    """Return every open request, oldest first."""
    query = select(Dispatch).where(col(Dispatch.status).in_(OPEN_STATUSES)).order_by(col(Dispatch.id))
    return list(session.exec(query).all())
