"""Escalation timing: from an offer's deadline to the next officer's offer, per worker poll interval.

    .venv/bin/python bench/escalation.py [--rounds 20] [--poll 0.25 --poll 1] [--postgres URL]

The real worker loop (`worker.run_forever`) runs in a thread with the given poll interval.
Each round opens a ride (the first officer is offered it), then moves that offer's deadline
to a moment a little ahead, at a random phase against the worker's polling. The latency is
the time from that deadline to the next offer being committed: `written` from the next offer's
own timestamp, `seen` when this script can read it (polling the database every 2 ms).
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import settings  # noqa: E402

from hotline import create_app, worker  # noqa: E402
from hotline.plumbing.runtime import Runtime, runtime  # noqa: E402
from hotline.services import dispatch, roster
from models import Conversation, Offer, Timer  # noqa: E402
from models.clock import utcnow  # noqa: E402

LEAD_SECONDS = 0.3  # how far ahead of "now" each round's deadline is set, plus a random phase


def make_runtime(database_url: str) -> Runtime:
    app = create_app(settings(DATABASE_URL=database_url), environ={})
    rt = runtime(app)
    rt.db.create_all()
    logging.getLogger("hotline").setLevel(logging.WARNING)  # one log line per step would drown the figures
    return rt


def add_roster(rt: Runtime) -> None:
    with rt.db.unit_of_work() as session:
        if session.exec(select(roster.Officer)).first() is None:
            roster.seed_demo(session, rt)
        session.commit()


def one_round(rt: Runtime, poll: float, n: int) -> tuple[float, float]:
    """Open a ride, let its first offer's deadline pass, return (written, seen) latency in seconds."""
    now = utcnow()
    with rt.db.unit_of_work() as session:
        conversation = Conversation(
            sender_hash=f"bench-{poll}-{n}-{time.time_ns()}", created_at=now, updated_at=now
        )
        session.add(conversation)
        session.flush()
        ride = dispatch.open_request(
            session, rt, conversation, kind="ride", language="en", answers={}, now=now
        )
        first = session.exec(select(Offer).where(Offer.dispatch_id == ride.id)).one()
        timer = session.exec(select(Timer).where(Timer.dedupe_key == f"offer_deadline:{first.id}")).one()
        deadline = utcnow() + timedelta(seconds=LEAD_SECONDS + random.uniform(0, poll))
        first.deadline = timer.due_at = deadline
        session.add_all([first, timer])
        session.commit()
        ride_id = ride.id
    while True:
        with rt.db.reading() as session:
            following = session.exec(
                select(Offer).where(Offer.dispatch_id == ride_id).order_by(col(Offer.id)).offset(1)
            ).first()
        if following is not None:
            seen = utcnow()
            break
        time.sleep(0.002)
    with rt.db.unit_of_work() as session:  # free the officers for the next round
        ride = session.get(dispatch.Dispatch, ride_id)
        dispatch.close(session, rt, ride, status="cancelled", actor="system")
        session.commit()
    return (following.created_at - deadline).total_seconds(), (seen - deadline).total_seconds()


def measure(rt: Runtime, poll: float, rounds: int) -> tuple[list[float], list[float]]:
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever, args=(rt,), kwargs={"poll_seconds": poll, "stop_event": stop}, daemon=True
    )
    thread.start()
    try:
        results = [one_round(rt, poll, n) for n in range(rounds)]
    finally:
        stop.set()
        thread.join(10)
    return [w for w, _ in results], [s for _, s in results]


def describe(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"median {statistics.median(ms):7.1f} ms   max {ms[-1]:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--poll", type=float, action="append", help="worker poll interval (s), repeatable")
    parser.add_argument("--postgres", help="a PostgreSQL URL instead of a temporary SQLite file")
    args = parser.parse_args()
    polls = args.poll or [0.25, 1.0]
    with tempfile.TemporaryDirectory() as folder:
        url = args.postgres or f"sqlite:///{folder}/bench.sqlite3"
        rt = make_runtime(url)
        add_roster(rt)
        print(f"database: {rt.db.engine.dialect.name}, rounds per interval: {args.rounds}")
        print("deadline -> next offer (written: the offer's timestamp; seen: committed and readable)")
        for poll in polls:
            written, seen = measure(rt, poll, args.rounds)
            print(f"poll {poll:5.2f} s   written: {describe(written)}   seen: {describe(seen)}")
        rt.db.dispose()


if __name__ == "__main__":
    main()
