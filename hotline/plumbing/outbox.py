"""Writing and settling outbox rows: what to send, cancelling it, and what Twilio says became of it.

Nothing here sends or commits; the caller's unit of work does. Delivery statuses only move
forward (see STATUS_RANK): callbacks arrive out of order and a late `sent` must never hide a
`delivered`, nor a `delivered` hide a `failed`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from hotline.plumbing import pacing, timers
from hotline.plumbing.db import insert_once
from models import Conversation, OutboxMessage
from models.outbox import ERASED

if TYPE_CHECKING:
    from hotline.plumbing.runtime import Runtime

log = logging.getLogger(__name__)

#: Who `enqueue` sends to, and what: texts and calls to people.
AUDIENCES = ("participant", "staff")
KINDS = ("sms", "call")
#: A row asking Twilio to erase a message's body (`enqueue_redaction`): kind and audience.
REDACT, TWILIO = "redact", "twilio"
#: A redaction's dedupe key is this plus the SID: one redaction per message, ever.
REDACT_KEY = "redact:"
#: Audiences whose rows may go out twice rather than not at all (REL-6): a duplicate page or
#: a repeated redaction is harmless; a second copy of a text to a participant is not.
AT_LEAST_ONCE = frozenset({"staff", TWILIO})

#: The order due rows go out in, lowest first (hotline.plumbing.jobs claims by it): an offer or a
#: call to connect first (a person waits for the ride or the voice); the sergeant's alerts next
#: (written in the same commit as an offer, they leave right after it); other staff texts; then
#: participants' updates (their answers to what they text go back at once, in TwiML); redactions last.
DISPATCH, URGENT, STAFF_TEXT, PARTICIPANT, CLEANUP = 0, 1, 2, 3, 4
DISPATCH_PURPOSES = frozenset({"offer", "bridge"})
URGENT_PURPOSES = frozenset({"alert"})

#: What Twilio can redact: message SIDs (SMS, MMS), never call SIDs or our voice step keys.
REDACTABLE_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")

#: Twilio error code for a recipient who texted STOP: every later send to them fails with it.
OPTED_OUT = "21610"

#: How far along a message or call is. A status replaces the stored one only if it ranks higher:
#: terminal failures outrank delivery (a failed segment after "delivered" is the truth worth
#: keeping), and among equals the first one stays. Unknown values rank 0: recorded raw only
#: while nothing known has been recorded, so they never hide a real status.
STATUS_RANK = {
    # messages
    "scheduled": 10,
    "accepted": 10,
    "queued": 10,
    "sending": 20,
    "sent": 30,
    "delivered": 40,
    "read": 50,
    "partially_delivered": 60,
    "undelivered": 60,
    "failed": 60,
    "canceled": 60,
    # calls
    "initiated": 20,
    "ringing": 25,
    "in-progress": 30,
    "completed": 40,
    "busy": 60,
    "no-answer": 60,
}
#: Statuses after which Twilio will not try this message or call again.
TERMINAL = frozenset(status for status, rank in STATUS_RANK.items() if rank >= 40)
#: Terminal statuses that mean the recipient did not get it.
UNDELIVERED = frozenset(status for status, rank in STATUS_RANK.items() if rank >= 60)


def enqueue(
    session: Session,
    rt: Runtime,
    *,
    to: str,
    body: str,
    audience: str,
    purpose: str,
    officer_id: int | None = None,
    dispatch_id: int | None = None,
    dedupe_key: str | None = None,
    due_at: datetime | None = None,
    kind: str = "sms",
) -> OutboxMessage | None:
    """Queue a text (or a call, whose body is TwiML); None if its dedupe key was queued before."""
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {AUDIENCES}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    row = OutboxMessage(
        kind=kind,
        audience=audience,
        to_hash=rt.pseudonyms.of(to),
        to_sealed=rt.vault.seal(to),
        body_sealed=rt.vault.seal(body),
        officer_id=officer_id,
        dispatch_id=dispatch_id,
        purpose=purpose,
        sender=pacing.sender_for(rt, audience),
        priority=priority_of(audience, purpose, kind),
    )
    if due_at is not None:
        row.due_at = due_at
    stored = insert_once(session, row, dedupe_key)
    if stored is None:
        log.info("outbox: %s already queued, not again", dedupe_key)
    return stored


def priority_of(audience: str, purpose: str, kind: str = "sms") -> int:
    """Return where a message stands in the queue (DISPATCH first, CLEANUP last)."""
    if kind == REDACT:
        return CLEANUP
    if audience == "staff":
        if purpose in DISPATCH_PURPOSES or kind == "call":
            return DISPATCH
        return URGENT if purpose in URGENT_PURPOSES else STAFF_TEXT
    return PARTICIPANT


def enqueue_redaction(session: Session, sid: str) -> OutboxMessage | None:
    """Queue the erasure of a message's body at Twilio; None if queued before or not a message SID."""
    if not REDACTABLE_SID.fullmatch(sid or ""):
        return None
    row = OutboxMessage(
        kind=REDACT, audience=TWILIO, to_hash="", to_sealed=ERASED, purpose="redact", priority=CLEANUP
    )
    return insert_once(session, row, REDACT_KEY + sid)


def enqueue_redactions(session: Session, sids: Iterable[str | None]) -> int:
    """Queue the erasure at Twilio of every message SID not queued before; return how many are new.

    One INSERT ... ON CONFLICT DO NOTHING with many parameter sets: a purge queues hundreds at
    once, and on SQLite every moment of it is a moment a webhook waits for the write lock.
    """
    keys = sorted({REDACT_KEY + sid for sid in sids if sid and REDACTABLE_SID.fullmatch(sid)})
    if not keys:
        return 0
    template = OutboxMessage(
        kind=REDACT, audience=TWILIO, to_hash="", to_sealed=ERASED, purpose="redact", priority=CLEANUP
    )
    values = template.model_dump(exclude={"id", "dedupe_key"})
    table = OutboxMessage.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)
    )
    rows = [{**values, "dedupe_key": key} for key in keys]
    return len(session.connection().execute(statement, rows).all())


def redaction_sid(row: OutboxMessage) -> str | None:
    """Return the SID of the message a redaction row empties (kept in its dedupe key)."""
    key = row.dedupe_key or ""
    return key.removeprefix(REDACT_KEY) if row.kind == REDACT and key.startswith(REDACT_KEY) else None


def cancel_pending_to(session: Session, to_hash: str) -> int:
    """Cancel every queued (not yet claimed) message to a pseudonym; return how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.to_hash == to_hash, OutboxMessage.status == "pending")
        .values(status="cancelled", locked_until=None)
    )
    return result.rowcount or 0


def mark_opted_out(session: Session, to_hash: str) -> None:
    """Record that a participant's number refuses our texts (Twilio said 21610)."""
    session.execute(
        update(Conversation)
        .where(Conversation.sender_hash == to_hash)
        .values(opted_out=True, version=Conversation.version + 1)
    )
    cancel_pending_to(session, to_hash)


def should_replace(current: str | None, new: str) -> bool:
    """Tell whether a reported delivery status moves the stored one forward."""
    if current is None:
        return True
    return STATUS_RANK.get(new, 0) > STATUS_RANK.get(current, 0)


def record_status(
    session: Session,
    *,
    sid: str,
    status: str,
    error_code: str | int | None = None,
    rt: Runtime | None = None,
    handlers: Mapping[str, Callable] | None = None,
) -> bool:
    """Record a status callback for a message or call we sent; False if the SID is not ours.

    Monotonic (STATUS_RANK) and idempotent; the first error code is kept. 21610 on a text
    to a participant marks their conversation opted out. Given the runtime, a staff message
    that ends undelivered also goes to the worker's "undeliverable" handler, once.
    """
    row = session.exec(select(OutboxMessage).where(OutboxMessage.twilio_sid == sid).with_for_update()).first()
    if row is None:
        log.info("status %s for unknown %s ignored", _printable(status), sid)
        return False
    status = (status or "").strip().lower()[:24]
    code = str(error_code).strip()[:12] if error_code not in (None, "") else None
    newly_undelivered = False
    if status and should_replace(row.delivery_status, status):
        newly_undelivered = status in UNDELIVERED and row.delivery_status not in UNDELIVERED
        row.delivery_status = status
    if code and row.error_code is None:
        row.error_code = code
    session.add(row)
    if code == OPTED_OUT and row.audience == "participant":
        mark_opted_out(session, row.to_hash)
        log.info("outbox %s (%s): recipient opted out", row.id, sid)
    if newly_undelivered and row.audience == "staff" and rt is not None:
        timers.notify_undeliverable(session, rt, row, handlers)
    return True


def _printable(status: str | None) -> str:
    """Return a status value safe to log (a callback's field is whatever was posted)."""
    text = (status or "").strip().lower()[:24]
    return text if text.replace("-", "").replace("_", "").isalnum() else "(unprintable)"
