"""The purge: what is past the program's retention periods is erased, here and at Twilio; counts stay.

Each test names the promise of docs/privacy.md it holds the code to. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlmodel import col, func, select

from hotline import cli, create_app, worker
from hotline.plumbing import jobs, outbox
from hotline.plumbing.runtime import runtime
from hotline.plumbing.transport import AMBIGUOUS, FINAL, RETRYABLE, TransportError
from hotline.services import retention
from models import Conversation, Dispatch, DispatchEvent, InboundMessage, OutboxMessage, Timer
from models.clock import utcnow
from models.outbox import ERASED
from tests.privacy_support import PLACE, RELAY, get, redacted_sids, sealed_values, seed
from tests.support import REPO, FakeTransport, hotline_config

SENDER = "+18165557001"
OTHER = "+18165557002"


@pytest.fixture
def now():
    return utcnow().replace(microsecond=0)


def erased(rt, world) -> dict[str, bool]:
    """Tell, for each personal value of a seeded world, whether it is gone."""
    conversation = get(rt, Conversation, world.conversation_id)
    ride = get(rt, Dispatch, world.dispatch_id)
    event = get(rt, DispatchEvent, world.event_id)
    to_participant = get(rt, OutboxMessage, world.to_participant)
    to_staff = get(rt, OutboxMessage, world.to_staff)
    with rt.db.reading() as session:
        inbound = session.exec(select(InboundMessage).where(InboundMessage.sid == world.inbound_sid)).one()
    return {
        "conversation data": conversation.data_sealed is None,
        "place": ride.place_sealed is None,
        "contact": ride.contact_sealed is None,
        "relayed text": event.detail_sealed is None,
        "text to participant": to_participant.body_sealed is None,
        "participant number": to_participant.to_sealed == ERASED,
        "text to staff": to_staff.body_sealed is None,
        "inbound reply": inbound.reply_sealed is None,
    }


def test_old_texts_places_and_numbers_are_erased_and_counts_stay(rt, now):
    """privacy.md P3 and P4: after 30 days nothing personal is left; the request still counts."""
    world = seed(rt, now - timedelta(days=31), sender=SENDER)
    before = get(rt, Dispatch, world.dispatch_id)
    assert not any(erased(rt, world).values()), "the seeded world holds personal data"

    counts = retention.purge_all(rt, now=now)

    assert all(erased(rt, world).values()), erased(rt, world)
    assert not [v for v in sealed_values(rt) if PLACE in (v[2] or "") or RELAY in (v[2] or "")]
    after = get(rt, Dispatch, world.dispatch_id)
    kept = (
        "ref",
        "kind",
        "status",
        "outcome",
        "handover",
        "weapons",
        "warrant",
        "meet",
        "consent",
        "created_at",
    )
    assert {f: getattr(after, f) for f in kept} == {f: getattr(before, f) for f in kept}
    staff = get(rt, OutboxMessage, world.to_staff)
    assert (staff.status, staff.delivery_status, staff.purpose, staff.twilio_sid) == (
        "sent",
        "delivered",
        "offer",
        world.staff_sid,
    )
    with rt.db.reading() as session:
        assert session.exec(select(func.count()).select_from(InboundMessage)).one() == 2, "SIDs stay"
    assert counts["request_places"] == 1 and counts["redactions"] == 3


def test_what_is_younger_than_the_period_is_kept(rt, now):
    """privacy.md P3: kept for 30 days (an open request keeps everything it needs)."""
    world = seed(rt, now - timedelta(days=29), sender=SENDER, status="accepted")

    retention.purge_all(rt, now=now)

    assert not any(erased(rt, world).values()), erased(rt, world)
    assert redacted_sids(rt) == []


def test_the_contact_number_goes_when_the_request_closes(rt, now):
    """privacy.md P2: a closed request keeps no number, however recent; its place stays 30 days."""
    world = seed(rt, now - timedelta(hours=2), sender=SENDER, status="completed")

    retention.purge_all(rt, now=now)

    gone = erased(rt, world)
    assert gone["contact"] and gone["participant number"]
    assert not gone["place"] and not gone["text to participant"] and not gone["relayed text"]
    assert get(rt, OutboxMessage, world.to_staff).to_sealed != ERASED, (
        "officers' numbers are not the participant's"
    )


def test_a_text_still_queued_keeps_its_number(rt, now):
    """privacy.md P2: a text on its way is never purged under the worker's feet."""
    world = seed(rt, now - timedelta(days=40), sender=SENDER, status="cancelled", outbox_status="pending")

    retention.purge_all(rt, now=now)

    queued = get(rt, OutboxMessage, world.to_participant)
    assert rt.vault.open(queued.to_sealed) == SENDER and queued.body_sealed is not None


def test_inbound_replies_follow_their_own_shorter_period(tmp_path, database_url, transport, now):
    """privacy.md P3: the replies kept for Twilio's retries go after inbound_log_days."""
    text = (
        (REPO / "hotline" / "program.toml")
        .read_text()
        .replace("inbound_log_days = 30", "inbound_log_days = 2")
    )
    (tmp_path / "program.toml").write_text(text)
    app = create_app(
        hotline_config(database_url, HOTLINE_PROGRAM=str(tmp_path / "program.toml")),
        transport=transport,
        environ={},
    )
    rt = runtime(app)
    rt.db.create_all()
    try:
        world = seed(rt, now - timedelta(days=3), sender=SENDER, status="accepted")
        retention.purge_all(rt, now=now)
        gone = erased(rt, world)
    finally:
        rt.db.dispose()
    assert gone["inbound reply"]
    assert not gone["place"] and not gone["conversation data"] and not gone["text to participant"]


@pytest.mark.parametrize("days", [0, -1])
def test_a_retention_period_under_a_day_is_refused(tmp_path, days):
    from hotline.plumbing.config import ConfigError
    from hotline.plumbing.program import load_program

    text = (
        (REPO / "hotline" / "program.toml").read_text().replace("message_days = 30", f"message_days = {days}")
    )
    (tmp_path / "program.toml").write_text(text)
    with pytest.raises(ConfigError, match="retention"):
        load_program(tmp_path / "program.toml")


# -- Twilio's copies ------------------------------------------------------------------------------


def test_twilio_copies_of_old_messages_are_redacted_once_each(rt, now):
    """privacy.md P3: Twilio's copies of texts both ways are emptied; calls and voice steps are no texts."""
    world = seed(rt, now - timedelta(days=31), sender=SENDER)

    retention.purge_all(rt, now=now)
    retention.purge_all(rt, now=now + timedelta(hours=1))  # the next hour's run: nothing new

    queued = redacted_sids(rt)
    assert sorted(queued) == sorted([world.inbound_sid, world.participant_sid, world.staff_sid])
    assert world.call_sid not in queued and world.voice_sid not in queued

    counts = jobs.run_once(rt, now=utcnow())

    assert counts["sent"] == 3
    assert sorted(s["sid"] for s in rt.transport.sent if s["kind"] == "redact") == sorted(queued)
    with rt.db.reading() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == outbox.REDACT)).all()
        assert {row.status for row in rows} == {"sent"}
        assert all(row.to_sealed == ERASED and row.body_sealed is None for row in rows)


def test_a_message_sid_is_only_redacted_when_it_is_one(rt):
    with rt.db.unit_of_work() as session:
        assert outbox.enqueue_redaction(session, "CA" + "0" * 32) is None
        assert outbox.enqueue_redaction(session, "SM" + "0" * 32 + "x") is None
        assert outbox.enqueue_redaction(session, "SMnot-a-sid") is None
        assert outbox.enqueue_redaction(session, "MM" + "0" * 32) is not None
        assert outbox.enqueue_redaction(session, "MM" + "0" * 32) is None, "once per message"
        session.commit()
    assert redacted_sids(rt) == ["MM" + "0" * 32]
    many = ["SM" + uuid.uuid4().hex for _ in range(450)]
    with rt.db.unit_of_work() as session:
        assert (
            outbox.enqueue_redactions(session, [*many, *many, "MM" + "0" * 32, "CA" + "1" * 32, None]) == 450
        )
        assert outbox.enqueue_redactions(session, many) == 0
        session.commit()
    assert len(redacted_sids(rt)) == 451


class FailingRedactions(FakeTransport):
    """Twilio answers redactions with the scripted errors, then takes them."""

    def __init__(self, *errors):
        super().__init__()
        self.errors = list(errors)

    def redact_message(self, sid):
        self.sent.append({"kind": "redact", "sid": sid})
        if self.errors:
            raise self.errors.pop(0)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (TransportError(RETRYABLE, code=20429, http_status=429), "pending"),
        (TransportError(AMBIGUOUS, reason="ReadTimeout"), "pending"),  # harmless to repeat
        (TransportError(FINAL, code=20404, http_status=404), "failed"),
    ],
    ids=["rate limited", "timed out", "gone at Twilio"],
)
def test_a_failed_redaction_is_retried_unless_twilio_refused_it(rt, now, error, status):
    """privacy.md P3: a Twilio outage delays the erasure of its copies; it does not drop it."""
    rt.transport = FailingRedactions(error)
    with rt.db.unit_of_work() as session:
        outbox.enqueue_redaction(session, "SM" + "1" * 32)
        session.commit()

    jobs.run_once(rt, now=utcnow())

    with rt.db.reading() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.kind == outbox.REDACT)).one()
    assert row.status == status
    if status == "pending":
        jobs.run_once(rt, now=utcnow() + timedelta(minutes=10))
        assert get(rt, OutboxMessage, row.id).status == "sent"
        assert [s["sid"] for s in rt.transport.sent] == ["SM" + "1" * 32] * 2
    else:
        assert row.error_code == "20404"


def test_redactions_never_hold_up_a_page(rt, now):
    """A month of redactions queued at once goes out after the alert that came later."""
    with rt.db.unit_of_work() as session:
        for _ in range(3):
            outbox.enqueue_redaction(session, "SM" + uuid.uuid4().hex)
        session.flush()
        outbox.enqueue(
            session,
            rt,
            to="+18165550100",
            body="SAFE PASSAGE alert",
            audience="staff",
            purpose="alert",
            due_at=now,
        )
        session.commit()

    jobs.run_once(rt, now=utcnow() + timedelta(seconds=1), limit=1)

    assert [s["kind"] for s in rt.transport.sent] == ["sms"]


# -- the worker's hourly purge --------------------------------------------------------------------


def pending_purges(rt) -> list[Timer]:
    with rt.db.reading() as session:
        query = select(Timer).where(Timer.kind == retention.PURGE, Timer.status == "pending")
        return list(session.exec(query.order_by(col(Timer.due_at))).all())


def test_the_worker_purges_every_hour(rt, now):
    """privacy.md P3: the erasure runs every hour, without anyone running a command."""
    world = seed(rt, now - timedelta(days=31), sender=SENDER)
    assert retention.ensure_purge_timer(rt, now=now)
    assert not retention.ensure_purge_timer(rt, now=now), "one purge pending at a time"
    (timer,) = pending_purges(rt)
    assert timer.due_at == now.replace(minute=0, second=0) + timedelta(hours=1)

    jobs.run_once(rt, now=timer.due_at - timedelta(seconds=1))
    assert not erased(rt, world)["place"], "not before it is due"
    counts = jobs.run_once(rt, now=timer.due_at)

    assert counts["timers"] == 1
    assert all(erased(rt, world).values())
    (following,) = pending_purges(rt)
    assert following.due_at == timer.due_at + timedelta(hours=1)


def test_two_workers_starting_two_purge_chains_end_with_one(rt, now):
    """Workers started in different hours each schedule a purge; the chains merge at the next hour."""
    with rt.db.unit_of_work() as session:
        retention.schedule_purge(session, now=now)
        retention.schedule_purge(session, now=now + timedelta(hours=1))
        session.commit()
    first, second = pending_purges(rt)

    jobs.run_once(rt, now=second.due_at)

    assert [t.due_at for t in pending_purges(rt)] == [second.due_at + timedelta(hours=1)]


def test_a_big_backlog_is_purged_in_batches_and_caught_up_soon(rt, now, monkeypatch):
    for n in range(5):
        seed(rt, now - timedelta(days=40), sender=f"+1816555710{n}")
    with rt.db.unit_of_work() as session:
        first = retention.purge(session, rt, now=now, limit=2)
        session.commit()
    assert first["request_places"] == 2

    totals = retention.purge_all(rt, now=now, limit=2)

    assert totals["request_places"] == 3
    with rt.db.reading() as session:
        assert session.exec(select(Dispatch).where(col(Dispatch.place_sealed).is_not(None))).all() == []
    monkeypatch.setattr(retention, "BATCH", 1)
    seed(rt, now - timedelta(days=40), sender=OTHER)
    seed(rt, now - timedelta(days=40), sender="+18165557003")
    retention.ensure_purge_timer(rt, now=now)
    (timer,) = pending_purges(rt)
    jobs.run_once(rt, now=timer.due_at, limit=1)
    (catch_up,) = pending_purges(rt)
    assert catch_up.due_at - timer.due_at <= timedelta(minutes=2), "a backlog is worked off within minutes"


def test_a_purge_that_fails_changes_nothing_and_is_tried_again(rt, now):
    """A database or program failure mid-purge rolls the whole batch back; the timer stays pending."""
    world = seed(rt, now - timedelta(days=31), sender=SENDER)
    retention.ensure_purge_timer(rt, now=now)
    (timer,) = pending_purges(rt)
    program, rt.program = rt.program, None  # the purge cannot read its periods
    try:
        counts = jobs.run_once(rt, now=timer.due_at)
    finally:
        rt.program = program

    assert counts["timer_errors"] == 1
    assert not any(erased(rt, world).values())
    (again,) = pending_purges(rt)
    assert again.id == timer.id and again.attempts == 1

    jobs.run_once(rt, now=timer.due_at + timedelta(minutes=5))
    assert all(erased(rt, world).values())


def _purge_in_a_process(url: str, key: str, now, barrier) -> None:
    app = create_app(hotline_config(url, HOTLINE_ENCRYPTION_KEYS=key), environ={})
    rt = runtime(app)
    barrier.wait(10)
    try:
        retention.purge_all(rt, now=now, limit=3)
    finally:
        rt.db.dispose()


@pytest.mark.slow
def test_two_processes_purging_at_once_queue_each_redaction_once(database_url, tmp_path, now):
    """The worker's purge and an operator's `hotline purge` may run together: each SID is queued once."""
    key = Fernet.generate_key().decode()
    app = create_app(hotline_config(database_url, HOTLINE_ENCRYPTION_KEYS=key), environ={})
    rt = runtime(app)
    rt.db.create_all()
    try:
        worlds = [seed(rt, now - timedelta(days=31), sender=f"+1816555720{n}") for n in range(4)]
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(2)
        processes = [
            context.Process(target=_purge_in_a_process, args=(database_url, key, now, barrier))
            for _ in range(2)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        assert [p.exitcode for p in processes] == [0, 0]
        queued = redacted_sids(rt)
        assert len(queued) == len(set(queued)) == 3 * len(worlds)
        assert all(all(erased(rt, world).values()) for world in worlds)
    finally:
        rt.db.dispose()


# -- by hand --------------------------------------------------------------------------------------


def test_hotline_purge_runs_it_by_hand(database_url, monkeypatch, tmp_path, now):
    """privacy.md P3: `hotline purge` runs the erasure at once."""
    for name, value in hotline_config(database_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    app = create_app(environ=dict(hotline_config(database_url)))
    rt = runtime(app)
    rt.db.create_all()
    try:
        world = seed(rt, utcnow() - timedelta(days=31), sender=SENDER)
        result = CliRunner().invoke(cli.main, ["purge"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        assert "request places: 1" in result.output and "redactions: 3" in result.output
        assert all(erased(rt, world).values())
        again = CliRunner().invoke(cli.main, ["purge"], catch_exceptions=False)
        assert "request places: 0" in again.output
    finally:
        rt.db.dispose()


def test_hotline_purge_fails_loudly_without_a_database(monkeypatch, tmp_path):
    for name, value in hotline_config(f"sqlite:///{tmp_path / 'none.sqlite3'}").items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli.main, ["purge"])
    assert result.exit_code != 0


def test_a_running_worker_keeps_a_purge_scheduled(rt):
    """privacy.md P3: starting `hotline worker` is enough for the hourly erasure to happen."""
    import threading
    import time

    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever, args=(rt,), kwargs={"poll_seconds": 0.05, "stop_event": stop}
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not pending_purges(rt) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(5)
    assert len(pending_purges(rt)) == 1
