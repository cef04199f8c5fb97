"""Timers: deadlines in the database, fired by the worker; their handlers known by name.

A service registers the function for a timer kind with `@timers.register(kind)` when it is
imported (the app factory and the worker loop import every service at start-up), so this
module never imports a service. A due timer is locked and its handler runs in the same
transaction that marks it done, so a handler's writes and the done flag commit together: a killed
worker neither repeats nor skips one. A handler that raises is rolled back and the timer stays
pending (retried with back-off, failed after MAX_TIMER_ATTEMPTS). A timer whose kind no handler
knows is left pending and logged once per process: a newer release that wrote it will fire it.

The "undeliverable" handler is registered the same way: a page to an officer that Twilio could
not deliver goes to it at once (the dispatch service escalates).

Logs carry row ids only, never a number or a body.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from hotline.plumbing.db import insert_once
from hotline.plumbing.runtime import Runtime
from models import OutboxMessage, Timer

log = logging.getLogger(__name__)

#: Back-off after the n-th failed send or handler run: BASE * 2**(n-1), capped, then scaled by 0.5..1.
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 300.0
#: Handler runs of one timer that may raise before the timer is given up as failed.
MAX_TIMER_ATTEMPTS = 8
#: Staff alerts whose failure must reach the dispatch service at once (it escalates).
UNDELIVERABLE = "undeliverable"

Handler = Callable[..., Any]

#: Timer kinds (and "undeliverable") to the functions that handle them: fn(session, rt, item).
HANDLERS: dict[str, Handler] = {}

_unknown_logged: set[tuple[str, int]] = set()  # (database, timer id): log each once


def register(kind: str) -> Callable[[Handler], Handler]:
    """Register a handler for a timer kind (or for "undeliverable" staff messages)."""

    def decorate(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return decorate


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Return how long to wait after the given number of failed sends (with jitter)."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=ceiling * (rng or random).uniform(0.5, 1.0))


def notify_undeliverable(
    session: Session,
    rt: Runtime,
    row: OutboxMessage,
    handlers: Mapping[str, Handler] | None = None,
) -> bool:
    """Hand a failed page to an officer to the "undeliverable" handler; True if it ran.

    Runs in a savepoint of the caller's transaction: the handler's writes commit with the
    row's failure, and a handler that raises loses only its own writes (the offer's deadline
    timer still escalates; this is only the fast path).
    """
    handler = (HANDLERS if handlers is None else handlers).get(UNDELIVERABLE)
    if handler is None or row.audience != "staff":
        return False
    if row.purpose != "offer" and row.officer_id is None:
        return False
    try:
        with session.begin_nested():
            handler(session, rt, row)
    except Exception as error:
        log.error("outbox %s: undeliverable handler raised %s", row.id, type(error).__name__)
        return False
    log.info("outbox %s: undeliverable, handed to the dispatch service", row.id)
    return True


def schedule_timer(
    session: Session,
    *,
    kind: str,
    due_at: datetime,
    dispatch_id: int | None = None,
    payload: Mapping[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> Timer | None:
    """Add a deadline in the caller's transaction; None if its dedupe key exists already.

    The payload is stored as JSON: ids and enums only, never a number or a text.
    """
    timer = Timer(kind=kind, due_at=due_at, dispatch_id=dispatch_id, payload=json.dumps(payload or {}))
    return insert_once(session, timer, dedupe_key)


def cancel_timers(session: Session, *, dispatch_id: int, kind: str | None = None) -> int:
    """Cancel a dispatch's pending timers (of one kind, or all); return how many."""
    query = select(Timer).where(Timer.dispatch_id == dispatch_id, Timer.status == "pending")
    if kind is not None:
        query = query.where(Timer.kind == kind)
    timers = session.exec(query).all()
    for timer in timers:
        timer.status = "cancelled"
        session.add(timer)
    return len(timers)


def _timer_kinds(handlers: Mapping[str, Handler]) -> list[str]:
    return sorted(kind for kind in handlers if kind != UNDELIVERABLE)


def fire_due_timer(rt: Runtime, *, now: datetime, handlers: Mapping[str, Handler]) -> str | None:
    """Fire the next due timer with a known handler; return fired or error, None if none due."""
    kinds = _timer_kinds(handlers)
    if not kinds:
        return None
    timer_id = kind = None
    try:
        with rt.db.unit_of_work() as session:
            timer = session.exec(
                select(Timer)
                .where(
                    Timer.status == "pending",
                    Timer.due_at <= now,
                    col(Timer.kind).in_(kinds),
                    or_(col(Timer.locked_until).is_(None), Timer.locked_until <= now),
                )
                .order_by(col(Timer.due_at), col(Timer.id))
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if timer is None:
                session.commit()
                return None
            timer_id, kind = timer.id, timer.kind
            handlers[timer.kind](session, rt, timer)
            timer.status = "done"
            timer.fired_at = now
            session.add(timer)
            session.commit()
    except Exception as error:
        if timer_id is None:
            raise
        log.error("timer %s (%s): handler raised %s", timer_id, kind, type(error).__name__)
        _record_timer_error(rt, timer_id, now=now)
        return "error"
    log.info("timer %s (%s) fired", timer_id, kind)
    return "fired"


def _record_timer_error(rt: Runtime, timer_id: int, *, now: datetime) -> None:
    """Count a failed handler run and hold the timer back a little before the next try."""
    with rt.db.unit_of_work() as session:
        timer = session.get(Timer, timer_id, with_for_update=True)
        if timer is None or timer.status != "pending":
            session.rollback()
            return
        timer.attempts += 1
        if timer.attempts >= MAX_TIMER_ATTEMPTS:
            timer.status = "failed"
            log.error("timer %s (%s) given up after %d errors", timer.id, timer.kind, timer.attempts)
        else:
            timer.locked_until = now + timedelta(seconds=min(300, 2 ** (timer.attempts - 1)))
        session.add(timer)
        session.commit()


def log_unknown_timers(rt: Runtime, *, now: datetime, handlers: Mapping[str, Handler]) -> None:
    """Log, once per process, due timers that no registered handler can fire."""
    with rt.db.reading() as session:
        rows = session.exec(
            select(Timer.id, Timer.kind).where(
                Timer.status == "pending",
                Timer.due_at <= now,
                col(Timer.kind).not_in(_timer_kinds(handlers) or [""]),
            )
        ).all()
    for timer_id, kind in rows:
        if (rt.db.url, timer_id) not in _unknown_logged:
            _unknown_logged.add((rt.db.url, timer_id))
            log.error("timer %s has unknown kind %r; left pending", timer_id, kind[:32])
