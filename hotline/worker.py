"""The worker loop: the `hotline worker` process, passes of hotline.plumbing.jobs until stopped.

It sits above the services: importing them registers their timer handlers (hotline.plumbing.timers)
before the first pass. Between passes it makes sure a purge is scheduled (retention) and watches
for texts and calls that wait too long (observability).
"""

from __future__ import annotations

import logging
import threading
import time

from hotline.plumbing import observability
from hotline.plumbing.jobs import run_once
from hotline.plumbing.runtime import Runtime
from hotline.services import dispatch, retention, roster  # noqa: F401 (registers their timer handlers)

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
) -> None:
    """Run passes until the stop event is set, resting `poll_seconds` whenever idle."""
    stop = stop_event or threading.Event()
    log.info("worker started (poll every %.1f s)", poll_seconds)
    purge_checked = watched = None
    while not stop.is_set():
        busy, counts = False, {}
        try:
            if purge_checked is None or time.monotonic() - purge_checked > PURGE_CHECK_SECONDS:
                retention.ensure_purge_timer(rt)
                purge_checked = time.monotonic()
            if watched is None or time.monotonic() - watched > WATCH_SECONDS:
                observability.watch_outbox(rt)
                watched = time.monotonic()
            counts = run_once(rt, limit=limit)
            busy = counts["sent"] + counts["retry"] + counts["failed"] >= limit
            busy = busy or counts["timers"] + counts["timer_errors"] >= limit
        except Exception as error:
            # The database is down or locked: keep polling rather than die.
            log.error("worker pass failed: %s", type(error).__name__)
            log.debug("worker pass traceback", exc_info=True)
        if not busy:
            # A text held for its number's rate goes the moment the number frees up.
            stop.wait(min(poll_seconds, counts.get("paced_ms", 10**9) / 1000))
    log.info("worker stopped")
