"""The database layer: SQLite tuned for concurrency, migrations matching the tables."""

import multiprocessing

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import models
from hotline.plumbing import migrations
from hotline.plumbing.db import Database, normalise_url

FORK = multiprocessing.get_context("fork")


def test_sqlite_runs_in_wal_with_a_busy_timeout(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/h.sqlite3")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


@pytest.mark.parametrize(
    "given, used",
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_paas_database_urls_use_psycopg3(given, used):
    assert normalise_url(given) == used


def test_migrations_build_exactly_the_tables_the_code_uses(empty_database_url):
    db = Database(empty_database_url)
    migrations.upgrade(db)
    assert migrations.current(db) == migrations.head(db)
    assert set(models.metadata.tables) <= set(inspect(db.engine).get_table_names())
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), models.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    migrations.upgrade(db)  # a second release applies nothing and fails nothing
    db.dispose()


def _write_many(url, worker, count, barrier):
    db = Database(url)
    barrier.wait(timeout=30)
    for n in range(count):
        with db.unit_of_work() as session:
            sender = f"w{worker}-{n}"
            session.execute(
                text(
                    "INSERT INTO conversation (sender_hash, channel, language, opted_out, version,"
                    " created_at, updated_at) VALUES (:h, 'sms', 'en', false, 0, CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP)"
                ),
                {"h": sender},
            )
            session.execute(
                text("UPDATE conversation SET version = version + 1 WHERE sender_hash = :h"), {"h": sender}
            )
            session.commit()


def test_fifty_writers_in_four_processes_never_see_database_is_locked(tmp_path):
    url = f"sqlite:///{tmp_path}/h.sqlite3"
    db = Database(url)
    db.create_all()
    barrier = FORK.Barrier(4)
    workers = [FORK.Process(target=_write_many, args=(url, w, 13, barrier)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0, "a writer failed (database is locked?)"
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), sum(version) FROM conversation")).one() == (52, 52)
