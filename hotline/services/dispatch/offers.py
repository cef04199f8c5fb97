"""Offers and escalation: one officer at a time, in fair order, each with its own one-time code.

Each offer has its own 4-digit code, bound to that officer and that dispatch, stored only as a
keyed hash, single use, and expiring at the program's offer deadline; an "offer_deadline" timer
then offers the ride to the next officer. A page Twilio cannot deliver escalates at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from hotline.plumbing import staff, timers
from hotline.plumbing.runtime import Runtime
from hotline.services.dispatch.relays import tell_officer, tell_participant
from hotline.services.dispatch.requests import ASSIGNED, TAKEABLE, actor_of, lock, place_of, record
from models import Dispatch, Offer, Officer, OutboxMessage, Timer
from models.clock import utcnow

log = logging.getLogger(__name__)

CODE_DIGITS = 4
OFFER_DEADLINE = "offer_deadline"
REOFFER = "reoffer"
#: Rides re-offered at once when their officer goes off duty; the worker re-offers the rest, so
#: going off duty with a backlog of unanswered offers stays one short transaction.
REOFFER_AT_ONCE = 10


def on_duty_officers(session: Session) -> list[Officer]:
    """Return active officers on duty in fair order: least recently assigned first."""
    query = (
        select(Officer)
        .where(Officer.active, Officer.on_duty, col(Officer.is_sergeant).is_(False))
        .order_by(col(Officer.last_assigned_at).is_not(None), col(Officer.last_assigned_at), col(Officer.id))
    )
    return list(session.exec(query).all())


def next_free(session: Session, *, exclude: set[int] | frozenset[int] = frozenset()) -> Officer | None:
    """Return who gets the next offer: on duty, not in `exclude`, in fair order.

    An officer who holds an unanswered offer (of any request) or is on a ride comes after every
    officer who is free, so a second ride never waits on someone busy while another could go.
    """
    candidates = [o for o in on_duty_officers(session) if o.id not in exclude]
    if not candidates:
        return None
    ids = [o.id for o in candidates]
    open_offers = select(Offer.officer_id).where(col(Offer.officer_id).in_(ids), Offer.status == "open")
    offered = set(session.exec(open_offers).all())
    riding = set(
        session.exec(
            select(Dispatch.officer_id).where(
                col(Dispatch.officer_id).in_(ids), col(Dispatch.status).in_(("accepted", "arriving"))
            )
        ).all()
    )
    return min(candidates, key=lambda o: (o.id in offered, o.id in riding))  # min keeps fair order


# -- offers ----------------------------------------------------------------------------------


def code_hash(rt: Runtime, dispatch_id: int, officer_id: int, code: str) -> str:
    """Return the keyed hash of an offer code, bound to its dispatch and officer."""
    key = hashlib.sha256(b"hotline-offer-code:" + str(rt.config["HOTLINE_SECRET_KEY"]).encode()).digest()
    message = f"{dispatch_id}:{officer_id}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def offer(session: Session, rt: Runtime, dispatch: Dispatch, officer: Officer, *, now: datetime) -> str:
    """Offer a ride to one officer: a code, a text through the outbox, a deadline timer; return the code."""
    live = session.exec(
        select(Offer.dispatch_id, Offer.code_hash).where(
            Offer.officer_id == officer.id, Offer.status == "open"
        )
    ).all()
    while True:  # a code names one open offer of this officer, whichever dispatch it is for
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        if not any(hashed == code_hash(rt, dispatch_id, officer.id, code) for dispatch_id, hashed in live):
            break
    hashed = code_hash(rt, dispatch.id, officer.id, code)
    deadline = now + timedelta(minutes=rt.program.offer_deadline_minutes)
    row = Offer(
        dispatch_id=dispatch.id,
        officer_id=officer.id,
        code_hash=hashed,
        created_at=now,
        deadline=deadline,
    )
    session.add(row)
    session.flush()
    text = staff.render(
        "offer",
        ref=dispatch.ref,
        place=place_of(rt, dispatch),
        handover=staff.answer(dispatch.handover),
        weapons=staff.answer(dispatch.weapons),
        warrant=staff.answer(dispatch.warrant),
        language=staff.language(dispatch.language),
        code=code,
        expires=staff.local_time(deadline, rt.program.timezone),
    )
    sent = tell_officer(
        session, rt, officer, text, dispatch=dispatch, purpose="offer", dedupe=f"offer:{row.id}"
    )
    row.outbox_id = sent.id if sent is not None else None
    session.add(row)
    timers.schedule_timer(
        session,
        kind=OFFER_DEADLINE,
        due_at=deadline,
        dispatch_id=dispatch.id,
        payload={"offer": row.id},
        dedupe_key=f"{OFFER_DEADLINE}:{row.id}",
    )
    if dispatch.status in TAKEABLE:
        dispatch.status = "offered"
    dispatch.updated_at = now
    session.add(dispatch)
    record(session, dispatch, "offered", "system", now, sealed=rt.vault.seal(officer.name))
    log.info("dispatch %s offered to officer %s (offer %s)", dispatch.ref, officer.id, row.id)
    return code


def offer_next(session: Session, rt: Runtime, dispatch: Dispatch, *, now: datetime) -> Offer | None:
    """Offer the ride to the next officer on duty who has not had it; tell the sergeant if none is left."""
    if dispatch.status not in TAKEABLE or dispatch.officer_id is not None:
        return None
    if _open_offers(session, dispatch):
        return None  # someone still holds a live offer: one at a time
    had = set(session.exec(select(Offer.officer_id).where(Offer.dispatch_id == dispatch.id)).all())
    officer = next_free(session, exclude=had)
    if officer is not None:
        offer(session, rt, dispatch, officer, now=now)
        return _open_offers(session, dispatch)[-1]
    # Told at once only if an officer was asked: a first "nobody on duty" is the flow's answer.
    _exhaust(session, rt, dispatch, now=now, asked=bool(had))
    return None


def _exhaust(session: Session, rt: Runtime, dispatch: Dispatch, *, now: datetime, asked: bool = True) -> None:
    """Nobody (left) accepted: the sergeant can ASSIGN, the participant hears the truth."""
    if dispatch.status == "no_officer":
        return
    dispatch.status = "no_officer"
    dispatch.updated_at = now
    session.add(dispatch)
    record(session, dispatch, "no_officer", "system", now)
    names = ", ".join(o.name for o in on_duty_officers(session)) or "nobody"
    key = "nobody_accepted" if asked else "nobody_on_duty"
    text = staff.render(key, ref=dispatch.ref, time=staff.local_time(now, rt.program.timezone), on_duty=names)
    staff.alert_sergeants(session, rt, text, dispatch=dispatch, dedupe=f"no_officer:{dispatch.ref}")
    if asked or dispatch.channel != "sms":  # nobody asked: the answer to the text said so first
        tell_participant(session, rt, dispatch, "status.no_officer")
    log.info("dispatch %s: nobody accepted", dispatch.ref)


def _open_offers(session: Session, dispatch: Dispatch) -> list[Offer]:
    query = select(Offer).where(Offer.dispatch_id == dispatch.id, Offer.status == "open")
    return list(session.exec(query.order_by(col(Offer.id))).all())


def _end_offer(session: Session, row: Offer, status: str, now: datetime) -> None:
    """Close one offer and stop its deadline timer and, if still queued, its text."""
    row.status = status
    row.answered_at = now
    session.add(row)
    session.execute(
        update(Timer)
        .where(Timer.dedupe_key == f"{OFFER_DEADLINE}:{row.id}", Timer.status == "pending")
        .values(status="cancelled")
    )
    if row.outbox_id is not None and status != "accepted":
        # SKIP LOCKED: a worker holding the row is sending it or settling its failure (and
        # may be waiting for this dispatch's lock); waiting for it here could deadlock.
        unsent = (
            select(OutboxMessage.id)
            .where(OutboxMessage.id == row.outbox_id, OutboxMessage.status == "pending")
            .with_for_update(skip_locked=True)
        )
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(unsent))
            .values(status="cancelled", locked_until=None)
            .execution_options(synchronize_session=False)
        )


def withdraw_offers(
    session: Session,
    rt: Runtime,
    dispatch: Dispatch,
    *,
    now: datetime,
    notice: str,
    keep_quiet: int | None = None,
    **params: str,
) -> int:
    """Withdraw every open offer of a request; tell each officer whose offer went out (but one)."""
    withdrawn = 0
    for row in _open_offers(session, dispatch):
        went_out = _offer_went_out(session, row)
        _end_offer(session, row, "withdrawn", now)
        officer = session.get(Officer, row.officer_id)
        if officer is not None and went_out and officer.id != keep_quiet:
            text = staff.render(notice, ref=dispatch.ref, **params)
            tell_officer(session, rt, officer, text, dispatch=dispatch, purpose="notice")
        withdrawn += 1
    return withdrawn


def _offer_went_out(session: Session, row: Offer) -> bool:
    """Tell whether the officer may have seen the offer (its text was not cancelled unsent)."""
    if row.outbox_id is None:
        return False
    status = session.exec(select(OutboxMessage.status).where(OutboxMessage.id == row.outbox_id)).first()
    return status in ("sending", "sent")


@dataclass(frozen=True)
class Answer:
    """What became of an ACCEPT or DECLINE: accepted, declined, taken, closed, expired, used, wrong."""

    outcome: str
    dispatch: Dispatch | None = None


def answer_offer(
    session: Session, rt: Runtime, officer: Officer, code: str, *, accept: bool, now: datetime
) -> Answer:
    """Apply an officer's ACCEPT or DECLINE with a code; only a live offer of theirs counts."""
    row = _find_offer(session, rt, officer, code)
    if row is None:
        _count_wrong_code(session, rt, officer, now)
        return Answer("wrong")
    dispatch = lock(session, session.get(Dispatch, row.dispatch_id))
    session.refresh(row, with_for_update=True)
    if dispatch.officer_id == officer.id and dispatch.status in ASSIGNED:
        return Answer("already" if accept else "used", dispatch)
    if not dispatch.is_open:
        return Answer("closed", dispatch)
    if dispatch.officer_id is not None:
        return Answer("taken", dispatch)  # a late answer after another officer won
    if row.status == "open" and row.deadline <= now:
        # The worker has not fired the deadline yet; do its work now, under the same lock.
        _expire(session, rt, dispatch, row, now)
    if row.status != "open":
        _count_wrong_code(session, rt, officer, now)
        return Answer("expired" if row.status == "expired" else "used", dispatch)
    if not accept:
        _end_offer(session, row, "declined", now)
        record(session, dispatch, "declined", actor_of(officer), now)
        _reset_wrong_codes(session, officer)
        offer_next(session, rt, dispatch, now=now)
        return Answer("declined", dispatch)
    # The one statement that decides the winner: only one transaction can move the row
    # out of a takeable status; a concurrent one finds nothing to update and is told "taken".
    won = session.execute(
        update(Dispatch)
        .where(
            Dispatch.id == dispatch.id,
            col(Dispatch.status).in_(TAKEABLE),
            col(Dispatch.officer_id).is_(None),
        )
        .values(status="accepted", officer_id=officer.id, accepted_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if won.rowcount != 1:
        return Answer("taken", dispatch)
    dispatch = lock(session, dispatch)
    _end_offer(session, row, "accepted", now)
    record(session, dispatch, "accepted", actor_of(officer), now)
    withdraw_offers(session, rt, dispatch, now=now, notice="offer_taken")
    officer.last_assigned_at = now
    session.add(officer)
    _reset_wrong_codes(session, officer)
    tell_participant(session, rt, dispatch, "status.accepted")
    log.info("dispatch %s accepted by officer %s", dispatch.ref, officer.id)
    return Answer("accepted", dispatch)


def _find_offer(session: Session, rt: Runtime, officer: Officer, code: str) -> Offer | None:
    """Return this officer's offer whose code this is (open ones first), or None."""
    if not (code.isdigit() and len(code) == CODE_DIGITS):
        return None
    rows = session.exec(
        select(Offer)
        .where(Offer.officer_id == officer.id)
        .order_by(col(Offer.status) != "open", col(Offer.id).desc())
        .limit(50)
    ).all()
    for row in rows:
        if hmac.compare_digest(row.code_hash, code_hash(rt, row.dispatch_id, officer.id, code)):
            return row
    return None


def _count_wrong_code(session: Session, rt: Runtime, officer: Officer, now: datetime) -> None:
    """Count a wrong, expired or reused code in a row (the pause after too many is the command's)."""
    count = session.execute(
        update(Officer)
        .where(Officer.id == officer.id)
        .values(failed_codes=Officer.failed_codes + 1)
        .returning(Officer.failed_codes)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    log.info("officer %s: wrong or stale offer code (%d in a row)", officer.id, count)


def _reset_wrong_codes(session: Session, officer: Officer) -> None:
    session.execute(
        update(Officer)
        .where(Officer.id == officer.id)
        .values(failed_codes=0)
        .execution_options(synchronize_session=False)
    )


def _expire(session: Session, rt: Runtime, dispatch: Dispatch, row: Offer, now: datetime) -> None:
    """End an unanswered offer at its deadline and offer the ride to the next officer."""
    _end_offer(session, row, "expired", now)
    record(session, dispatch, "offer_expired", "system", now)
    offer_next(session, rt, dispatch, now=now)


def withdraw_offers_of(session: Session, rt: Runtime, officer: Officer, *, now: datetime) -> int:
    """Withdraw an officer's open offers (they went off duty) and offer each ride onwards.

    The first REOFFER_AT_ONCE rides go to the next officer in this transaction; any more are
    left to the worker (a timer due now each), so the officer's OFF is answered at once.
    """
    dispatch_ids = sorted(
        set(
            session.exec(
                select(Offer.dispatch_id).where(Offer.officer_id == officer.id, Offer.status == "open")
            ).all()
        )
    )
    for done, dispatch_id in enumerate(dispatch_ids):
        dispatch = lock(session, session.get(Dispatch, dispatch_id))
        for row in _open_offers(session, dispatch):
            if row.officer_id == officer.id:
                _end_offer(session, row, "withdrawn", now)
                record(session, dispatch, "offer_withdrawn", actor_of(officer), now)
        if done < REOFFER_AT_ONCE:
            offer_next(session, rt, dispatch, now=now)
        else:
            timers.schedule_timer(
                session,
                kind=REOFFER,
                due_at=now,
                dispatch_id=dispatch.id,
                dedupe_key=f"{REOFFER}:{dispatch.id}:{now.isoformat()}",
            )
    return len(dispatch_ids)


@timers.register(REOFFER)
def _reoffer(session: Session, rt: Runtime, timer: Timer) -> None:
    """Offer onwards a ride whose officer went off duty (when OFF withdrew more than a few)."""
    found = session.get(Dispatch, timer.dispatch_id) if timer.dispatch_id else None
    if found is not None:
        offer_next(session, rt, lock(session, found), now=max(timer.due_at, utcnow()))


@timers.register(OFFER_DEADLINE)
def _offer_deadline(session: Session, rt: Runtime, timer: Timer) -> None:
    """Fire an offer's deadline: if still unanswered, the next officer gets the ride."""
    row = session.get(Offer, json.loads(timer.payload or "{}").get("offer"))
    if row is None:
        return
    dispatch = lock(session, session.get(Dispatch, row.dispatch_id))
    session.refresh(row, with_for_update=True)
    if row.status != "open" or not dispatch.is_open:
        return  # answered, withdrawn or undeliverable in the meantime, or the request closed
    # The time it really fires: a worker that was down must not hand the next officer an
    # offer whose deadline has already passed.
    _expire(session, rt, dispatch, row, max(timer.due_at, utcnow()))


@timers.register(timers.UNDELIVERABLE)
def _undeliverable(session: Session, rt: Runtime, row: OutboxMessage) -> None:
    """A text to an officer cannot be delivered: escalate an offer at once, else tell the sergeant."""
    officer = session.get(Officer, row.officer_id) if row.officer_id else None
    if officer is None or officer.is_sergeant or row.kind != "sms":
        return  # a failed alert to a sergeant cannot be reported to the sergeant
    reason = row.error_code or row.delivery_status or "failed"
    offered = session.exec(select(Offer).where(Offer.outbox_id == row.id)).first()
    dispatch = session.get(Dispatch, row.dispatch_id) if row.dispatch_id else None
    if dispatch is None:
        return
    dispatch = lock(session, dispatch)
    now = utcnow()
    if offered is not None:
        session.refresh(offered, with_for_update=True)
        if offered.status != "open":
            return
        _end_offer(session, offered, "undeliverable", now)
        record(session, dispatch, "offer_undeliverable", "system", now)
        nxt = offer_next(session, rt, dispatch, now=now)
        follow = "next_officer" if nxt is not None else "no_next_officer"
    elif dispatch.is_open and dispatch.officer_id == officer.id:
        follow = "still_assigned"
    else:
        return
    text = staff.render(
        "officer_unreachable",
        ref=dispatch.ref,
        officer=officer.name,
        reason=reason,
        next=staff.render(follow),
    )
    staff.alert_sergeants(session, rt, text, dispatch=dispatch, dedupe=f"unreachable:{row.id}")
