"""Throttle: how often one number may text or call, and how many texts go out per hour.

Inbound. Each sender (by pseudonym, never the number) may start `[limits]` texts and calls per
fixed 10-minute window; senders without a bare number of their own (withheld, "anonymous",
"client:…") share one count ten times as large. Over the limit Twilio still gets a 200 -- an
empty `<Response/>` for a text, a short goodbye with 911 first for a call -- never a 429, which
Twilio would report as an error and retry. Nothing is written to the database for a throttled
request. A throttled text with emergency words still gets the static safe answer (911, HQ, the
desk): it promises nothing (no sergeant was told), and costs no database write, so a flood of
"overdose" texts stays cheap.

Counts live in Redis when HOTLINE_RATE_LIMIT_STORAGE is a redis:// URL (shared by every gunicorn
worker and host), in process memory otherwise (each worker counts on its own). If Redis cannot be
reached the text is let through: a broken counter must never silence a person asking for help.

Outbound. The worker sends at most `outbound_texts_per_hour` texts in any rolling hour; texts
beyond it stay pending (never dropped) and the sergeants get one alert per clock hour.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from flask import Flask, current_app, has_app_context
from sqlalchemy import func, or_
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from flows.intents import read_command
from hotline.plumbing import staff
from hotline.plumbing.privacy import is_plain_number
from hotline.plumbing.program import Limits
from hotline.plumbing.runtime import Runtime
from models import OutboxMessage

log = logging.getLogger(__name__)

#: The inbound counting window, in seconds (the program's limits are "per 10 minutes").
WINDOW_SECONDS = 600
#: A throttle check may not hold up an answer to Twilio longer than this on a slow Redis.
REDIS_TIMEOUT_SECONDS = 0.25
#: Dedupe key of the sergeants' alert when the outbound cap is reached (one per clock hour);
#: the alert itself is exempt from the cap, or it would wait behind the texts it warns about.
CAP_KEY = "outbound-cap:"
EMERGENCY_COMMANDS = {"emergency", "crisis"}
#: The one count every sender without a number of its own shares: withheld caller IDs
#: ("anonymous", "Restricted", empty), Twilio Client identities ("client:…"), anything that is
#: not a bare E.164 number. Generous (this many senders' worth), as real people share it.
SHARED = "withheld"
SHARED_SENDERS = 10


class MemoryCounter:
    """Count hits per key and window in this process."""

    errors: tuple[type[Exception], ...] = ()  # counting in memory cannot fail

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int) -> int:
        """Count one hit in the given window; return the window's count so far."""
        with self._lock:
            if len(self._counts) > 100_000:
                # A pumping attack from many numbers must not grow memory without bound.
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
            return count

    def close(self) -> None:
        self._counts.clear()


class RedisCounter:
    """Count hits per key and window in Redis, shared by every process."""

    def __init__(self, url: str) -> None:
        import redis  # only where Redis is the storage: processes without it start faster

        self.errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )

    def hit(self, key: str, window: int) -> int:
        """Count one hit in the given window; return the window's count so far."""
        name = f"hotline:throttle:{key}:{window}"
        pipe = self._client.pipeline()
        pipe.incr(name)
        pipe.expire(name, WINDOW_SECONDS * 2)
        count, _ = pipe.execute()
        return int(count)

    def close(self) -> None:
        self._client.close()


class Throttle:
    """Decide whether a sender may start one more text or call."""

    def __init__(self, counter: MemoryCounter | RedisCounter, limits) -> None:
        self.counter = counter
        self.limits = limits

    def admits(self, channel: str, sender_hash: str, *, now: float | None = None) -> bool:
        """Count a text ("sms") or call ("call") from a sender; False when it is over the limit."""
        limit = {
            "sms": self.limits.texts_per_sender_per_10min,
            "call": self.limits.calls_per_sender_per_10min,
        }[channel]
        if sender_hash == SHARED:
            limit *= SHARED_SENDERS
        window = int((time.time() if now is None else now) // WINDOW_SECONDS)
        try:
            count = self.counter.hit(f"{channel}:{sender_hash}", window)
        except self.counter.errors as error:
            log.error("throttle storage failed (%s); %s let through", type(error).__name__, channel)
            return True
        if count <= limit:
            return True
        if count == limit + 1:
            # Once per window: a flood must not flood the logs too. Pseudonym prefix only, glued to
            # "ps_" so the log masking never takes an all-digit prefix for a phone number.
            log.warning("sender ps_%s over the %s limit (%d in 10 min)", sender_hash[:8], channel, limit)
        return False

    def close(self) -> None:
        """Release the storage's connections."""
        self.counter.close()


def throttle(app: Flask | None = None) -> Throttle:
    """Return the app's throttle, built on first use (after any fork: Redis sockets are per process)."""
    app = app or current_app
    found = app.extensions.get("hotline_throttle")
    if found is None:
        storage = app.config.get("HOTLINE_RATE_LIMIT_STORAGE") or "memory://"
        counter = RedisCounter(storage) if storage.startswith(("redis://", "rediss://")) else MemoryCounter()
        limits = app.extensions["hotline"].program.limits
        found = app.extensions.setdefault("hotline_throttle", Throttle(counter, limits))
    return found


def admits_text(rt: Runtime, sender: str, sender_hash: str) -> bool:
    """Count an inbound text (by its sender's pseudonym); False when over the limit and not active staff.

    Officers answering a busy night must never be silenced: only a sender already over the
    limit costs one read to tell (no write, and none at all for everyone else). A sender that
    is not a bare number counts in the shared bucket (and is never staff).
    """
    if not is_plain_number(sender):
        return throttle().admits("sms", SHARED)
    return throttle().admits("sms", sender_hash) or _is_staff(rt, sender_hash)


def _is_staff(rt: Runtime, sender_hash: str) -> bool:
    try:
        with rt.db.reading() as session:
            return staff.active_staff(session, sender_hash) is not None
    except SQLAlchemyError:
        return False


def admits_call(rt: Runtime, caller: str) -> bool:
    """Count an inbound call; False when its caller is over the limit.

    Withheld and odd caller IDs share one generous count: a flood of them must not reach the
    menu, whose two key presses ring the officers on duty.
    """
    if not is_plain_number(caller):
        return throttle().admits("call", SHARED)
    return throttle().admits("call", rt.pseudonyms.of(caller))


def admits_withheld_ring(app: Flask | None = None) -> bool:
    """Count a withheld caller's "talk to someone now" in the shared count; False when over it."""
    if app is None and not has_app_context():
        return True
    return throttle(app).admits("call", SHARED)


def throttled_texts(rt: Runtime, body: str) -> list[str]:
    """Return the answer to a throttled text: nothing, or the static safe text for emergency words."""
    command, language = read_command(body)
    if command not in EMERGENCY_COMMANDS:
        return []
    return [rt.catalog.render("service_unavailable", language or "en")]


# -- outbound --------------------------------------------------------------------------------


def outbound_capped(session: Session, rt: Runtime, *, now: datetime) -> bool:
    """Tell whether the texts sent in the last hour reached the cap; alert the sergeants once if so."""
    # A runtime without a program (some worker tests) keeps the default cap.
    cap = (rt.program.limits if rt.program is not None else Limits()).outbound_texts_per_hour
    since = now - timedelta(hours=1)
    sent = session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.kind == "sms",
            or_(OutboxMessage.status == "sending", col(OutboxMessage.sent_at) >= since),
        )
    ).one()
    if sent < cap:
        return False
    key = f"{CAP_KEY}{now:%Y%m%d%H}"
    told = session.exec(
        select(OutboxMessage.id).where(col(OutboxMessage.dedupe_key).startswith(key + ":")).limit(1)
    ).first()
    if told is None:
        text = staff.render("outbound_cap", time=staff.local_time(now, rt.program.timezone), cap=cap)
        staff.alert_sergeants(session, rt, text, dedupe=key)
        log.warning("outbound cap of %d texts an hour reached; texts wait", cap)
    return True


def exempt_from_cap():
    """Return the condition of outbox rows the cap lets through: calls, redactions, the cap alert."""
    return or_(OutboxMessage.kind != "sms", col(OutboxMessage.dedupe_key).startswith(CAP_KEY))
