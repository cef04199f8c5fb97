"""The worker: claiming, sending once, retry rules, crashed workers, and timers.

Runs on SQLite and PostgreSQL (the `database_url` fixture of tests/conftest.py). Twilio is a
scripted fake handed to the runtime; time is passed in as `now`.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from hotline import worker
from hotline.plumbing import jobs, outbox, timers
from hotline.plumbing.db import Database
from hotline.plumbing.privacy import Pseudonyms, Vault
from hotline.plumbing.program import Limits
from hotline.plumbing.runtime import Runtime
from hotline.plumbing.transport import AMBIGUOUS, FINAL, RETRYABLE, Sent, TransportError
from models import Conversation, Officer, OutboxMessage, Timer
from models.clock import utcnow
from tests.support import unpaced

PUBLIC_URL = "https://hotline.example.org"
PARTICIPANT = "+18165550142"
OFFICER = "+18165550123"
SERGEANT = "+18165550177"
TO_PARTICIPANT = "An officer accepted. Reply STATUS any time."
TO_OFFICER = "SAFE PASSAGE ride R7K2 near QuikTrip. Reply ACCEPT 4821."
SECRETS = ("8165550142", "8165550123", "8165550177", "QuikTrip", "Reply STATUS")
PSEUDONYM_SECRET = "test-secret"


class ScriptedTransport:
    """Twilio stand-in: each send takes the next scripted outcome (an error to raise, or None)."""

    def __init__(self, *outcomes, delay: float = 0.0):
        self.outcomes = list(outcomes)
        self.delay = delay
        self.attempts: list[dict] = []  # every call, including the ones that raised
        self.delivered: list[dict] = []  # the ones Twilio took

    def _next(self, request: dict, prefix: str) -> Sent:
        self.attempts.append(request)
        if self.delay:
            time.sleep(self.delay)
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.delivered.append(request)
        return Sent(sid=prefix + uuid.uuid4().hex, status="queued")

    def send_sms(self, *, to, body, status_callback, sender="main"):
        return self._next({"kind": "sms", "to": to, "body": body, "callback": status_callback}, "SM")

    def place_call(self, *, to, twiml, status_callback, sender="main"):
        return self._next({"kind": "call", "to": to, "body": twiml, "callback": status_callback}, "CA")

    def redact_message(self, sid):
        raise AssertionError("the worker never redacts")


def make_runtime(url: str, key: str, transport) -> Runtime:
    """Build a runtime without Flask: what a worker process needs."""
    return Runtime(
        config={"HOTLINE_PUBLIC_URL": PUBLIC_URL},
        db=Database(url),
        vault=Vault(key),
        pseudonyms=Pseudonyms(PSEUDONYM_SECRET),
        # What a worker pass reads of the program: the defaults, without pacing (test_pacing.py).
        program=SimpleNamespace(limits=Limits(), sending=unpaced(), timezone="America/Chicago"),
        catalog=None,
        transport=transport,
    )


@pytest.fixture
def key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def rt(database_url, key) -> Iterator[Runtime]:
    """A worker runtime on a fresh database, with a scripted transport (script it per test)."""
    runtime = make_runtime(database_url, key, ScriptedTransport())
    runtime.db.create_all()
    yield runtime
    runtime.db.dispose()


@pytest.fixture(autouse=True)
def logs_name_no_one(caplog):
    """Fail any test whose log records carry a phone number or a message body."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        message = record.getMessage()
        assert not any(secret in message for secret in SECRETS), message


@pytest.fixture
def t0() -> datetime:
    return utcnow()


def script(rt, *outcomes) -> ScriptedTransport:
    rt.transport = ScriptedTransport(*outcomes)
    return rt.transport


def add_officer(rt, number=OFFICER) -> int:
    with rt.db.unit_of_work() as session:
        officer = Officer(
            name="Ofc. Rivera",
            phone_hash=rt.pseudonyms.of(number),
            phone_sealed=rt.vault.seal(number),
            created_at=datetime.now(UTC),  # valid whether the table stores naive or aware UTC
        )
        session.add(officer)
        session.commit()
        return officer.id


def add_conversation(rt, number=PARTICIPANT) -> None:
    now = datetime.now(UTC)  # valid whether the table stores naive or aware UTC
    with rt.db.unit_of_work() as session:
        session.add(Conversation(sender_hash=rt.pseudonyms.of(number), created_at=now, updated_at=now))
        session.commit()


def queue(rt, *, to=PARTICIPANT, body=TO_PARTICIPANT, audience="participant", due_at=None, **kw) -> int:
    kw.setdefault("purpose", "update")
    with rt.db.unit_of_work() as session:
        row = outbox.enqueue(session, rt, to=to, body=body, audience=audience, due_at=due_at, **kw)
        session.commit()
        return row.id


def page(rt, t0, officer_id=None, **kw) -> int:
    """Queue an offer to an officer."""
    kw.setdefault("purpose", "offer")
    return queue(rt, to=OFFICER, body=TO_OFFICER, audience="staff", due_at=t0, officer_id=officer_id, **kw)


def stored(rt, row_id) -> OutboxMessage:
    with rt.db.reading() as session:
        return session.get(OutboxMessage, row_id)


def twilio_error(kind, code=None, http_status=None) -> TransportError:
    return TransportError(kind, code=code, http_status=http_status)


# -- sending ---------------------------------------------------------------------------------


def test_a_due_text_is_sent_once_with_the_status_callback(rt, t0):
    row_id = queue(rt, due_at=t0)

    counts = jobs.run_once(rt, now=t0)
    again = jobs.run_once(rt, now=t0 + timedelta(minutes=5))

    assert counts["sent"] == 1 and again["sent"] == 0
    assert rt.transport.delivered == [
        {"kind": "sms", "to": PARTICIPANT, "body": TO_PARTICIPANT, "callback": PUBLIC_URL + "/twilio/status"}
    ]
    row = stored(rt, row_id)
    assert (row.status, row.attempts, row.delivery_status, row.sent_at) == ("sent", 1, "queued", t0)
    assert row.twilio_sid.startswith("SM") and row.locked_until is None


def test_a_call_row_is_placed_with_its_twiml(rt, t0):
    twiml = "<Response><Say>Ride R7K2</Say></Response>"
    row_id = queue(rt, to=OFFICER, body=twiml, audience="staff", kind="call", due_at=t0)

    jobs.run_once(rt, now=t0)

    assert rt.transport.delivered == [
        {"kind": "call", "to": OFFICER, "body": twiml, "callback": PUBLIC_URL + "/twilio/status"}
    ]
    assert stored(rt, row_id).twilio_sid.startswith("CA")


def test_rows_not_yet_due_or_cancelled_are_not_sent(rt, t0):
    later = queue(rt, due_at=t0 + timedelta(minutes=1))
    cancelled = queue(rt, due_at=t0)
    with rt.db.unit_of_work() as session:
        outbox.cancel_pending_to(session, rt.pseudonyms.of(PARTICIPANT))
        session.commit()

    assert jobs.run_once(rt, now=t0)["sent"] == 0
    assert stored(rt, later).status == "cancelled" and stored(rt, cancelled).status == "cancelled"

    later_still = queue(rt, due_at=t0 + timedelta(minutes=1))
    assert jobs.run_once(rt, now=t0)["sent"] == 0
    assert jobs.run_once(rt, now=t0 + timedelta(minutes=1))["sent"] == 1
    assert stored(rt, later_still).status == "sent"


def test_one_unreadable_row_does_not_stop_the_pass(rt, t0):
    bad = queue(rt, due_at=t0 - timedelta(seconds=1))
    with rt.db.unit_of_work() as session:
        session.get(OutboxMessage, bad).to_sealed = "not-a-fernet-token"
        session.commit()
    good = queue(rt, due_at=t0)

    counts = jobs.run_once(rt, now=t0)

    assert (counts["sent"], counts["failed"]) == (1, 1)
    assert (stored(rt, bad).status, stored(rt, bad).error_code) == ("failed", "unreadable")
    assert stored(rt, good).status == "sent"


def test_a_transport_bug_is_treated_as_ambiguous_and_the_pass_goes_on(rt, t0, caplog):
    script(rt, RuntimeError("boom " + PARTICIPANT))
    first = queue(rt, due_at=t0 - timedelta(seconds=1))
    second = queue(rt, due_at=t0)

    counts = jobs.run_once(rt, now=t0)

    assert (counts["failed"], counts["sent"]) == (1, 1)
    assert (stored(rt, first).status, stored(rt, first).error_code) == ("failed", "ambiguous")
    assert stored(rt, second).status == "sent"
    assert any(f"outbox {first}" in r.getMessage() for r in caplog.records)


# -- Twilio's errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        twilio_error(RETRYABLE, 20429, 429),
        twilio_error(RETRYABLE, None, 500),
        twilio_error(RETRYABLE, 30500, 400),
        twilio_error(RETRYABLE),  # connection refused: nothing was sent
    ],
    ids=["429", "500", "30500", "refused"],
)
def test_a_retryable_error_backs_off_then_sends_once(rt, t0, error):
    transport = script(rt, error)
    row_id = queue(rt, due_at=t0)

    first = jobs.run_once(rt, now=t0)
    row = stored(rt, row_id)
    assert first["retry"] == 1 and row.status == "pending" and row.attempts == 1
    assert t0 + timedelta(seconds=1) <= row.due_at <= t0 + timedelta(seconds=2)
    assert row.error_code is None

    assert jobs.run_once(rt, now=t0 + timedelta(milliseconds=900))["sent"] == 0
    assert jobs.run_once(rt, now=row.due_at)["sent"] == 1
    assert jobs.run_once(rt, now=row.due_at + timedelta(hours=1))["sent"] == 0

    assert len(transport.attempts) == 2 and len(transport.delivered) == 1
    assert (stored(rt, row_id).status, stored(rt, row_id).attempts) == ("sent", 2)


def test_retries_stop_after_the_attempt_cap(rt, t0):
    transport = script(rt, *[twilio_error(RETRYABLE, 20429, 429)] * 20)
    row_id = queue(rt, due_at=t0)

    now = t0
    for _ in range(jobs.MAX_ATTEMPTS + 3):
        jobs.run_once(rt, now=now)
        now += timedelta(seconds=timers.BACKOFF_CAP_SECONDS)

    row = stored(rt, row_id)
    assert (row.status, row.error_code, row.attempts) == ("failed", "20429", jobs.MAX_ATTEMPTS)
    assert len(transport.attempts) == jobs.MAX_ATTEMPTS


def test_backoff_grows_with_jitter_and_a_cap():
    for attempts, low, high in [(1, 1, 2), (2, 2, 4), (3, 4, 8), (20, 150, 300)]:
        waits = {timers.backoff(attempts).total_seconds() for _ in range(50)}
        assert all(low <= wait <= high for wait in waits)
        assert len(waits) > 1


def test_21610_to_a_participant_fails_for_good_and_opts_them_out(rt, t0):
    add_conversation(rt)
    transport = script(rt, twilio_error(FINAL, 21610, 400))
    first = queue(rt, due_at=t0 - timedelta(seconds=1))
    second = queue(rt, due_at=t0 + timedelta(minutes=1))

    jobs.run_once(rt, now=t0)
    jobs.run_once(rt, now=t0 + timedelta(hours=1))

    assert (stored(rt, first).status, stored(rt, first).error_code) == ("failed", "21610")
    assert stored(rt, second).status == "cancelled"
    assert len(transport.attempts) == 1
    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).one().opted_out is True


@pytest.mark.parametrize("code", [30006, 21211, 21614])
def test_an_unreachable_officer_goes_to_the_undeliverable_handler(rt, t0, code):
    officer_id = add_officer(rt)
    add_officer(rt, SERGEANT)
    script(rt, twilio_error(FINAL, code, 400))
    row_id = page(rt, t0, officer_id=officer_id)
    seen = []

    def escalate(session, rt, row):
        seen.append((row.id, row.status, row.error_code))
        # The dispatch service would alert the sergeant: its write commits with the failure.
        outbox.enqueue(session, rt, to=SERGEANT, body="Ofc. unreachable", audience="staff", purpose="alert")

    counts = jobs.run_once(rt, now=t0, handlers={"undeliverable": escalate})

    assert counts["failed"] == 1
    assert seen == [(row_id, "failed", str(code))]
    with rt.db.reading() as session:
        alerts = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "alert")).all()
    assert len(alerts) == 1 and alerts[0].status == "pending"


def test_a_failing_undeliverable_handler_loses_only_its_own_writes(rt, t0):
    officer_id = add_officer(rt)
    script(rt, twilio_error(FINAL, 30006, 400))
    row_id = page(rt, t0, officer_id=officer_id)

    def broken(session, rt, row):
        outbox.enqueue(session, rt, to=SERGEANT, body="half done", audience="staff", purpose="alert")
        session.flush()
        raise RuntimeError("dispatch bug")

    jobs.run_once(rt, now=t0, handlers={"undeliverable": broken})

    assert (stored(rt, row_id).status, stored(rt, row_id).error_code) == ("failed", "30006")
    with rt.db.reading() as session:
        assert session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "alert")).all() == []


def test_a_final_error_to_a_participant_calls_no_handler(rt, t0):
    script(rt, twilio_error(FINAL, 30006, 400))
    row_id = queue(rt, due_at=t0)
    seen = []

    jobs.run_once(rt, now=t0, handlers={"undeliverable": lambda *args: seen.append(args)})

    assert stored(rt, row_id).status == "failed" and seen == []


def test_a_timeout_on_a_staff_page_is_retried(rt, t0):
    """At-least-once for staff: a duplicate page is acceptable, a missing one is not."""
    transport = script(rt, twilio_error(AMBIGUOUS))
    row_id = page(rt, t0)

    assert jobs.run_once(rt, now=t0)["retry"] == 1
    jobs.run_once(rt, now=t0 + timedelta(seconds=2))

    assert len(transport.attempts) == 2 and len(transport.delivered) == 1
    assert stored(rt, row_id).status == "sent"


def test_a_timeout_on_a_text_to_a_participant_is_not_sent_again(rt, t0):
    """At-most-once for the person in crisis: flagged for a human, never re-sent blindly."""
    transport = script(rt, twilio_error(AMBIGUOUS))
    row_id = queue(rt, due_at=t0)

    jobs.run_once(rt, now=t0)
    jobs.run_once(rt, now=t0 + timedelta(hours=1))

    assert (stored(rt, row_id).status, stored(rt, row_id).error_code) == ("failed", "ambiguous")
    assert len(transport.attempts) == 1


# -- a worker that dies mid-send -----------------------------------------------------------------


def test_rows_left_mid_send_by_a_dead_worker(rt, t0):
    """After the lease: the staff page goes out again, the participant's text is flagged."""
    staff_row = page(rt, t0)
    participant_row = queue(rt, due_at=t0)
    assert jobs.claim_due_message(rt, now=t0).id == staff_row
    assert jobs.claim_due_message(rt, now=t0).id == participant_row
    assert jobs.claim_due_message(rt, now=t0) is None  # claimed rows are not handed out twice
    # ...and the worker dies here, before sending anything.

    before_lease_ends = t0 + timedelta(seconds=jobs.LEASE_SECONDS - 1)
    assert jobs.run_once(rt, now=before_lease_ends)["sent"] == 0
    after_lease = t0 + timedelta(seconds=jobs.LEASE_SECONDS + 1)
    jobs.run_once(rt, now=after_lease)
    jobs.run_once(rt, now=after_lease + timedelta(hours=1))

    assert [r["body"] for r in rt.transport.delivered] == [TO_OFFICER]
    assert (stored(rt, staff_row).status, stored(rt, staff_row).attempts) == ("sent", 2)
    participant = stored(rt, participant_row)
    assert (participant.status, participant.error_code) == ("failed", "ambiguous")


def test_a_worker_killed_during_the_send_leaves_the_row_to_the_lease(rt, t0):
    script(rt, SystemExit(1))
    row_id = page(rt, t0)

    with pytest.raises(SystemExit):
        jobs.run_once(rt, now=t0)
    assert stored(rt, row_id).status == "sending"

    jobs.run_once(rt, now=t0 + timedelta(seconds=jobs.LEASE_SECONDS + 1))
    assert stored(rt, row_id).status == "sent"
    assert len(rt.transport.delivered) == 1


def test_a_late_result_from_a_stale_claim_does_not_undo_the_new_one(rt, t0):
    row_id = page(rt, t0)
    stale = jobs.claim_due_message(rt, now=t0)
    fresh = jobs.claim_due_message(rt, now=t0 + timedelta(seconds=jobs.LEASE_SECONDS + 1))
    assert fresh.id == stale.id == row_id and fresh.attempts == 2

    outcome = jobs.record_failure(rt, stale, twilio_error(RETRYABLE, 20429, 429), now=t0, handlers={})

    assert outcome == "stale"
    assert (stored(rt, row_id).status, stored(rt, row_id).attempts) == ("sending", 2)


# -- many workers --------------------------------------------------------------------------------


def _timer_enqueues(session, rt, timer):
    outbox.enqueue(session, rt, to=OFFICER, body=f"timer {timer.id}", audience="staff", purpose="alert")


def _worker_process(url, key, ready, go, results):
    """One worker process: send everything due, then report what it sent."""
    rt = make_runtime(url, key, ScriptedTransport(delay=0.002))
    ready.put("ready")
    go.wait(60)
    while True:
        counts = jobs.run_once(rt, limit=10, handlers={"count": _timer_enqueues})
        if not any(counts.values()):
            break
    results.put([request["body"] for request in rt.transport.delivered])
    rt.db.dispose()


@pytest.mark.slow
def test_two_worker_processes_send_every_row_and_fire_every_timer_exactly_once(rt, database_url, key):
    now = utcnow()
    with rt.db.unit_of_work() as session:
        for n in range(100):
            outbox.enqueue(session, rt, to=OFFICER, body=f"row {n}", audience="staff", purpose="alert")
        for _ in range(20):
            timers.schedule_timer(session, kind="count", due_at=now)
        session.commit()

    context = multiprocessing.get_context("spawn")  # never fork a process holding connections
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    processes = [
        context.Process(target=_worker_process, args=(database_url, key, ready, go, results))
        for _ in range(2)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=60)
    go.set()
    sent = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0

    everything = sent[0] + sent[1]
    with rt.db.reading() as session:
        timer_ids = session.exec(select(Timer.id)).all()
        rows = session.exec(select(OutboxMessage)).all()
        fired = session.exec(select(Timer)).all()
    expected = [f"row {n}" for n in range(100)] + [f"timer {i}" for i in timer_ids]
    assert sorted(everything) == sorted(expected)  # each exactly once: none lost, none twice
    assert sent[0] and sent[1], "both processes should have taken part"
    assert len(rows) == 120 and {(r.status, r.attempts) for r in rows} == {("sent", 1)}
    assert len({r.twilio_sid for r in rows}) == 120
    assert {t.status for t in fired} == {"done"}


# -- timers --------------------------------------------------------------------------------------


def add_timer(rt, due_at, kind="offer_expired", **kw) -> int:
    with rt.db.unit_of_work() as session:
        timer = timers.schedule_timer(session, kind=kind, due_at=due_at, **kw)
        session.commit()
        return timer.id


def stored_timer(rt, timer_id) -> Timer:
    with rt.db.reading() as session:
        return session.get(Timer, timer_id)


def test_a_due_timer_fires_once_together_with_its_writes(rt, t0):
    timer_id = add_timer(rt, t0, payload={"offer": 7})
    fired = []

    def expire(session, rt, timer):
        fired.append(json.loads(timer.payload))
        outbox.enqueue(session, rt, to=SERGEANT, body="nobody accepted", audience="staff", purpose="alert")

    handlers = {"offer_expired": expire}
    assert jobs.run_once(rt, now=t0 - timedelta(seconds=1), handlers=handlers)["timers"] == 0
    assert jobs.run_once(rt, now=t0, handlers=handlers)["timers"] == 1
    assert jobs.run_once(rt, now=t0 + timedelta(hours=1), handlers=handlers)["timers"] == 0

    assert fired == [{"offer": 7}]
    timer = stored_timer(rt, timer_id)
    assert (timer.status, timer.fired_at, timer.attempts) == ("done", t0, 0)
    # The alert it queued was sent by the next pass: one pass fires, a later one sends.
    assert [r["body"] for r in rt.transport.delivered] == ["nobody accepted"]


def test_a_handler_that_raises_rolls_back_and_the_timer_fires_later(rt, t0):
    timer_id = add_timer(rt, t0)
    calls = []

    def flaky(session, rt, timer):
        calls.append(timer.id)
        outbox.enqueue(session, rt, to=SERGEANT, body="escalated", audience="staff", purpose="alert")
        session.flush()
        if len(calls) == 1:
            raise RuntimeError("database hiccup")

    handlers = {"offer_expired": flaky}
    counts = jobs.run_once(rt, now=t0, handlers=handlers)

    assert counts["timer_errors"] == 1
    timer = stored_timer(rt, timer_id)
    assert (timer.status, timer.attempts) == ("pending", 1)
    with rt.db.reading() as session:
        assert session.exec(select(OutboxMessage)).all() == []

    assert jobs.run_once(rt, now=t0 + timedelta(seconds=2), handlers=handlers)["timers"] == 1
    assert stored_timer(rt, timer_id).status == "done"
    with rt.db.reading() as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_a_timer_that_keeps_failing_is_given_up(rt, t0):
    timer_id = add_timer(rt, t0)

    def broken(session, rt, timer):
        raise RuntimeError("always")

    now = t0
    for _ in range(timers.MAX_TIMER_ATTEMPTS + 2):
        jobs.run_once(rt, now=now, handlers={"offer_expired": broken})
        now += timedelta(minutes=10)

    timer = stored_timer(rt, timer_id)
    assert (timer.status, timer.attempts) == ("failed", timers.MAX_TIMER_ATTEMPTS)


def test_a_timer_of_unknown_kind_stays_pending_and_is_logged_once(rt, t0, caplog):
    timer_id = add_timer(rt, t0, kind="from_a_newer_release")
    handlers = {"offer_expired": lambda *args: None}

    for _ in range(3):
        jobs.run_once(rt, now=t0, handlers=handlers)

    assert stored_timer(rt, timer_id).status == "pending"
    mentions = [r for r in caplog.records if f"timer {timer_id} has unknown kind" in r.getMessage()]
    assert len(mentions) == 1


def test_timers_are_deduplicated_and_cancelled_by_dispatch(rt, t0):
    with rt.db.unit_of_work() as session:
        first = timers.schedule_timer(session, kind="offer_expired", due_at=t0, dedupe_key="offer:9")
        again = timers.schedule_timer(session, kind="offer_expired", due_at=t0, dedupe_key="offer:9")
        session.commit()
    assert first is not None and again is None

    with rt.db.unit_of_work() as session:
        from models import Dispatch

        dispatch = Dispatch(ref="R7K2", created_at=datetime.now(UTC), updated_at=datetime.now(UTC))
        session.add(dispatch)
        session.flush()
        timers.schedule_timer(session, kind="offer_expired", due_at=t0, dispatch_id=dispatch.id)
        timers.schedule_timer(session, kind="escalate", due_at=t0, dispatch_id=dispatch.id)
        assert timers.cancel_timers(session, dispatch_id=dispatch.id, kind="offer_expired") == 1
        session.commit()

    fired = []
    handlers = {kind: (lambda s, r, t: fired.append(t.kind)) for kind in ("offer_expired", "escalate")}
    jobs.run_once(rt, now=t0, handlers=handlers)
    assert sorted(fired) == ["escalate", "offer_expired"]  # the deduplicated one and "escalate"


def test_register_adds_to_the_default_handlers(rt, t0):
    timer_id = add_timer(rt, t0, kind="test_registered_kind")
    seen = []
    try:
        timers.register("test_registered_kind")(lambda session, rt, timer: seen.append(timer.id))
        jobs.run_once(rt, now=t0)
    finally:
        timers.HANDLERS.pop("test_registered_kind", None)
    assert seen == [timer_id]


# -- run_forever ---------------------------------------------------------------------------------


def test_run_forever_sends_until_stopped(rt):
    row_id = queue(rt, due_at=utcnow() - timedelta(seconds=1))
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever, args=(rt,), kwargs={"poll_seconds": 0.05, "stop_event": stop}
    )
    thread.start()
    deadline = time.monotonic() + 10
    while stored(rt, row_id).status != "sent" and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(5)

    assert not thread.is_alive()
    assert stored(rt, row_id).status == "sent"


def test_run_forever_survives_a_database_without_tables(tmp_path, key, caplog):
    rt = make_runtime(f"sqlite:///{tmp_path / 'empty.sqlite3'}", key, ScriptedTransport())
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever, args=(rt,), kwargs={"poll_seconds": 0.05, "stop_event": stop}
    )
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()
    stop.set()
    thread.join(5)
    rt.db.dispose()

    assert not thread.is_alive()
    assert any("worker pass failed: OperationalError" in r.getMessage() for r in caplog.records)


def test_the_most_overdue_row_goes_first(rt, t0):
    queue(rt, body="second", due_at=t0 - timedelta(seconds=1))
    queue(rt, body="first", due_at=t0 - timedelta(seconds=5))

    jobs.run_once(rt, now=t0)

    assert [r["body"] for r in rt.transport.delivered] == ["first", "second"]
