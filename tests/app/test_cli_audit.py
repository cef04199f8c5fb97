"""Roster changes made with the `hotline` command are in the audit log, as the dashboard's are."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlmodel import Session, select

from hotline import cli
from models import AuditEntry, Officer
from tests.support import hotline_config


@pytest.fixture
def env(empty_database_url, tmp_path, monkeypatch):
    for name, value in hotline_config(empty_database_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return empty_database_url


def run(*args):
    result = CliRunner().invoke(cli.main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_roster_commands_are_audited_as_cli(env):
    run("db", "upgrade")
    run("officers", "add", "--name", "Ofc. Chen", "--phone", "+18165550101")
    run("officers", "add", "--name", "Sgt. Rivera", "--phone", "+18165550100", "--sergeant")
    run("officers", "shift", "+18165550101", "22:00-06:00")
    run("officers", "shift", "+18165550101", "none")
    run("officers", "on", "+18165550101")
    run("officers", "off", "+18165550101")
    engine = create_engine(env)
    try:
        with Session(engine) as session:
            chen = session.exec(select(Officer).where(Officer.name == "Ofc. Chen")).one()
            rivera = session.exec(select(Officer).where(Officer.name == "Sgt. Rivera")).one()
            entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
            rows = [(e.actor, e.action, e.target, e.detail) for e in entries]
    finally:
        engine.dispose()
    assert rows == [
        ("cli", "roster.add", f"officer:{chen.id}", "officer"),
        ("cli", "roster.add", f"officer:{rivera.id}", "sergeant"),
        ("cli", "roster.shift", f"officer:{chen.id}", "set"),
        ("cli", "roster.shift", f"officer:{chen.id}", "none"),
        ("cli", "roster.duty", f"officer:{chen.id}", "on"),
        ("cli", "roster.duty", f"officer:{chen.id}", "off"),
    ]
    assert "+1816" not in str(rows), "ids only, never a number"
