"""The outbox: queueing (sealed, deduplicated, race-safe), STOP cancellation, status callbacks.

Runs on SQLite and PostgreSQL (the `database_url` fixture of tests/conftest.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, text
from sqlmodel import select

from hotline.plumbing import outbox
from hotline.plumbing.db import Database
from hotline.plumbing.privacy import Pseudonyms, Vault
from hotline.plumbing.runtime import Runtime
from models import Conversation, Officer, OutboxMessage

PARTICIPANT = "+18165550142"
OTHER_PARTICIPANT = "+18165550199"
OFFICER = "+18165550123"
BODY = "An officer is on the way to the QuikTrip."
SID = "SM" + "d4" * 16


@pytest.fixture
def rt(database_url) -> Iterator[Runtime]:
    """A runtime without Flask: database, keys and pseudonyms (no transport needed here)."""
    db = Database(database_url)
    db.create_all()
    yield Runtime(
        config={"HOTLINE_PUBLIC_URL": "https://hotline.example.org"},
        db=db,
        vault=Vault(Fernet.generate_key().decode()),
        pseudonyms=Pseudonyms("test-secret"),
        program=None,
        catalog=None,
        transport=None,
    )
    db.dispose()


def conversation(rt, number) -> Conversation:
    # Explicit times keep the row valid whether its table stores naive or aware UTC.
    now = datetime.now(UTC)
    return Conversation(sender_hash=rt.pseudonyms.of(number), created_at=now, updated_at=now)


def queue(rt, session, to=PARTICIPANT, body=BODY, audience="participant", **kwargs):
    return outbox.enqueue(session, rt, to=to, body=body, audience=audience, purpose="update", **kwargs)


def count_rows(rt) -> int:
    with rt.db.reading() as session:
        return session.exec(select(func.count()).select_from(OutboxMessage)).one()


def sent_row(rt, *, sid=SID, audience="participant", to=PARTICIPANT, officer_id=None, purpose="update"):
    """Store a row as the worker leaves it after Twilio took it."""
    with rt.db.unit_of_work() as session:
        row = outbox.enqueue(
            session, rt, to=to, body=BODY, audience=audience, purpose=purpose, officer_id=officer_id
        )
        row.status, row.twilio_sid, row.delivery_status = "sent", sid, "queued"
        session.add(row)
        session.commit()
        return row.id


def callback(rt, status, error_code=None, sid=SID, *, notify=False, handlers=None) -> bool:
    """Post a status callback; with `notify`, as the webhook does when it passes the runtime."""
    with rt.db.unit_of_work() as session:
        known = outbox.record_status(
            session,
            sid=sid,
            status=status,
            error_code=error_code,
            rt=rt if notify else None,
            handlers=handlers,
        )
        session.commit()
        return known


def stored(rt, row_id) -> OutboxMessage:
    with rt.db.reading() as session:
        return session.get(OutboxMessage, row_id)


# -- enqueue -------------------------------------------------------------------------------------


def test_enqueue_seals_the_number_and_the_body(rt):
    with rt.db.unit_of_work() as session:
        row = queue(rt, session)
        session.commit()

    assert row.id is not None and row.status == "pending" and row.attempts == 0
    assert row.to_hash == rt.pseudonyms.of(PARTICIPANT)
    assert rt.vault.open(row.to_sealed) == PARTICIPANT
    assert rt.vault.open(row.body_sealed) == BODY
    with rt.db.reading() as session:
        columns = session.execute(text("SELECT * FROM outbox")).one()
    stored_text = " ".join(str(value) for value in columns)
    assert "8165550142" not in stored_text and "QuikTrip" not in stored_text


def test_enqueue_never_commits(rt):
    with rt.db.unit_of_work() as session:
        assert queue(rt, session) is not None
        session.rollback()

    assert count_rows(rt) == 0


def test_enqueue_with_a_known_dedupe_key_adds_nothing(rt):
    with rt.db.unit_of_work() as session:
        first = queue(rt, session, dedupe_key="requested:R7K2:1")
        again = queue(rt, session, dedupe_key="requested:R7K2:1")
        other = queue(rt, session, dedupe_key="requested:R7K2:2")
        session.commit()
    with rt.db.unit_of_work() as session:
        later = queue(rt, session, dedupe_key="requested:R7K2:1")
        session.commit()

    assert first is not None and other is not None
    assert again is None and later is None
    assert count_rows(rt) == 2


@pytest.mark.parametrize("winner_commits", [True, False])
def test_two_transactions_racing_on_one_dedupe_key_store_one_row(rt, winner_commits):
    """The second insert waits for the first transaction, then adds nothing (or takes over)."""
    results = {}

    def second():
        with rt.db.unit_of_work() as session:
            results["second"] = queue(rt, session, dedupe_key="offer:R7K2:4")
            session.commit()

    with rt.db.unit_of_work() as session:
        results["first"] = queue(rt, session, dedupe_key="offer:R7K2:4")
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(0.5)
        assert racer.is_alive(), "the second insert should wait for the first transaction"
        if winner_commits:
            session.commit()
        else:
            session.rollback()
    racer.join(10)

    assert results["first"] is not None
    assert (results["second"] is None) == winner_commits
    assert count_rows(rt) == 1


def test_enqueue_rejects_an_unknown_audience(rt):
    with rt.db.unit_of_work() as session, pytest.raises(ValueError):
        queue(rt, session, audience="press")


# -- STOP ----------------------------------------------------------------------------------------


def test_cancel_pending_to_cancels_only_queued_texts_to_that_number(rt):
    with rt.db.unit_of_work() as session:
        queued = [queue(rt, session).id, queue(rt, session).id]
        in_flight = queue(rt, session)
        in_flight.status = "sending"
        other = queue(rt, session, to=OTHER_PARTICIPANT).id
        session.commit()

    with rt.db.unit_of_work() as session:
        cancelled = outbox.cancel_pending_to(session, rt.pseudonyms.of(PARTICIPANT))
        session.commit()

    assert cancelled == 2
    assert [stored(rt, i).status for i in queued] == ["cancelled", "cancelled"]
    assert stored(rt, in_flight.id).status == "sending"
    assert stored(rt, other).status == "pending"


# -- status callbacks ----------------------------------------------------------------------------


def test_a_status_for_an_unknown_sid_is_ignored(rt):
    sent_row(rt)
    assert callback(rt, "delivered", sid="SM" + "0" * 32) is False
    assert callback(rt, "", sid="") is False


@pytest.mark.parametrize(
    ("sequence", "final_status", "final_code"),
    [
        # REL-7's sequence: a failure outranks delivery, and the first error code stays.
        ([("delivered", None), ("sent", None), ("failed", "30003"), ("delivered", None)], "failed", "30003"),
        ([("sent", None), ("delivered", None)], "delivered", None),
        ([("delivered", None), ("sent", None), ("queued", None)], "delivered", None),
        ([("delivered", None), ("read", None), ("delivered", None)], "read", None),
        ([("failed", "30003"), ("undelivered", "30005")], "failed", "30003"),
        ([("undelivered", "30005"), ("failed", "30003")], "undelivered", "30005"),
        ([("sent", "30003"), ("delivered", None)], "delivered", "30003"),
        # calls report through the same endpoint
        ([("ringing", None), ("completed", None), ("in-progress", None)], "completed", None),
        ([("initiated", None), ("no-answer", None), ("ringing", None)], "no-answer", None),
    ],
)
def test_statuses_only_move_forward(rt, sequence, final_status, final_code):
    row_id = sent_row(rt)
    for status, code in sequence:
        assert callback(rt, status, code) is True

    row = stored(rt, row_id)
    assert (row.delivery_status, row.error_code) == (final_status, final_code)
    assert row.status == "sent"  # our side of it: Twilio took the message


def test_repeated_callbacks_change_nothing(rt):
    row_id = sent_row(rt)
    for _ in range(3):
        assert callback(rt, "undelivered", "30005") is True

    row = stored(rt, row_id)
    assert (row.delivery_status, row.error_code) == ("undelivered", "30005")


def test_an_unknown_status_is_kept_raw_only_while_nothing_known_is_recorded(rt):
    row_id = sent_row(rt)
    with rt.db.unit_of_work() as session:
        session.get(OutboxMessage, row_id).delivery_status = None
        session.commit()

    assert callback(rt, "Teleported") is True
    assert stored(rt, row_id).delivery_status == "teleported"
    assert callback(rt, "sent") is True
    assert callback(rt, "teleported") is True
    assert stored(rt, row_id).delivery_status == "sent"


def test_21610_on_a_text_to_a_participant_marks_them_opted_out(rt):
    with rt.db.unit_of_work() as session:
        session.add(conversation(rt, PARTICIPANT))
        session.add(conversation(rt, OTHER_PARTICIPANT))
        session.commit()
    sent_row(rt)
    with rt.db.unit_of_work() as session:
        waiting = queue(rt, session).id
        session.commit()

    assert callback(rt, "failed", "21610") is True

    with rt.db.reading() as session:
        flags = {c.sender_hash: c.opted_out for c in session.exec(select(Conversation)).all()}
    assert flags == {rt.pseudonyms.of(PARTICIPANT): True, rt.pseudonyms.of(OTHER_PARTICIPANT): False}
    assert stored(rt, waiting).status == "cancelled"


def test_21610_on_a_text_to_staff_does_not_touch_conversations(rt):
    with rt.db.unit_of_work() as session:
        session.add(conversation(rt, OFFICER))
        session.commit()
    sent_row(rt, audience="staff", to=OFFICER)

    callback(rt, "failed", "21610")

    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).one().opted_out is False


def add_officer(rt) -> int:
    with rt.db.unit_of_work() as session:
        officer = Officer(
            name="Ofc. Rivera",
            phone_hash=rt.pseudonyms.of(OFFICER),
            phone_sealed=rt.vault.seal(OFFICER),
            created_at=datetime.now(UTC),  # valid whether the table stores naive or aware UTC
        )
        session.add(officer)
        session.commit()
        return officer.id


def test_an_undelivered_page_reaches_the_undeliverable_handler_once(rt):
    officer_id = add_officer(rt)
    row_id = sent_row(rt, audience="staff", to=OFFICER, officer_id=officer_id, purpose="offer")
    seen = []
    handlers = {"undeliverable": lambda session, rt, row: seen.append((row.id, row.error_code))}

    callback(rt, "sent", notify=True, handlers=handlers)
    callback(rt, "undelivered", "30006", notify=True, handlers=handlers)
    callback(rt, "failed", "30006", notify=True, handlers=handlers)
    callback(rt, "undelivered", "30006", notify=True, handlers=handlers)

    assert seen == [(row_id, "30006")]


def test_without_the_runtime_or_for_a_participant_no_handler_runs(rt):
    seen = []
    handlers = {"undeliverable": lambda session, rt, row: seen.append(row.id)}
    sent_row(rt, sid=SID)
    callback(rt, "undelivered", "30006", notify=True, handlers=handlers)
    officer_id = add_officer(rt)
    staff_sid = "SM" + "e5" * 16
    sent_row(rt, sid=staff_sid, audience="staff", to=OFFICER, officer_id=officer_id)
    callback(rt, "undelivered", "30006", sid=staff_sid, handlers=handlers)

    assert seen == []
