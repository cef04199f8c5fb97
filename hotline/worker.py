"""The worker loop: the `hotline worker` process, passes of hotline.plumbing.jobs until stopped.

It sits above the services: importing them registers their timer handlers (hotline.plumbing.timers)
before the first pass. Between passes it makes sure a purge is scheduled (retention) and watches
for texts and calls that wait too long (observability), then sleeps until the earliest pending
row or timer falls due, the commit of new work (hotline.plumbing.wakeup) or the poll interval,
whichever comes first.
"""

from __future__ import annotations

import logging
import threading
import time

from hotline.plumbing import observability, wakeup
from hotline.plumbing.jobs import run_once
from hotline.plumbing.runtime import Runtime
from hotline.services import dispatch, retention, roster  # noqa: F401 (registers their timer handlers)
from models.clock import utcnow

log = logging.getLogger(__name__)

#: Seconds between checks that a purge is scheduled (run_forever).
PURGE_CHECK_SECONDS = 600.0
#: How often the worker looks for texts and calls that wait too long (observability.watch_outbox).
WATCH_SECONDS = 60.0


def run_forever(
    rt: Runtime,
    *,
    poll_seconds: float,
    stop_event: threading.Event | None = None,
    limit: int = 50,
    wake: bool | None = None,
) -> None:
    """Run passes until the stop event is set; when idle, rest until work is due or committed.

    `wake` (default: the HOTLINE_WORKER_WAKEUP setting) False rests `poll_seconds` every time.
    """
    stop = stop_event or threading.Event()
    if wake is None:
        wake = rt.config.get("HOTLINE_WORKER_WAKEUP", True)
    waiter = wakeup.Waiter(rt.db) if wake else None
    log.info(
        "worker started (poll every %.1f s, %s)", poll_seconds, "woken by new work" if wake else "polling"
    )
    purge_checked = watched = None
    while not stop.is_set():
        busy = failed = False
        counts: dict[str, int] = {}
        started = utcnow()
        try:
            if waiter is not None:
                waiter.arm()
            if purge_checked is None or time.monotonic() - purge_checked > PURGE_CHECK_SECONDS:
                retention.ensure_purge_timer(rt)
                purge_checked = time.monotonic()
            if watched is None or time.monotonic() - watched > WATCH_SECONDS:
                observability.watch_outbox(rt)
                watched = time.monotonic()
            counts = run_once(rt, limit=limit)
            busy = counts["sent"] + counts["retry"] + counts["failed"] >= limit
            busy = busy or counts["timers"] + counts["timer_errors"] >= limit
            # What a pass did may have queued more (a fired deadline's next offer): look again now.
            did = any(count for name, count in counts.items() if name != "paced_ms")
            busy = busy or (waiter is not None and did)
        except Exception as error:
            # The database is down or locked: keep polling rather than die.
            log.error("worker pass failed: %s", type(error).__name__)
            log.debug("worker pass traceback", exc_info=True)
            failed = True
        if busy:
            continue
        # A text held for its number's rate goes the moment the number frees up.
        longest = min(poll_seconds, counts.get("paced_ms", 10**9) / 1000)
        if waiter is None or failed:
            stop.wait(longest)
        else:
            _rest(rt, waiter, stop, started=started, poll_seconds=longest)
    if waiter is not None:
        waiter.close()
    log.info("worker stopped")


def _rest(rt: Runtime, waiter: wakeup.Waiter, stop: threading.Event, *, started, poll_seconds: float) -> None:
    """Wait until the next due row or timer, new work, or the poll interval, whichever comes first."""
    try:
        pause = wakeup.pause_before_next(rt.db, after=started, longest=poll_seconds)
    except Exception as error:
        log.error("worker could not read the next due time: %s", type(error).__name__)
        pause = poll_seconds
    if pause > 0:
        waiter.wait(pause, stop)
