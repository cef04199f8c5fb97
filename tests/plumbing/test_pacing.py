"""The outbox's order and pace: offers and alerts first, each number held to its rate in segments.

Runs on SQLite and PostgreSQL (the `database_url` fixture of tests/conftest.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from sqlmodel import select

from hotline.plumbing import jobs, outbox, pacing
from hotline.plumbing.config import ConfigError
from hotline.plumbing.db import Database
from hotline.plumbing.privacy import Pseudonyms, Vault
from hotline.plumbing.program import Limits, Sending, load_program
from hotline.plumbing.runtime import Runtime
from hotline.plumbing.transport import LocalTransport
from models import OutboxMessage
from models.clock import utcnow

HOTLINE = "+18165550000"
STAFF_LINE = "+18165550199"
PARTICIPANT = "+18165550142"
OFFICER = "+18165550123"
ONE_SEGMENT = "Update on your request R7K2: an officer is on the way."
TWO_SEGMENTS = "x" * 200  # GSM-7: 153 characters a segment once split
T0 = datetime(2026, 3, 1, 12, 0, 0)


class Stopwatch:
    """A transport that notes when each text was handed over, by which number, and its segments."""

    def __init__(self, clock=None):
        self.now = T0
        self.clock = clock
        self.handed: list[tuple[str, datetime, int, str]] = []

    def send_sms(self, *, to, body, status_callback=None, sender="main"):
        from flows.texts import segments

        self.handed.append((sender, self.clock() if self.clock else self.now, segments(body)[1], body))
        return LocalTransport().send_sms(to=to, body=body, status_callback=status_callback)


def make_runtime(url: str, *, staff_number: str | None = None, sending: Sending | None = None) -> Runtime:
    config = {"HOTLINE_PUBLIC_URL": "https://hotline.example.org", "TWILIO_PHONE_NUMBER": HOTLINE}
    if staff_number:
        config["TWILIO_STAFF_NUMBER"] = staff_number
    return Runtime(
        config=config,
        db=Database(url),
        vault=Vault(Fernet.generate_key().decode()),
        pseudonyms=Pseudonyms("test-secret"),
        program=SimpleNamespace(limits=Limits(), sending=sending or Sending(), timezone="America/Chicago"),
        catalog=None,
        transport=Stopwatch(),
    )


@pytest.fixture
def rt(database_url) -> Iterator[Runtime]:
    """One number at the default 1 segment a second."""
    runtime = make_runtime(database_url)
    runtime.db.create_all()
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def two_numbers(database_url) -> Iterator[Runtime]:
    """A hotline number and a staff number, each at 1 segment a second."""
    runtime = make_runtime(database_url, staff_number=STAFF_LINE)
    runtime.db.create_all()
    yield runtime
    runtime.db.dispose()


def queue(rt, *, audience="participant", purpose="update", body=ONE_SEGMENT, at=T0, kind="sms") -> int:
    to = OFFICER if audience == "staff" else PARTICIPANT
    with rt.db.unit_of_work() as session:
        row = outbox.enqueue(
            session, rt, to=to, body=body, audience=audience, purpose=purpose, due_at=at, kind=kind
        )
        session.commit()
        return row.id


def claim(rt, now) -> int | None:
    row = jobs.claim_due_message(rt, now=now)
    return row.id if row is not None else None


def status_of(rt, row_id) -> str:
    with rt.db.reading() as session:
        return session.get(OutboxMessage, row_id).status


# -- order -----------------------------------------------------------------------------------------


def test_an_offer_and_an_alert_go_before_older_participant_updates(rt):
    updates = [queue(rt, at=T0 + timedelta(seconds=n)) for n in range(3)]
    offer = queue(rt, audience="staff", purpose="offer", at=T0 + timedelta(seconds=5))
    alert = queue(rt, audience="staff", purpose="alert", at=T0 + timedelta(seconds=6))
    notice = queue(rt, audience="staff", purpose="notice", at=T0 + timedelta(seconds=4))

    order = [claim(rt, T0 + timedelta(seconds=10 + n)) for n in range(6)]

    assert order == [offer, alert, notice, *updates]


def test_an_offer_leaves_before_the_alert_written_with_it(rt):
    """The request's alert to the sergeant is written first, in the same commit: the officer's offer
    still leaves first, so the ride starts moving one message sooner on a paced number."""
    alert = queue(rt, audience="staff", purpose="alert", at=T0)
    offer = queue(rt, audience="staff", purpose="offer", at=T0)

    assert [claim(rt, T0 + timedelta(seconds=10 + n)) for n in range(2)] == [offer, alert]


def test_without_priority_the_oldest_goes_first(database_url):
    rt = make_runtime(database_url, sending=Sending(by_priority=False))
    rt.db.create_all()
    update = queue(rt, at=T0)
    offer = queue(rt, audience="staff", purpose="offer", at=T0 + timedelta(seconds=1))

    assert [claim(rt, T0 + timedelta(seconds=10 + n)) for n in range(2)] == [update, offer]
    rt.db.dispose()


def test_priority_is_set_by_audience_and_purpose():
    assert outbox.priority_of("staff", "offer") == outbox.priority_of("staff", "bridge") == outbox.DISPATCH
    assert outbox.priority_of("staff", "relay", "call") == outbox.DISPATCH
    assert outbox.priority_of("staff", "alert") == outbox.URGENT
    assert outbox.priority_of("staff", "notice") == outbox.STAFF_TEXT
    assert outbox.priority_of("participant", "update") == outbox.PARTICIPANT
    assert outbox.priority_of("twilio", "redact", "redact") == outbox.CLEANUP


# -- pace ------------------------------------------------------------------------------------------


def test_a_number_gets_one_segment_a_second_and_a_paced_row_waits_pending(rt):
    first, second = queue(rt), queue(rt)

    assert claim(rt, T0) == first
    assert claim(rt, T0 + timedelta(milliseconds=999)) is None
    assert status_of(rt, second) == "pending"
    assert claim(rt, T0 + timedelta(seconds=1)) == second


def test_a_two_segment_text_holds_the_number_two_seconds(rt):
    long, short = queue(rt, body=TWO_SEGMENTS), queue(rt)

    assert claim(rt, T0) == long
    assert claim(rt, T0 + timedelta(milliseconds=1999)) is None
    assert claim(rt, T0 + timedelta(seconds=2)) == short


def test_the_rate_comes_from_the_program(database_url):
    rt = make_runtime(database_url, sending=Sending(main_segments_per_second=4))
    rt.db.create_all()
    rows = [queue(rt) for _ in range(3)]

    assert [claim(rt, T0 + timedelta(milliseconds=250 * n)) for n in range(3)] == rows
    rt.db.dispose()


def test_the_staff_number_is_paced_apart_from_the_hotline_number(two_numbers):
    update = queue(two_numbers)
    offer = queue(two_numbers, audience="staff", purpose="offer")
    later_update = queue(two_numbers)

    assert claim(two_numbers, T0) == offer
    assert claim(two_numbers, T0) == update  # the hotline number is still free
    assert claim(two_numbers, T0) is None
    assert claim(two_numbers, T0 + timedelta(seconds=1)) == later_update
    with two_numbers.db.reading() as session:
        senders = {row.id: row.sender for row in session.exec(select(OutboxMessage))}
    assert senders == {update: "main", offer: "staff", later_update: "main"}


def test_without_a_staff_number_staff_texts_share_the_hotline_numbers_pace(rt):
    offer = queue(rt, audience="staff", purpose="offer")
    update = queue(rt)

    assert claim(rt, T0) == offer
    assert claim(rt, T0) is None
    assert claim(rt, T0 + timedelta(seconds=1)) == update


def test_staff_rows_queued_with_a_staff_number_keep_the_pace_of_the_number_that_sends_them(database_url):
    """The staff number is removed while its rows wait: they go from the hotline number, at its pace."""
    with_staff = make_runtime(database_url, staff_number=STAFF_LINE)
    with_staff.db.create_all()
    offer = queue(with_staff, audience="staff", purpose="offer")
    update = queue(with_staff)
    one_number = make_runtime(database_url)
    one_number.vault = with_staff.vault

    assert claim(one_number, T0) == offer
    assert claim(one_number, T0) is None
    assert claim(one_number, T0 + timedelta(seconds=1)) == update
    with_staff.db.dispose()
    one_number.db.dispose()


def test_calls_and_redactions_are_not_paced(rt):
    with rt.db.unit_of_work() as session:
        redaction = outbox.enqueue_redaction(session, "SM" + "a" * 32).id  # due now
        session.commit()
    moment = utcnow() + timedelta(seconds=1)
    text = queue(rt, at=moment)
    call = queue(rt, audience="staff", purpose="bridge", body="<Response/>", kind="call", at=moment)

    assert claim(rt, moment) == call
    assert claim(rt, moment) == text
    assert claim(rt, moment) == redaction


def test_the_worker_is_told_when_the_number_frees_up(rt):
    queue(rt, body=TWO_SEGMENTS)
    queue(rt)

    counts = jobs.run_once(rt, now=T0)

    assert counts["sent"] == 1
    assert counts["paced_ms"] == 2000
    assert pacing.seconds_until_free(rt, now=T0 + timedelta(seconds=2)) is None


def test_a_transport_that_sends_nothing_is_not_paced(rt):
    rows = [queue(rt), queue(rt)]
    rt.transport = LocalTransport()

    assert [claim(rt, T0), claim(rt, T0)] == rows


def test_nothing_waiting_means_no_early_wake_up(rt):
    queue(rt)
    jobs.run_once(rt, now=T0)

    assert "paced_ms" not in jobs.run_once(rt, now=T0 + timedelta(milliseconds=10))


def test_workers_claiming_at_once_never_drive_a_number_above_its_rate(rt):
    """Eight claimers at the same moment: one text leaves; a second later, one more."""
    rows = [queue(rt) for _ in range(6)]
    barrier = threading.Barrier(8)
    claimed: list[int | None] = []

    def claimer(moment):
        barrier.wait(10)
        claimed.append(claim(rt, moment))

    for moment in (T0, T0 + timedelta(seconds=1)):
        threads = [threading.Thread(target=claimer, args=(moment,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        barrier.reset()

    assert sorted(row for row in claimed if row is not None) == rows[:2]
    assert claimed.count(None) == 14


# -- the program file ------------------------------------------------------------------------------


def test_sending_rates_are_read_from_the_program_file(tmp_path):
    from hotline.plumbing.config import DEFAULT_PROGRAM

    text = DEFAULT_PROGRAM.read_text(encoding="utf-8")
    assert load_program(DEFAULT_PROGRAM).sending == Sending(1.0, 1.0, True)
    path = tmp_path / "program.toml"
    path.write_text(text.replace("staff_segments_per_second = 1 ", "staff_segments_per_second = 3 "))
    assert load_program(path).sending.staff_segments_per_second == 3.0


@pytest.mark.parametrize("value", ["0", "-1", "5000", "true", '"fast"'])
def test_a_wrong_rate_stops_the_start(tmp_path, value):
    from hotline.plumbing.config import DEFAULT_PROGRAM

    text = DEFAULT_PROGRAM.read_text(encoding="utf-8")
    path = tmp_path / "program.toml"
    path.write_text(text.replace("main_segments_per_second = 1 ", f"main_segments_per_second = {value} "))
    with pytest.raises(ConfigError, match="main_segments_per_second"):
        load_program(path)


def test_a_busy_worker_never_hands_a_number_more_than_its_rate(database_url):
    """Mixed one- and two-segment texts to staff and participants, the worker passing every 100 ms."""
    rt = make_runtime(database_url, staff_number=STAFF_LINE)
    rt.db.create_all()
    watch = rt.transport
    for n in range(12):
        audience, purpose = [("participant", "update"), ("staff", "relay"), ("staff", "offer")][n % 3]
        queue(rt, audience=audience, purpose=purpose, body=TWO_SEGMENTS if n % 4 == 0 else ONE_SEGMENT)
    for step in range(160):
        watch.now = T0 + timedelta(milliseconds=100 * step)
        jobs.run_once(rt, now=watch.now)

    assert len(watch.handed) == 12, "every text went, none failed"
    for number in ("main", "staff"):
        mine = [(at, cost) for sender, at, cost, _ in watch.handed if sender == number]
        gaps = [
            (later - at).total_seconds() - cost
            for (at, cost), (later, _) in zip(mine, mine[1:], strict=False)
        ]
        assert min(gaps) >= 0, f"{number} was handed a text before it had sent the one before"
        assert min(gaps) < 0.1, f"{number} was kept idle"
    rt.db.dispose()


def test_the_worker_comes_back_when_the_number_frees_up_not_at_its_next_poll(rt):
    """Polling every 30 s, the second text still leaves about a second after the first."""
    from hotline import worker

    rt.transport = watch = Stopwatch(clock=utcnow)
    queue(rt, at=utcnow())
    queue(rt, at=utcnow())
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever, args=(rt,), kwargs={"poll_seconds": 30, "stop_event": stop}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while len(watch.handed) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)

    (_, first, _, _), (_, second, _, _) = watch.handed
    # Paced from the moment each was claimed; the first one's send itself takes a little of that second.
    assert 0.9 <= (second - first).total_seconds() < 1.5
