"""The worker wakes for new work: NOTIFY on PostgreSQL, a watch of the newest rows on SQLite.

Each test runs the real worker loop in a thread with a poll interval far longer than what it
measures, and writes through a second Database, as a web process would: only the wake-up (or, where
a test says so, the poll) can bring the worker to the work in time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from hotline import worker
from hotline.plumbing import config, outbox, timers, wakeup
from hotline.plumbing.config import ConfigError
from models.clock import utcnow
from tests.plumbing.test_worker import OFFICER, ScriptedTransport, make_runtime, stored

LONG_POLL = 30.0


@pytest.fixture
def key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def rt(database_url, key):
    """The worker's runtime on a fresh database."""
    runtime = make_runtime(database_url, key, ScriptedTransport())
    runtime.db.create_all()
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def writer(rt, database_url, key):
    """Another process's view of the same database: its own engine, so its own bell."""
    other = make_runtime(database_url, key, ScriptedTransport())
    yield other
    other.db.dispose()


@contextmanager
def running_worker(rt, *, poll_seconds: float = LONG_POLL) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever, args=(rt,), kwargs={"poll_seconds": poll_seconds, "stop_event": stop}
    )
    thread.start()
    time.sleep(0.5)  # the first pass is done and the worker is resting
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def queue_page(runtime) -> int:
    with runtime.db.unit_of_work() as session:
        row = outbox.enqueue(session, runtime, to=OFFICER, body="page", audience="staff", purpose="offer")
        session.commit()
        return row.id


def seconds_until_sent(rt, row_id: int, limit: float) -> float:
    started = time.monotonic()
    while stored(rt, row_id).status != "sent":
        if time.monotonic() - started > limit:
            return float("inf")
        time.sleep(0.005)
    return time.monotonic() - started


def test_new_work_wakes_a_resting_worker_long_before_the_poll(rt, writer):
    with running_worker(rt):
        waited = [seconds_until_sent(rt, queue_page(writer), limit=5) for _ in range(3)]

    assert max(waited) < 0.25, waited  # the poll interval is 30 s


def test_on_sqlite_a_commit_rings_at_the_workers_door(tmp_path, key, monkeypatch):
    monkeypatch.setattr(wakeup, "LISTEN_SLICE_SECONDS", 10.0)  # no look at the rows meanwhile
    url = f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
    runtime = make_runtime(url, key, ScriptedTransport())
    runtime.db.create_all()
    writer = make_runtime(url, key, ScriptedTransport())
    try:
        with running_worker(runtime):
            door = tmp_path / "hotline.sqlite3-worker.sock"
            listening = door.is_socket()
            waited = seconds_until_sent(runtime, queue_page(writer), limit=5)
        closed = not door.exists()
    finally:
        writer.db.dispose()
        runtime.db.dispose()

    assert listening and closed
    assert waited < 0.25


def test_work_committed_in_the_same_process_rings_its_bell(rt):
    with running_worker(rt):
        waited = seconds_until_sent(rt, queue_page(rt), limit=5)

    assert waited < 0.25


def test_work_that_rang_no_bell_is_still_found_by_the_poll(rt, database_url):
    plain = create_engine(database_url)  # no hooks: as if the notification were lost
    with running_worker(rt, poll_seconds=0.5):
        row_id = queue_page(rt)  # a first row, so the second's values can be copied
        seconds_until_sent(rt, row_id, limit=5)
        time.sleep(0.6)  # resting again
        with plain.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO outbox (kind, audience, to_hash, to_sealed, body_sealed, purpose, status,"
                    " due_at, attempts, created_at, sender, priority) SELECT kind, audience, to_hash,"
                    " to_sealed, body_sealed, purpose, 'pending', due_at, 0, created_at, sender, priority"
                    " FROM outbox WHERE id = :id"
                ),
                {"id": row_id},
            )
            missed = conn.execute(text("SELECT MAX(id) FROM outbox")).scalar()
        waited = seconds_until_sent(rt, missed, limit=5)
    plain.dispose()

    assert waited < 1.5  # the 0.5 s poll, not the 30 s of the other tests


@pytest.mark.postgres
def test_only_a_commit_notifies_on_postgresql(postgres_url, key):
    runtime = make_runtime(postgres_url, key, ScriptedTransport())
    runtime.db.create_all()
    waiter = wakeup.Waiter(runtime.db)
    waiter.arm()
    stop = threading.Event()
    try:
        with runtime.db.unit_of_work() as session:
            outbox.enqueue(session, runtime, to=OFFICER, body="page", audience="staff", purpose="offer")
            session.rollback()
        rolled_back = waiter.wait(0.3, stop)
        with runtime.db.unit_of_work() as session:
            outbox.enqueue(session, runtime, to=OFFICER, body="page", audience="staff", purpose="offer")
            session.commit()
        committed = waiter.wait(2, stop)
    finally:
        waiter.close()
        runtime.db.dispose()

    assert (rolled_back, committed) == (False, True)


def test_a_timer_fires_within_100_ms_of_its_due_time(rt, writer):
    fired = []
    timers.HANDLERS["test_wakeup_due"] = lambda session, rt, timer: fired.append((utcnow(), timer.due_at))
    try:
        with running_worker(rt):
            for _ in range(3):
                with writer.db.unit_of_work() as session:
                    timers.schedule_timer(
                        session, kind="test_wakeup_due", due_at=utcnow() + timedelta(milliseconds=300)
                    )
                    session.commit()
                deadline = time.monotonic() + 5
                count = len(fired)
                while len(fired) == count and time.monotonic() < deadline:
                    time.sleep(0.01)
    finally:
        timers.HANDLERS.pop("test_wakeup_due", None)

    late = [(at - due).total_seconds() for at, due in fired]
    assert len(late) == 3 and all(0 <= seconds <= 0.1 for seconds in late), late


def test_a_worker_without_wake_up_waits_for_the_poll(rt, writer):
    rt.config = {**rt.config, "HOTLINE_WORKER_WAKEUP": False}
    with running_worker(rt, poll_seconds=1.5):
        waited = seconds_until_sent(rt, queue_page(writer), limit=5)

    assert waited > 0.3  # (the baseline `make bench` compares with)


@pytest.mark.parametrize("value", ["sometimes", "2"])
def test_the_wake_up_setting_is_on_or_off(value, tmp_path):
    with pytest.raises(ConfigError, match="HOTLINE_WORKER_WAKEUP"):
        config.load({"HOTLINE_ENV": "development", "HOTLINE_WORKER_WAKEUP": value}, str(tmp_path), None)
    on = config.load({"HOTLINE_ENV": "development"}, str(tmp_path), None)
    off = config.load({"HOTLINE_ENV": "development", "HOTLINE_WORKER_WAKEUP": "off"}, str(tmp_path), None)
    assert (on["HOTLINE_WORKER_WAKEUP"], off["HOTLINE_WORKER_WAKEUP"]) == (True, False)


@pytest.mark.postgres
def test_a_dropped_listening_connection_costs_a_poll_then_listens_again(postgres_url, key, monkeypatch):
    monkeypatch.setattr(wakeup, "RELISTEN_SECONDS", 0.5)
    runtime = make_runtime(postgres_url, key, ScriptedTransport())
    runtime.db.create_all()
    writer = make_runtime(postgres_url, key, ScriptedTransport())
    admin = create_engine(postgres_url)
    listening = text(
        "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()"
    )
    try:
        with running_worker(runtime, poll_seconds=1.0):
            with admin.begin() as conn:
                pids = conn.execute(listening).scalars().all()
                for pid in pids:
                    conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            time.sleep(0.3)
            while_dropped = seconds_until_sent(runtime, queue_page(writer), limit=5)
            time.sleep(1.5)  # the worker has listened again
            with admin.begin() as conn:
                relistened = conn.execute(listening).scalars().all()
            again = seconds_until_sent(runtime, queue_page(writer), limit=5)
    finally:
        admin.dispose()
        writer.db.dispose()
        runtime.db.dispose()

    assert len(pids) == 1 and while_dropped < 2.0  # found by the poll
    assert relistened and relistened != pids and again < 0.25
