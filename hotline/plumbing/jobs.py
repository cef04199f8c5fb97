"""One pass of the background jobs: send due outbox rows and fire due timers, from any number of processes.

Claiming. A row is claimed in its own short transaction (PostgreSQL: SELECT ... FOR UPDATE
SKIP LOCKED, so workers never wait on each other; SQLite: BEGIN IMMEDIATE makes one claimer
at a time) that flips it to `sending` with a lease (`locked_until`) and counts the attempt.
The send happens after that commit, holding no transaction during network I/O, and its
result is written in another short transaction.

Retries (REL-6). `retryable` errors (Twilio never processed the request) go back to pending
with exponential back-off and jitter, at most MAX_ATTEMPTS sends, then `failed`. `final`
errors fail the row with Twilio's code. `ambiguous` errors (the request may have reached
Twilio) depend on who the text is for:

- staff (officers, sergeant): retried like `retryable` -- at-least-once; a duplicate page
  is harmless, a missing one leaves a person waiting for a ride;
- participants: failed with error "ambiguous" and never re-sent -- at-most-once; a second
  copy to a frightened person is worse than a gap, and the row is flagged for a human.

A worker that dies between claim and result leaves its row in `sending`; once the lease runs
out the row is re-claimed under the same rule: staff rows are sent again (possibly twice),
participant rows are failed "ambiguous" and not sent again.

Order and pace (hotline.plumbing.pacing). Each claim takes the most urgent due row
(outbox.priority: offers, alerts and bridge calls, then other staff texts, then participants'
updates, then redactions; the oldest first within one) among the rows whose number is free,
and holds that number for the row's segments at the program's rate. Rows of a busy number
wait, pending; the worker comes back when it frees up (pacing.seconds_until_free).

Redactions (kind `redact`, audience `twilio`, queued by hotline.services.retention) ask Twilio to empty
the body of a message it keeps. Repeating one is harmless, so they follow the staff rule; they
go out after every other due row, so a purge of old messages never delays a page.

Timers (hotline.plumbing.timers) fire after the sends, each with the handler registered for its
kind; the purge (hotline.services.retention) is one that reschedules itself every hour, and the
worker loop (hotline.worker) makes sure one is pending.

Logs carry row ids and SIDs only, never a number or a body.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, true
from sqlmodel import Session, col, select

from hotline.plumbing import outbox, pacing, throttle
from hotline.plumbing.privacy import masking
from hotline.plumbing.runtime import Runtime
from hotline.plumbing.timers import (
    HANDLERS,
    Handler,
    backoff,
    fire_due_timer,
    log_unknown_timers,
    notify_undeliverable,
)
from hotline.plumbing.transport import AMBIGUOUS, FINAL, RETRYABLE, Sent, TransportError
from models import OutboxMessage
from models.clock import utcnow

log = logging.getLogger(__name__)

#: Seconds a claimed row belongs to its worker; far above one send (the transport's timeout).
LEASE_SECONDS = 120
#: Sends of one row, counting the first, before a retryable failure becomes final.
MAX_ATTEMPTS = 8

# -- the outbox ------------------------------------------------------------------------------


def claim_due_message(
    rt: Runtime, *, now: datetime, handlers: Mapping[str, Handler] | None = None
) -> OutboxMessage | None:
    """Claim the next due outbox row for this worker (committed); None when nothing is due."""
    with rt.db.unit_of_work() as session:
        # Over the hourly cap texts wait (never dropped); calls, redactions and the alert go on.
        capped = throttle.outbound_capped(session, rt, now=now)
        # Redactions last: a purge of a month of messages must not hold up a page.
        order = [OutboxMessage.kind == outbox.REDACT, col(OutboxMessage.due_at), col(OutboxMessage.id)]
        if pacing.settings(rt).by_priority:
            order.insert(1, col(OutboxMessage.priority))
        while True:
            # Locked until this claim commits: every worker paces a number by the same clock.
            paces = pacing.lock(session)
            free = pacing.open_senders(rt, paces, now)
            row = session.exec(
                select(OutboxMessage)
                .where(
                    or_(
                        and_(OutboxMessage.status == "pending", OutboxMessage.due_at <= now),
                        # A worker died between claim and result: its lease ran out.
                        and_(OutboxMessage.status == "sending", OutboxMessage.locked_until < now),
                    ),
                    throttle.exempt_from_cap() if capped else true(),
                    # Texts only from a number that is free; calls and redactions are not paced.
                    or_(OutboxMessage.kind != "sms", col(OutboxMessage.sender).in_(free)),
                )
                .order_by(*order)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                session.commit()
                return None
            if row.status == "sending" and not _may_resend(row):
                _settle_failed(session, row, "ambiguous")
                notify_undeliverable(session, rt, row, handlers)
                log.warning("outbox %s: worker lost it mid-send; not re-sent (ambiguous)", row.id)
                session.commit()
                continue
            pacing.take(session, rt, row, paces, now)
            row.status = "sending"
            row.attempts += 1
            row.locked_until = now + timedelta(seconds=LEASE_SECONDS)
            session.add(row)
            session.commit()
            return row


def _may_resend(row: OutboxMessage) -> bool:
    """Tell whether a row lost mid-send may go out again: staff and redactions, within the cap."""
    return row.audience in outbox.AT_LEAST_ONCE and row.attempts < MAX_ATTEMPTS


def send(rt: Runtime, row: OutboxMessage) -> Sent | None:
    """Send one claimed row through the runtime's transport (a redaction gives no Sent)."""
    if row.kind == outbox.REDACT:
        sid = outbox.redaction_sid(row)
        if not sid:
            raise TransportError(FINAL, reason="no sid")
        rt.transport.redact_message(sid)
        return None
    to = rt.vault.open(row.to_sealed)
    body = rt.vault.open(row.body_sealed) if row.body_sealed is not None else ""
    if not to or body is None:
        raise TransportError(FINAL, reason="unreadable")
    callback = rt.public_url("/twilio/status")
    # Whatever the transport or its libraries log while this is in hand stays masked.
    with masking(to, body):
        if row.kind == "call":
            return rt.transport.place_call(to=to, twiml=body, status_callback=callback, sender=row.sender)
        return rt.transport.send_sms(to=to, body=body, status_callback=callback, sender=row.sender)


def record_sent(rt: Runtime, row: OutboxMessage, sent: Sent | None, *, now: datetime) -> None:
    """Store the SID and first status as soon as Twilio answers (it sends no callback for it)."""
    with rt.db.unit_of_work() as session:
        current = session.get(OutboxMessage, row.id, with_for_update=True)
        if current is None:
            log.error("outbox %s vanished after sending %s", row.id, sent.sid if sent else "-")
            return
        # A redaction (sent is None) changed a message at Twilio: there is no new SID to keep.
        if sent is not None and current.twilio_sid:
            # Our lease ran out mid-send and another worker sent it too (staff only).
            log.warning("outbox %s sent twice: %s kept, %s too", row.id, current.twilio_sid, sent.sid)
        elif sent is not None:
            current.twilio_sid = sent.sid
            if outbox.should_replace(current.delivery_status, sent.status):
                current.delivery_status = sent.status
        current.status = "sent"
        current.locked_until = None
        current.sent_at = now
        session.add(current)
        session.commit()


def record_failure(
    rt: Runtime,
    row: OutboxMessage,
    error: TransportError,
    *,
    now: datetime,
    handlers: Mapping[str, Handler],
) -> str:
    """Settle a row whose send failed; return what became of it (retry or failed)."""
    with rt.db.unit_of_work() as session:
        current = session.get(OutboxMessage, row.id, with_for_update=True)
        if current is None or current.status != "sending" or current.attempts != row.attempts:
            # Another worker re-claimed it after our lease ran out; the row is theirs now.
            log.warning("outbox %s: result of a stale claim ignored (%s)", row.id, error.kind)
            session.rollback()
            return "stale"
        outcome = _settle_error(session, current, error, now=now)
        if outcome == "failed":
            notify_undeliverable(session, rt, current, handlers)
        session.commit()
    return outcome


def _settle_error(session: Session, row: OutboxMessage, error: TransportError, *, now: datetime) -> str:
    """Apply the retry rules to a claimed row inside the caller's transaction."""
    retry = error.kind == RETRYABLE or (error.kind == AMBIGUOUS and row.audience in outbox.AT_LEAST_ONCE)
    code = _error_code(error)
    if retry and row.attempts < MAX_ATTEMPTS:
        row.status = "pending"
        row.locked_until = None
        row.due_at = now + backoff(row.attempts)
        session.add(row)
        log.info("outbox %s: %s, retry %d at %s", row.id, error, row.attempts + 1, row.due_at)
        return "retry"
    if error.kind == AMBIGUOUS and not retry:
        code = "ambiguous"
    _settle_failed(session, row, code)
    if code == outbox.OPTED_OUT and row.audience == "participant":
        outbox.mark_opted_out(session, row.to_hash)
    log.warning("outbox %s failed: %s (attempt %d)", row.id, error, row.attempts)
    return "failed"


def _settle_failed(session: Session, row: OutboxMessage, code: str) -> None:
    row.status = "failed"
    row.locked_until = None
    if row.error_code is None:
        row.error_code = code[:12]
    session.add(row)


def _error_code(error: TransportError) -> str:
    if error.code is not None:
        return str(error.code)
    if error.http_status is not None:
        return f"http{error.http_status}"
    return error.reason[:12] or error.kind


def process_message(
    rt: Runtime, row: OutboxMessage, *, now: datetime, handlers: Mapping[str, Handler]
) -> str:
    """Send one claimed row and record what happened; return sent, retry or failed."""
    try:
        sent = send(rt, row)
    except TransportError as error:
        return record_failure(rt, row, error, now=now, handlers=handlers)
    except Exception as error:
        # A transport bug: we cannot know whether Twilio got it, so treat it as ambiguous.
        log.error("outbox %s: transport raised %s", row.id, type(error).__name__)
        unknown = TransportError(AMBIGUOUS, reason=type(error).__name__)
        return record_failure(rt, row, unknown, now=now, handlers=handlers)
    record_sent(rt, row, sent, now=now)
    if sent is None:
        log.info("outbox %s: Twilio redacted %s", row.id, outbox.redaction_sid(row))
    else:
        log.info("outbox %s sent as %s", row.id, sent.sid)
    return "sent"


def run_once(
    rt: Runtime,
    *,
    now: datetime | None = None,
    limit: int = 50,
    handlers: Mapping[str, Handler] | None = None,
) -> dict[str, int]:
    """Send due outbox rows and fire due timers (up to `limit` of each); return counts.

    `paced_ms`: when rows wait only for a busy number, how soon it frees up (else absent).
    """
    handlers = HANDLERS if handlers is None else handlers
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    counts = {"sent": 0, "retry": 0, "failed": 0, "errors": 0, "timers": 0, "timer_errors": 0}
    for _ in range(limit):
        moment = clock()
        row = claim_due_message(rt, now=moment, handlers=handlers)
        if row is None:
            wait = pacing.seconds_until_free(rt, now=moment)
            if wait is not None:
                counts["paced_ms"] = int(wait * 1000)
            break
        try:
            outcome = process_message(rt, row, now=moment, handlers=handlers)
        except Exception as error:
            # Most likely the database failed while recording: the lease brings the row back.
            log.error("outbox %s: %s while sending", row.id, type(error).__name__)
            log.debug("outbox %s traceback", row.id, exc_info=True)
            counts["errors"] += 1
            continue
        if outcome in counts:
            counts[outcome] += 1
    for _ in range(limit):
        outcome = fire_due_timer(rt, now=clock(), handlers=handlers)
        if outcome is None:
            break
        counts["timers" if outcome == "fired" else "timer_errors"] += 1
    log_unknown_timers(rt, now=clock(), handlers=handlers)
    return counts
