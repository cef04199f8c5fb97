"""Dispatch services: requests for an officer, offers with one-time codes, escalation, timelines.

Lifecycle: waiting -> offered -> accepted -> arriving -> completed (outcome in, out, refused),
or cancelled, or no_officer (nobody accepted; it stays open so a sergeant can ASSIGN it).
Every change is a DispatchEvent with its time and actor ("participant", "system",
"officer:<id>", "user:<name>").

Offers go to one officer at a time, in fair order (least recently assigned first). Each has
its own 4-digit code, bound to that officer and that dispatch, stored only as a keyed hash,
single use, and expiring at the program's offer deadline; an "offer_deadline" timer then
offers the ride to the next officer. The first valid ACCEPT wins by a conditional UPDATE of
the dispatch row, so two officers answering at once on two processes have exactly one winner;
every other open offer is withdrawn (its officer told "taken") and paging stops.

Locks are always taken in this order, so two transactions never wait on each other in a
circle: conversation row (participant turns), dispatch row, its offers, officer rows.
Nothing here commits: the caller's unit of work does, once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, update
from sqlmodel import Session, col, select

from hotline import worker
from hotline.plumbing import outbox, staff
from hotline.plumbing.runtime import Runtime
from hotline.services import roster
from models import Conversation, Dispatch, DispatchEvent, Offer, Officer, OutboxMessage, Timer
from models.clock import utcnow
from models.dispatch import OPEN_STATUSES

log = logging.getLogger(__name__)

# Short references read over a radio: no 0/O, 1/I/L, 2/Z, 5/S, 8/B look-alikes.
REF_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
REF_LENGTH = 4
CODE_DIGITS = 4
#: Statuses in which a ride can still be taken by an ACCEPT.
TAKEABLE = ("waiting", "offered", "no_officer")
#: Statuses in which an officer is on the case (MSG, CALL, ARRIVED, DONE).
ASSIGNED = ("accepted", "arriving")
OUTCOMES = ("in", "out", "refused")
#: Wrong, expired or reused codes in a row from one number before the sergeant hears of it.
WRONG_CODE_ALERT = 3
OFFER_DEADLINE = "offer_deadline"
REOFFER = "reoffer"
#: Rides re-offered at once when their officer goes off duty; the worker re-offers the rest, so
#: going off duty with a backlog of unanswered offers stays one short transaction.
REOFFER_AT_ONCE = 10


class DispatchError(ValueError):
    """A change the request's state does not allow; the message says why."""


def new_ref(session: Session) -> str:
    """Return an unused short reference such as R7K2."""
    while True:
        ref = "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))
        if session.exec(select(Dispatch.id).where(Dispatch.ref == ref)).first() is None:
            return ref


# A conversation's request: open ones sort first, then the newest.
OPEN_FIRST = case((col(Dispatch.status).in_(OPEN_STATUSES), 0), else_=1)
_LATEST = (
    select(Dispatch)
    .where(Dispatch.conversation_id == bindparam("conversation_id"))
    .order_by(OPEN_FIRST, col(Dispatch.id).desc())
    .limit(1)
)


_LATEST_SHARED = _LATEST.with_for_update(read=True)


def latest_for(session: Session, conversation_id: int, *, lock: bool = False) -> Dispatch | None:
    """Return the conversation's open request, or else its most recent one (`lock`: FOR SHARE)."""
    query = _LATEST_SHARED if lock else _LATEST
    return session.exec(
        query, params={"conversation_id": conversation_id}, execution_options={"populate_existing": lock}
    ).first()


def by_ref(session: Session, ref: str) -> Dispatch | None:
    """Return the request with this reference (any case), if any."""
    return session.exec(select(Dispatch).where(Dispatch.ref == ref.strip().upper()[:8])).first()


def lock(session: Session, dispatch: Dispatch) -> Dispatch:
    """Lock a request's row for this transaction and return it as now stored."""
    query = select(Dispatch).where(Dispatch.id == dispatch.id).with_for_update()
    return session.exec(query.execution_options(populate_existing=True)).one()


def record(
    session: Session,
    dispatch: Dispatch,
    kind: str,
    actor: str,
    now: datetime,
    *,
    sealed: str | None = None,
) -> None:
    """Add a step to the dispatch's timeline (`sealed`: an encrypted detail, e.g. a relayed text)."""
    session.add(DispatchEvent(dispatch_id=dispatch.id, kind=kind, actor=actor, at=now, detail_sealed=sealed))


def actor_of(officer: Officer) -> str:
    """Return the timeline actor for a roster entry."""
    return f"officer:{officer.id}"


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
    alert_sergeants(session, rt, text, dispatch=dispatch, dedupe=f"requested:{dispatch.ref}")
    if kind == "ride":
        offer_next(session, rt, dispatch, now=now)
    log.info("dispatch %s (%s) opened for conversation %s", dispatch.ref, kind, conversation.id)
    return dispatch


def when_of(rt: Runtime, dispatch: Dispatch) -> str:
    """Return when a call-back is safe, in the participant's words (sealed like a place)."""
    return rt.vault.open(dispatch.place_sealed) or staff.render("callback_when_any")


def place_of(rt: Runtime, dispatch: Dispatch) -> str:
    """Return where to meet, for staff texts: the participant's words, or HQ."""
    if dispatch.kind == "callback":
        return staff.render("callback_place")
    place = rt.vault.open(dispatch.place_sealed) if dispatch.meet == "place" else None
    return place or f"HQ, {rt.program.hq_address}"


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
    worker.schedule_timer(
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
    officer = roster.next_free(session, exclude=had)
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
    names = ", ".join(o.name for o in roster.on_duty_officers(session)) or "nobody"
    key = "nobody_accepted" if asked else "nobody_on_duty"
    text = staff.render(key, ref=dispatch.ref, time=staff.local_time(now, rt.program.timezone), on_duty=names)
    alert_sergeants(session, rt, text, dispatch=dispatch, dedupe=f"no_officer:{dispatch.ref}")
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


def _withdraw_offers(
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
    _withdraw_offers(session, rt, dispatch, now=now, notice="offer_taken")
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
    """Count a wrong, expired or reused code; every few in a row, tell the sergeant."""
    count = session.execute(
        update(Officer)
        .where(Officer.id == officer.id)
        .values(failed_codes=Officer.failed_codes + 1)
        .returning(Officer.failed_codes)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    log.info("officer %s: wrong or stale offer code (%d in a row)", officer.id, count)
    if count % WRONG_CODE_ALERT == 0:
        text = staff.render(
            "wrong_codes", time=staff.local_time(now, rt.program.timezone), count=count, officer=officer.name
        )
        alert_sergeants(session, rt, text)


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
            worker.schedule_timer(
                session,
                kind=REOFFER,
                due_at=now,
                dispatch_id=dispatch.id,
                dedupe_key=f"{REOFFER}:{dispatch.id}:{now.isoformat()}",
            )
    return len(dispatch_ids)


@worker.register(REOFFER)
def _reoffer(session: Session, rt: Runtime, timer: Timer) -> None:
    """Offer onwards a ride whose officer went off duty (when OFF withdrew more than a few)."""
    found = session.get(Dispatch, timer.dispatch_id) if timer.dispatch_id else None
    if found is not None:
        offer_next(session, rt, lock(session, found), now=max(timer.due_at, utcnow()))


@worker.register(OFFER_DEADLINE)
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


@worker.register(worker.UNDELIVERABLE)
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
    alert_sergeants(session, rt, text, dispatch=dispatch, dedupe=f"unreachable:{row.id}")


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
    _withdraw_offers(session, rt, dispatch, now=now, notice="offer_taken", keep_quiet=officer.id)
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
    _withdraw_offers(session, rt, dispatch, now=now, notice="offer_closed", status=status, time=when)
    worker.cancel_timers(session, dispatch_id=dispatch.id, kind=OFFER_DEADLINE)
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
        alert_sergeants(session, rt, staff_text, dispatch=dispatch, dedupe=f"{status}:{dispatch.ref}")


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


# -- talking to people -----------------------------------------------------------------------


def can_text_participant(session: Session, dispatch: Dispatch) -> bool:
    """Tell whether the participant agreed to texts, has a number kept and has not opted out."""
    if not (dispatch.consent and dispatch.contact_sealed):
        return False
    conversation = session.get(Conversation, dispatch.conversation_id) if dispatch.conversation_id else None
    return conversation is None or not conversation.opted_out


def can_relay(session: Session, dispatch: Dispatch | None) -> bool:
    """Tell whether texts may pass between the participant and the assigned officer."""
    return (
        dispatch is not None
        and dispatch.status in ASSIGNED
        and dispatch.officer_id is not None
        and can_text_participant(session, dispatch)
    )


def tell_participant(session: Session, rt: Runtime, dispatch: Dispatch, key: str) -> OutboxMessage | None:
    """Queue a status text to the participant, once per key, only with consent and not opted out."""
    if not can_text_participant(session, dispatch):
        return None
    number = rt.vault.open(dispatch.contact_sealed)
    if not number:
        log.error("dispatch %s: contact number unreadable", dispatch.ref)
        return None
    body = rt.catalog.render(key, dispatch.language, {"ref": dispatch.ref})
    return outbox.enqueue(
        session,
        rt,
        to=number,
        body=body,
        audience="participant",
        purpose="update",
        dispatch_id=dispatch.id,
        dedupe_key=f"update:{dispatch.id}:{key}",
    )


def tell_officer(
    session: Session,
    rt: Runtime,
    officer: Officer,
    text: str,
    *,
    dispatch: Dispatch | None,
    purpose: str,
    dedupe: str | None = None,
) -> OutboxMessage | None:
    """Queue a text to one officer."""
    number = rt.vault.open(officer.phone_sealed)
    if not number:
        log.error("officer %s has an unreadable phone number", officer.id)
        return None
    return outbox.enqueue(
        session,
        rt,
        to=number,
        body=text,
        audience="staff",
        purpose=purpose,
        officer_id=officer.id,
        dispatch_id=dispatch.id if dispatch else None,
        dedupe_key=dedupe,
    )


def relay_to_officer(session: Session, rt: Runtime, dispatch: Dispatch, text: str, *, now: datetime) -> bool:
    """Pass a participant's text to their assigned officer; False if relaying is not allowed now."""
    text = text.strip()
    if not text or not can_relay(session, dispatch):
        return False
    officer = session.get(Officer, dispatch.officer_id)
    if officer is None:
        return False
    body = staff.render("participant_says", ref=dispatch.ref, text=text)
    tell_officer(session, rt, officer, body, dispatch=dispatch, purpose="relay")
    record(session, dispatch, "relay_in", "participant", now, sealed=rt.vault.seal(text))
    return True


def relay_to_participant(
    session: Session, rt: Runtime, dispatch: Dispatch, officer: Officer, text: str, *, now: datetime
) -> bool:
    """Pass the assigned officer's text to the participant from the hotline number; False if not allowed.

    The text is the officer's own words under the catalog's label (program name and reference),
    in the participant's language, so they know who writes without either side seeing a number.
    """
    if dispatch.officer_id != officer.id or not can_relay(session, dispatch):
        return False
    number = rt.vault.open(dispatch.contact_sealed)
    if not number:
        return False
    body = rt.catalog.render("relay.from_officer", dispatch.language, {"ref": dispatch.ref, "message": text})
    outbox.enqueue(
        session, rt, to=number, body=body, audience="participant", purpose="relay", dispatch_id=dispatch.id
    )
    record(session, dispatch, "relay_out", actor_of(officer), now, sealed=rt.vault.seal(text))
    return True


def call_participant(
    session: Session, rt: Runtime, dispatch: Dispatch, officer: Officer, *, now: datetime
) -> bool:
    """Call the officer from the hotline; on answer the bridge connects them to the participant."""
    from hotline.web import bridge

    if dispatch.officer_id != officer.id or dispatch.status not in ASSIGNED or not dispatch.contact_sealed:
        return False
    number = rt.vault.open(officer.phone_sealed)
    if not number:
        return False
    outbox.enqueue(
        session,
        rt,
        to=number,
        body=bridge.call_twiml(rt, dispatch),
        audience="staff",
        purpose="bridge",
        officer_id=officer.id,
        dispatch_id=dispatch.id,
        kind="call",
    )
    record(session, dispatch, "call", actor_of(officer), now)
    return True


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
    skip: int | None = None,
) -> int:
    """Queue an alert to every sergeant who should see it (but `skip`); return how many were queued."""
    queued = 0
    for sergeant in sergeants(session):
        if sergeant.id == skip:
            continue
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
    if not queued and skip is None:
        log.error("no sergeant could be alerted (dispatch %s)", dispatch.ref if dispatch else "-")
    return queued
