"""Shared fixtures: an app on SQLite and on PostgreSQL, signed Twilio requests, a fake transport."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from hotline import create_app
from hotline.plumbing.runtime import runtime
from tests.support import POSTGRES_ADMIN_URL, FakeTransport, Twilio, hotline_config, require, unpaced


@pytest.fixture(scope="session")
def postgres_database():
    """Create a throwaway PostgreSQL database for this test run, dropped at the end."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError:
        admin.dispose()
        require(False, f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
    name = f"hotline_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    engine = create_engine(url)
    import models

    models.metadata.create_all(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_postgres(url: str) -> None:
    import models

    engine = create_engine(url)
    models.metadata.create_all(engine)
    tables = ", ".join(f'"{t.name}"' for t in models.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database: a SQLite file, or the run's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
    url = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def postgres_url(postgres_database) -> str:
    """The run's PostgreSQL database, emptied: for tests of what only PostgreSQL supports."""
    _empty_postgres(postgres_database)
    return postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path) -> str:
    """A database with no tables at all (for migrations): a new SQLite file, or an empty schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    url = request.getfixturevalue("postgres_database")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def transport() -> FakeTransport:
    return FakeTransport()


@pytest.fixture
def app(database_url, transport):
    """The hotline app on a fresh database, with a fake transport."""
    app = create_app(hotline_config(database_url, TESTING=True), transport=transport, environ={})
    rt = runtime(app)
    rt.program = dataclasses.replace(rt.program, sending=unpaced())
    rt.db.create_all()
    yield app
    rt.db.dispose()


@pytest.fixture
def rt(app):
    return runtime(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def twilio(client) -> Twilio:
    return Twilio(client)


def pytest_terminal_summary(terminalreporter) -> None:
    """Say in one line what this machine skipped, and why."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons = set()
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reasons.add(reason.removeprefix("Skipped: "))
    terminalreporter.write_line(f"skipped {len(skipped)} here: " + "; ".join(sorted(reasons)))
