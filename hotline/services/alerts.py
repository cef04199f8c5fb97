"""Danger alerts: emergency, suicidal or not-safe words reach the sergeant and, during a request,
the officers concerned at once, each naming the request.

The officers concerned are the one who accepted the request and anyone holding an unanswered
offer of it: both may be minutes away. Everything goes through the outbox, like every text.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from hotline.plumbing import staff
from hotline.plumbing.runtime import Runtime
from hotline.services import dispatch
from models import Conversation, Dispatch, Offer, Officer

log = logging.getLogger(__name__)

REASONS = ("emergency", "suicide", "unsafe")


def danger(
    session: Session,
    rt: Runtime,
    conversation: Conversation,
    reason: str,
    request: Dispatch | None,
    *,
    now: datetime,
) -> None:
    """Tell the sergeant (and, with a request open, its officers) what the participant wrote."""
    reason = reason if reason in REASONS else "emergency"
    when = staff.local_time(now, rt.program.timezone)
    if request is None or not request.is_open:
        text = staff.render(f"alert_{reason}", time=when, conv=f"#{conversation.id}")
        staff.alert_sergeants(session, rt, text)
        return
    told = officers_concerned(session, request)
    for officer, holds_offer in told:
        key = f"offered_{reason}" if holds_offer else f"officer_{reason}"
        if request.kind == "callback":  # nobody is driving there: a call is what they can do
            key = "call_alert"
        dispatch.tell_officer(
            session,
            rt,
            officer,
            staff.render(key, ref=request.ref, what=staff.render(f"what_{reason}")),
            dispatch=request,
            purpose="alert",
        )
    names = ", ".join(officer.name for officer, _ in told)
    text = staff.render(
        f"alert_{reason}_request",
        time=when,
        kind=staff.kind(request.kind),
        ref=request.ref,
        status=request.status,
        officers=staff.render("officers_told", names=names) if names else staff.render("officers_none"),
    )
    staff.alert_sergeants(session, rt, text, dispatch=request)
    dispatch.record(session, request, f"alert_{reason}", "participant", now)
    log.info("dispatch %s: %s alert to the sergeant and %d officer(s)", request.ref, reason, len(told))


def officers_concerned(session: Session, request: Dispatch) -> list[tuple[Officer, bool]]:
    """Return who is on a request: the assigned officer, and officers holding an open offer (True)."""
    found: list[tuple[Officer, bool]] = []
    if request.officer_id is not None and request.status in dispatch.ASSIGNED:
        officer = session.get(Officer, request.officer_id)
        if officer is not None and officer.active:
            found.append((officer, False))
    holders = session.exec(
        select(Offer.officer_id)
        .where(Offer.dispatch_id == request.id, Offer.status == "open")
        .order_by(col(Offer.id))
    ).all()
    for officer_id in holders:
        officer = session.get(Officer, officer_id)
        if officer is not None and officer.active and all(o.id != officer.id for o, _ in found):
            found.append((officer, True))
    return found


def change_place(session: Session, rt: Runtime, request: Dispatch, place: str, *, now: datetime) -> bool:
    """Move an open request's meeting place; the officers concerned and the sergeant are told."""
    place = place.strip()
    request = dispatch.lock(session, request)
    if not place or not request.is_open or request.kind != "ride":
        return False
    request.meet = "place"
    request.place_sealed = rt.vault.seal(place)
    request.updated_at = now
    session.add(request)
    dispatch.record(session, request, "place_changed", "participant", now, sealed=rt.vault.seal(place))
    for officer, holds_offer in officers_concerned(session, request):
        key = "place_changed" if holds_offer else "place_changed_assigned"
        text = staff.render(key, ref=request.ref, place=place)
        dispatch.tell_officer(session, rt, officer, text, dispatch=request, purpose="notice")
    when = staff.local_time(now, rt.program.timezone)
    staff.alert_sergeants(
        session, rt, staff.render("echo_place_changed", ref=request.ref, time=when), dispatch=request
    )
    log.info("dispatch %s: meeting place changed by the participant", request.ref)
    return True
