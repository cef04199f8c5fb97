"""Pacing: each of our numbers hands Twilio no more SMS segments a second than the program allows.

Why at our side. Twilio queues whatever a number cannot send yet (1 segment a second from a US
long code, about 3 from toll-free, about 100 from a short code) and empties that queue oldest
first. A text handed to Twilio beyond the number's rate waits there, where no priority of ours
reaches it: an officer's offer handed over after 500 updates leaves 500 segments later. So the
outbox hands each number at most its rate ([sending] in the program file) and keeps the rest
pending itself, where the next claim takes the most urgent row (hotline.plumbing.jobs). A paced
row waits; it is never failed. Pacing at our side is what makes the outbox's priority real.

What it cannot reach. A reply in TwiML to an inbound text is handed to Twilio by the webhook, not
by the outbox, and joins the queue of the number that was texted. In a surge the hotline number's
queue fills with those replies; the staff number (TWILIO_STAFF_NUMBER) keeps offers and alerts
out of it.

The state. One row per sender (`sender_pace`): `next_free_at`, the moment the number has sent
everything handed to it so far. A claim locks its sender's row (SELECT ... FOR UPDATE on
PostgreSQL; on SQLite BEGIN IMMEDIATE lets one claimer in at a time), takes a row only from a
sender that is free, and moves `next_free_at` to now + segments / rate. Every worker process
reads and moves the same rows in the same transaction as its claim, so two workers together pace
a number exactly as one would. A send that fails still used its slot: never above the rate.

A transport that sends nothing (the local one, in development) is not paced.

Texts cost their segments (a two-segment text costs 2). Calls do not queue behind texts at
Twilio (calls have their own limit per account) and redactions send nothing: both cost 0.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from flows.texts import segments
from hotline.plumbing.program import Sending
from hotline.plumbing.runtime import Runtime
from hotline.plumbing.transport import MAIN, STAFF
from models import OutboxMessage, SenderPace

SENDERS = (MAIN, STAFF)


def sender_for(rt: Runtime, audience: str) -> str:
    """Return which number a message to this audience goes from: staff texts from the staff number."""
    return STAFF if audience == "staff" and rt.staff_number else MAIN


def number_behind(rt: Runtime, sender: str) -> str:
    """Return whose number sends a row of `sender`: staff is main when there is no staff number."""
    return sender if sender == MAIN or rt.staff_number else MAIN


#: [sending] for a transport that sends nothing (LocalTransport: `paced = False`).
UNPACED = Sending(main_segments_per_second=math.inf, staff_segments_per_second=math.inf)


def settings(rt: Runtime) -> Sending:
    """Return the program's [sending] (the defaults for a runtime without a program)."""
    sending = rt.program.sending if rt.program is not None else Sending()
    if not getattr(rt.transport, "paced", True):
        return dataclasses.replace(UNPACED, by_priority=sending.by_priority)
    return sending


def rate(rt: Runtime, sender: str) -> float:
    """Return the segments a second a sender may hand Twilio."""
    sending = settings(rt)
    return sending.staff_segments_per_second if sender == STAFF else sending.main_segments_per_second


def cost(rt: Runtime, row: OutboxMessage) -> int:
    """Return the segments a row takes from its number's rate: texts their segments, else 0."""
    if row.kind != "sms":
        return 0
    body = rt.vault.open(row.body_sealed) if row.body_sealed is not None else None
    return max(1, segments(body or "")[1])  # an unreadable body still takes a slot (it fails at send)


def lock(session: Session) -> dict[str, datetime]:
    """Lock every sender's pace row for this transaction (creating missing ones); return them."""
    paces = _locked(session)
    if len(paces) < len(SENDERS):
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        epoch = datetime(2000, 1, 1)
        session.execute(
            dialect.insert(SenderPace)
            .values([{"sender": sender, "next_free_at": epoch} for sender in SENDERS])
            .on_conflict_do_nothing(index_elements=["sender"])
        )
        paces = _locked(session)
    return paces


def _locked(session: Session) -> dict[str, datetime]:
    rows = session.execute(
        select(SenderPace.sender, SenderPace.next_free_at)
        .order_by(col(SenderPace.sender))  # one order for every claimer: no deadlock
        .with_for_update()
    ).all()
    return {sender: next_free for sender, next_free in rows}


def open_senders(rt: Runtime, paces: Mapping[str, datetime], now: datetime) -> list[str]:
    """Return the senders whose rows may be claimed now (their number is free)."""
    return [sender for sender in SENDERS if paces.get(number_behind(rt, sender), now) <= now]


def take(
    session: Session, rt: Runtime, row: OutboxMessage, paces: dict[str, datetime], now: datetime
) -> None:
    """Hold a claimed row's number for as long as Twilio takes to send it at the number's rate."""
    segments_taken = cost(rt, row)
    if not segments_taken:
        return
    sender = number_behind(rt, row.sender)
    start = max(paces.get(sender, now), now)
    free_at = start + timedelta(seconds=segments_taken / rate(rt, sender))
    paces[sender] = free_at
    session.execute(update(SenderPace).where(SenderPace.sender == sender).values(next_free_at=free_at))


def seconds_until_free(rt: Runtime, *, now: datetime) -> float | None:
    """Return how long until a busy number frees up with a row due for it; None if nothing waits on one.

    The worker rests this long instead of its whole poll interval, so a paced row leaves as
    soon as its number may send it.
    """
    with rt.db.reading() as session:
        busy = session.execute(select(SenderPace.sender, SenderPace.next_free_at)).all()
        busy = {sender: free_at for sender, free_at in busy if free_at > now}
        if not busy:
            return None
        held = [sender for sender in SENDERS if number_behind(rt, sender) in busy]
        waiting = session.execute(
            select(OutboxMessage.sender)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.due_at <= now,
                OutboxMessage.kind == "sms",
                col(OutboxMessage.sender).in_(held),
            )
            .limit(1)
        ).first()
    if waiting is None:
        return None
    return max(0.0, (busy[number_behind(rt, waiting[0])] - now).total_seconds())
