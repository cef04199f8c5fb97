"""Retention: erase what the program keeps only for a while, what DELETE asks, and re-seal on rotation.

The purge (the worker runs it every hour; `hotline purge` by hand) sets columns to NULL, in
batches, for records past the periods of the program file's [retention] table:

- after `message_days` (default 30): the flow's stored answers of a quiet conversation; the
  pickup place and contact number of a request (counted from its last change: its close); relayed
  texts and staff notes; the text and number of every settled outbox row. Twilio's own copies of
  the texts, both ways, get a redaction row in the outbox: the worker asks Twilio to empty them.
- after `inbound_log_days` (never later than message_days): the replies stored to answer Twilio's
  retries. The SIDs stay.
- at once, whatever the period: the contact number of a closed request, and the number on every
  settled text to a participant whose request is closed (or who has none).

Rows stay with their enums, statuses, times, refs and outcomes, so reports keep counting.
docs/privacy.md says all this to the public; tests/services/test_retention*.py hold it to that.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from sqlalchemy import Table, and_, bindparam, func, literal, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from hotline.plumbing import outbox, timers
from hotline.plumbing.runtime import Runtime
from models import Conversation, Dispatch, DispatchEvent, InboundMessage, OutboxMessage, Timer
from models.clock import utcnow
from models.dispatch import OPEN_STATUSES
from models.outbox import ERASED

log = logging.getLogger(__name__)

#: The worker's timer kind for the purge; it reschedules itself every PURGE_EVERY.
PURGE = "purge"
PURGE_EVERY = timedelta(hours=1)
#: When a run hit its batch limit, the next one comes this soon instead.
CATCH_UP = timedelta(minutes=1)
#: Rows per kind per transaction (purge) and per table per transaction (key rotation).
BATCH = 500
#: Outbox rows still on their way: never purged under a worker's feet.
IN_FLIGHT = ("pending", "sending")

#: Every sealed column (tables' *_sealed) and the rule that erases it; a new one needs a rule.
PURGED = {
    ("conversation", "data_sealed"): "message_days after the conversation's last message",
    ("inbound_message", "reply_sealed"): "inbound_log_days after the message (at most message_days)",
    ("dispatch", "place_sealed"): "message_days after the request's last change (its close)",
    ("dispatch", "contact_sealed"): "when the request closes; message_days at the latest",
    ("dispatch_event", "detail_sealed"): "message_days after the event",
    ("outbox", "body_sealed"): "message_days after it was queued, once settled",
    ("outbox", "to_sealed"): "participants: once settled and the request closed; else message_days",
}
#: Erased columns hold NULL, but for NOT NULL ones: these hold an empty token instead.
ERASED_AS = {("outbox", "to_sealed"): ERASED}
#: Sealed columns the purge keeps, and why.
RETAINED = {
    ("officer", "phone_sealed"): "staff numbers, needed while the officer is on the roster",
}


# -- the purge -------------------------------------------------------------------------------


def purge(session: Session, rt: Runtime, *, now: datetime, limit: int = BATCH) -> dict[str, int]:
    """Erase, in the caller's transaction, up to `limit` rows per kind past retention; return counts."""
    message_cutoff = now - timedelta(days=rt.program.message_days)
    log_days = min(rt.program.inbound_log_days, rt.program.message_days)
    log_cutoff = now - timedelta(days=log_days)
    settled = col(OutboxMessage.status).not_in(IN_FLIGHT)
    closed_requests = select(Dispatch.id).where(col(Dispatch.status).not_in(OPEN_STATUSES))
    counts = {
        "conversation_data": _erase(
            session, Conversation, ["data_sealed"], Conversation.updated_at < message_cutoff, limit=limit
        ),
        "inbound_replies": _erase(
            session, InboundMessage, ["reply_sealed"], InboundMessage.received_at < log_cutoff, limit=limit
        ),
        "closed_contacts": _erase(
            session, Dispatch, ["contact_sealed"], col(Dispatch.status).not_in(OPEN_STATUSES), limit=limit
        ),
        "request_places": _erase(
            session,
            Dispatch,
            ["place_sealed", "contact_sealed"],
            Dispatch.updated_at < message_cutoff,
            limit=limit,
        ),
        "event_details": _erase(
            session, DispatchEvent, ["detail_sealed"], DispatchEvent.at < message_cutoff, limit=limit
        ),
        "participant_numbers": _erase(
            session,
            OutboxMessage,
            ["to_sealed"],
            OutboxMessage.audience == "participant",
            settled,
            or_(
                col(OutboxMessage.dispatch_id).is_(None),
                col(OutboxMessage.dispatch_id).in_(closed_requests),
            ),
            limit=limit,
        ),
        "outbox_texts": _erase(
            session,
            OutboxMessage,
            ["to_sealed", "body_sealed"],
            OutboxMessage.created_at < message_cutoff,
            settled,
            limit=limit,
        ),
        "redactions": _queue_old_redactions(session, message_cutoff, limit=limit),
    }
    if any(counts.values()):
        log.info("purge: %s", ", ".join(f"{name} {count}" for name, count in counts.items() if count))
    return counts


def purge_all(rt: Runtime, *, now: datetime | None = None, limit: int = BATCH) -> dict[str, int]:
    """Purge everything past retention, one committed batch after another; return the totals."""
    totals: Counter[str] = Counter()
    while True:
        with rt.db.unit_of_work() as session:
            counts = purge(session, rt, now=now or utcnow(), limit=limit)
            session.commit()
        totals.update(counts)
        if not any(count >= limit for count in counts.values()):
            return {name: totals[name] for name in counts}


def _erase(session: Session, model: Any, columns: list[str], *conditions: Any, limit: int) -> int:
    """Erase the columns on up to `limit` rows that meet the conditions and hold a value."""
    table: Table = model.__table__
    erased = {name: ERASED_AS.get((table.name, name)) for name in columns}
    holds = or_(*(_holds(table.c[name], erased[name]) for name in columns))
    query = select(table.c.id).where(holds, *conditions).order_by(table.c.id).limit(limit)
    ids = list(session.execute(query).scalars())
    if not ids:
        return 0
    # The conditions again on the update: PostgreSQL re-checks them on a row a concurrent turn
    # changed meanwhile, so a conversation that just became active keeps its data.
    if "version" in table.c:  # a turn decided on the data before it was erased must not write it back
        erased["version"] = table.c.version + 1
    result = session.execute(update(table).where(table.c.id.in_(ids), holds, *conditions).values(erased))
    return result.rowcount or 0


def _holds(column: Any, erased: str | None) -> Any:
    """Return the condition for a column that still holds a value."""
    return column.is_not(None) if erased is None else and_(column.is_not(None), column != erased)


def _redactable(sid_column: Any) -> Any:
    """Return the condition for a column holding a message SID with no redaction queued yet."""
    queued = aliased(OutboxMessage)
    return (
        func.length(sid_column) == 34,
        or_(sid_column.startswith("SM"), sid_column.startswith("MM")),
        ~select(queued.id).where(queued.dedupe_key == literal(outbox.REDACT_KEY).concat(sid_column)).exists(),
    )


def _queue_old_redactions(session: Session, cutoff: datetime, *, limit: int) -> int:
    """Queue the redaction at Twilio of every message both ways older than the cutoff."""
    sent = session.exec(
        select(OutboxMessage.twilio_sid)
        .where(
            OutboxMessage.kind == "sms",
            OutboxMessage.created_at < cutoff,
            *_redactable(col(OutboxMessage.twilio_sid)),
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    ).all()
    received = session.exec(
        select(InboundMessage.sid)
        .where(InboundMessage.received_at < cutoff, *_redactable(col(InboundMessage.sid)))
        .order_by(col(InboundMessage.id))
        .limit(limit)
    ).all()
    return outbox.enqueue_redactions(session, [*sent, *received])


# -- the worker's recurring purge ------------------------------------------------------------


def schedule_purge(session: Session, *, now: datetime, soon: bool = False) -> Timer | None:
    """Schedule the next purge: at the next full hour, or in a minute to catch up.

    Due times are whole hours (minutes when catching up) and the dedupe key is the due time,
    so two workers that each start a chain merge into one at the next hour.
    """
    if soon:
        due = (now + CATCH_UP).replace(second=0, microsecond=0)
    else:
        due = now.replace(minute=0, second=0, microsecond=0) + PURGE_EVERY
    return timers.schedule_timer(session, kind=PURGE, due_at=due, dedupe_key=f"purge:{due:%Y-%m-%dT%H:%M}")


def ensure_purge_timer(rt: Runtime, *, now: datetime | None = None) -> bool:
    """Schedule a purge unless one is pending already; return True if one was added."""
    pending = select(Timer.id).where(Timer.kind == PURGE, Timer.status == "pending").limit(1)
    with rt.db.reading() as session:
        if session.exec(pending).first() is not None:
            return False
    with rt.db.unit_of_work() as session:
        added = session.exec(pending).first() is None and schedule_purge(session, now=now or utcnow())
        session.commit()
    return bool(added)


@timers.register(PURGE)
def fire_purge(session: Session, rt: Runtime, timer: Timer) -> None:
    """Run one batch of the purge in the timer's transaction and schedule the next run."""
    # Never earlier than the timer's own time: a worker given a clock (tests) purges as of then.
    now = max(utcnow(), timer.due_at)
    counts = purge(session, rt, now=now)
    schedule_purge(session, now=now, soon=any(count >= BATCH for count in counts.values()))


# -- DELETE ----------------------------------------------------------------------------------


def erase_traces(
    session: Session, rt: Runtime, conversation: Conversation, *, now: datetime
) -> dict[str, int]:
    """Erase what a participant's DELETE reaches beyond the conversation row; return counts.

    Meant for `conversation.erase_participant`, before it unlinks the requests: cancels texts
    still queued to the number, erases the texts and numbers of settled outbox rows to them and
    about their requests, relayed texts and notes on their requests, and queues the redaction at
    Twilio of every message both ways. (Closing an open request, which tells the sergeant and
    the assigned officer, stays with erase_participant.)
    """
    requests = session.exec(select(Dispatch).where(Dispatch.conversation_id == conversation.id)).all()
    ids = [request.id for request in requests]
    cancelled = outbox.cancel_pending_to(session, conversation.sender_hash)
    theirs = or_(OutboxMessage.to_hash == conversation.sender_hash, col(OutboxMessage.dispatch_id).in_(ids))
    sids = session.exec(select(OutboxMessage.twilio_sid).where(theirs, OutboxMessage.kind == "sms")).all()
    sids += session.exec(
        select(InboundMessage.sid).where(InboundMessage.conversation_id == conversation.id)
    ).all()
    redactions = outbox.enqueue_redactions(session, list(sids))
    texts = session.execute(
        update(OutboxMessage)
        .where(theirs, col(OutboxMessage.status).not_in(IN_FLIGHT), OutboxMessage.kind != outbox.REDACT)
        .values(to_sealed=ERASED, body_sealed=None)
    ).rowcount
    details = session.execute(
        update(DispatchEvent).where(col(DispatchEvent.dispatch_id).in_(ids)).values(detail_sealed=None)
    ).rowcount
    log.info(
        "conversation %s traces erased: %d texts, %d details, %d redactions, %d cancelled",
        conversation.id,
        texts or 0,
        details or 0,
        redactions,
        cancelled,
    )
    return {"cancelled": cancelled, "texts": texts or 0, "details": details or 0, "redactions": redactions}


# -- key rotation ----------------------------------------------------------------------------


def sealed_columns() -> dict[str, tuple[str, ...]]:
    """Return every table's sealed columns: by convention, the columns named *_sealed."""
    import models

    found = {}
    for table in models.metadata.sorted_tables:
        names = tuple(column.name for column in table.columns if column.name.endswith("_sealed"))
        if names:
            found[table.name] = names
    return found


def rotate_keys(rt: Runtime, *, batch: int = BATCH) -> dict[str, int]:
    """Re-encrypt every sealed value under the first key, in committed batches; return counts.

    Idempotent and resumable: values already under the first key are left alone. Values no
    listed key can read are counted as `unreadable` and left as they are.
    """
    import models

    counts = {"resealed": 0, "current": 0, "unreadable": 0}
    for name, columns in sealed_columns().items():
        table = models.metadata.tables[name]
        last = 0
        while True:
            with rt.db.unit_of_work() as session:
                rows = session.execute(
                    select(table.c.id, *(table.c[column] for column in columns))
                    .where(table.c.id > last)
                    .order_by(table.c.id)
                    .limit(batch)
                    .with_for_update()
                ).all()
                # One executemany per set of changed columns, not one statement per row.
                changed: dict[tuple[str, ...], list[dict[str, Any]]] = {}
                for row in rows:
                    changes = _resealed(rt, row._mapping, columns, counts)
                    if changes:
                        changed.setdefault(tuple(sorted(changes)), []).append({"row_id": row.id, **changes})
                for names, params in changed.items():
                    statement = update(table).where(table.c.id == bindparam("row_id"))
                    values = {name: bindparam(name) for name in names}
                    session.connection().execute(statement.values(values), params)
                session.commit()
            if len(rows) < batch:
                break
            last = rows[-1].id
    log.info(
        "keys rotated: %d re-encrypted, %d current, %d unreadable",
        counts["resealed"],
        counts["current"],
        counts["unreadable"],
    )
    return counts


def _resealed(rt: Runtime, row: Any, columns: tuple[str, ...], counts: dict[str, int]) -> dict[str, str]:
    """Return the row's sealed values that need the new key, re-encrypted; count the rest."""
    changes = {}
    for column in columns:
        token = row[column]
        if not token:  # NULL or ERASED: nothing sealed
            continue
        if rt.vault.is_current(token):
            counts["current"] += 1
            continue
        try:
            changes[column] = rt.vault.reseal(token)
        except InvalidToken:
            counts["unreadable"] += 1
            continue
        counts["resealed"] += 1
    return changes
