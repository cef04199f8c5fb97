"""Key rotation: every sealed column is re-encrypted under the new key, in batches, and stays readable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select as core_select
from sqlalchemy import update

import models
from hotline import cli, create_app
from hotline.plumbing.privacy import Vault
from hotline.plumbing.runtime import runtime
from hotline.services import retention, roster
from models.clock import utcnow
from tests.privacy_support import sealed_values, seed
from tests.support import FakeTransport, Twilio, hotline_config

SENDER = "+18165557101"
OLD, NEW, STRANGER = (Fernet.generate_key().decode() for _ in range(3))


def app_with(database_url: str, keys: str, transport=None):
    app = create_app(
        hotline_config(database_url, HOTLINE_ENCRYPTION_KEYS=keys), transport=transport, environ={}
    )
    runtime(app).db.create_all()
    return app


@pytest.fixture
def old_world(database_url):
    """A database whose every sealed column holds values sealed under the old key."""
    app = app_with(database_url, OLD, FakeTransport())
    rt = runtime(app)
    with rt.db.unit_of_work() as session:
        roster.add_officer(
            session, rt, name="Sgt. Rivera", phone="+18165550100", sergeant=True
        ).on_duty = True
        session.commit()
    seed(rt, utcnow() - timedelta(days=1), sender=SENDER, status="accepted")
    twilio = Twilio(app.test_client())
    for body in ("hi", "2", "yes"):
        twilio.text(body, sender="+18165557102")
    values = sorted(sealed_values(rt))
    rt.db.dispose()
    return values


def tokens(rt) -> list[str]:
    """Return every sealed token stored, whatever the key."""
    found = []
    with rt.db.reading() as session:
        for name, columns in retention.sealed_columns().items():
            table = models.metadata.tables[name]
            for row in session.execute(core_select(*(table.c[c] for c in columns))).all():
                found += [token for token in row if token]
    return found


def test_every_sealed_column_is_found_and_has_a_retention_rule():
    """A new *_sealed column must say how long it is kept (hotline/retention.py PURGED or RETAINED)."""
    found = {(table, column) for table, columns in retention.sealed_columns().items() for column in columns}
    assert {
        ("conversation", "data_sealed"),
        ("inbound_message", "reply_sealed"),
        ("dispatch", "place_sealed"),
        ("dispatch", "contact_sealed"),
        ("dispatch_event", "detail_sealed"),
        ("outbox", "to_sealed"),
        ("outbox", "body_sealed"),
        ("officer", "phone_sealed"),
    } <= found
    assert found == set(retention.PURGED) | set(retention.RETAINED)


@pytest.mark.parametrize("batch", [500, 2], ids=["one batch", "many batches"])
def test_rotation_re_encrypts_everything_and_the_old_key_can_go(database_url, old_world, batch):
    assert {table for table, _, _ in old_world} == {
        "conversation",
        "inbound_message",
        "dispatch",
        "dispatch_event",
        "outbox",
        "officer",
    }, "every sealed column holds something to rotate"
    app = app_with(database_url, f"{NEW},{OLD}")
    rt = runtime(app)
    try:
        assert not any(Vault(NEW).open(token) for token in tokens(rt)), "all sealed under the old key"

        counts = retention.rotate_keys(rt, batch=batch)

        assert counts == {"resealed": len(old_world), "current": 0, "unreadable": 0}
        assert all(rt.vault.is_current(token) for token in tokens(rt))
        assert retention.rotate_keys(rt, batch=batch) == {
            "resealed": 0,
            "current": len(old_world),
            "unreadable": 0,
        }, "a second run changes nothing"
    finally:
        rt.db.dispose()
    new_only = runtime(app_with(database_url, NEW))
    try:
        assert sorted(sealed_values(new_only)) == old_world, "the new key alone reads everything"
    finally:
        new_only.db.dispose()


def test_a_conversation_continues_after_rotation_with_only_the_new_key(database_url):
    """The participant notices nothing: the conversation goes on where it was."""
    old = app_with(database_url, OLD, FakeTransport())
    Twilio(old.test_client()).text("hi", sender=SENDER)
    Twilio(old.test_client()).text("2", sender=SENDER)
    runtime(old).db.dispose()
    both = runtime(app_with(database_url, f"{NEW},{OLD}"))
    retention.rotate_keys(both)
    both.db.dispose()

    new = app_with(database_url, NEW, FakeTransport())
    try:
        reply = Twilio(new.test_client()).text("yes", sender=SENDER)
    finally:
        runtime(new).db.dispose()
    assert "18" in " ".join(reply), "the next screening question, not the welcome"


def test_values_no_key_reads_are_counted_and_left_alone(database_url, old_world):
    app = app_with(database_url, f"{NEW},{OLD}")
    rt = runtime(app)
    stranger = Vault(STRANGER).seal("sealed elsewhere")
    try:
        with rt.db.unit_of_work() as session:
            table = models.metadata.tables["dispatch"]
            session.execute(update(table).values(place_sealed=stranger))
            session.commit()
        counts = retention.rotate_keys(rt)
        assert counts["unreadable"] == 1 and counts["resealed"] == len(old_world) - 1
        assert stranger in tokens(rt)
    finally:
        rt.db.dispose()


def test_hotline_keys_rotate(database_url, old_world, monkeypatch, tmp_path):
    for name, value in hotline_config(database_url, HOTLINE_ENCRYPTION_KEYS=f"{NEW},{OLD}").items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["keys", "rotate", "--batch", "3"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"Re-encrypted {len(old_world)}" in result.output

    monkeypatch.setenv("HOTLINE_ENCRYPTION_KEYS", STRANGER)
    refused = CliRunner().invoke(cli.main, ["keys", "rotate"])
    assert refused.exit_code != 0
    assert "no key in HOTLINE_ENCRYPTION_KEYS can read" in refused.output
    assert "+1816" not in refused.output
