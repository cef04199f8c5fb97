"""`hotline users add`, and the account rules it shares with the admin page."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlmodel import select

from hotline import cli, create_app
from hotline.plumbing.runtime import runtime
from hotline.web.dashboard import accounts
from models import AuditEntry, DashboardUser
from tests.dashboard_support import PASSWORD
from tests.support import hotline_config


@pytest.fixture
def env(empty_database_url, tmp_path, monkeypatch):
    for name, value in hotline_config(empty_database_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    app = create_app()
    runtime(app).db.create_all()
    runtime(app).db.dispose()
    return app


def run(*args, input=None):
    return CliRunner().invoke(cli.main, list(args), input=input, catch_exceptions=False)


def stored_users(app) -> list[DashboardUser]:
    rt = runtime(app)
    try:
        with rt.db.reading() as session:
            return list(session.exec(select(DashboardUser)).all())
    finally:
        rt.db.dispose()


def test_users_add_reads_the_password_from_stdin_and_stores_only_a_hash(env):
    result = run(
        "users",
        "add",
        "--username",
        "Rivera",
        "--role",
        "sergeant",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    [user] = stored_users(env)
    assert user.username == "rivera" and user.role == "sergeant"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    rt = runtime(env)
    with rt.db.reading() as session:
        entry = session.exec(select(AuditEntry)).one()
    rt.db.dispose()
    assert (entry.actor, entry.action, entry.target) == ("cli", "user.add", "user:rivera")


def test_users_add_asks_twice_for_the_password(env):
    result = run("users", "add", "--username", "adams", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert [u.role for u in stored_users(env)] == ["admin"]


@pytest.mark.parametrize(
    "args, password, message",
    [
        (["--username", "kim", "--role", "sergeant"], "short", "at least 12"),
        (["--username", "k i m", "--role", "sergeant"], PASSWORD, "username"),
        (["--username", "kim", "--role", "chief"], PASSWORD, "chief"),
    ],
)
def test_users_add_refuses_bad_input(env, args, password, message):
    result = run("users", "add", *args, "--password-stdin", input=password + "\n")
    assert result.exit_code != 0 and message in result.output
    assert stored_users(env) == []


def test_users_add_refuses_a_second_account_with_the_same_name(env):
    run("users", "add", "--username", "kim", "--role", "sergeant", "--password-stdin", input=PASSWORD + "\n")
    again = run(
        "users", "add", "--username", "KIM", "--role", "admin", "--password-stdin", input=PASSWORD + "\n"
    )
    assert again.exit_code != 0 and "already" in again.output


def test_a_password_hashed_with_old_parameters_is_rehashed_at_sign_in(rt):
    from argon2 import PasswordHasher

    with rt.db.unit_of_work() as session:
        user = accounts.add_user(session, username="kim", role="sergeant", password=PASSWORD)
        user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
        session.commit()
    with rt.db.unit_of_work() as session:
        assert accounts.authenticate(session, "kim", PASSWORD).ok
        session.commit()
    with rt.db.reading() as session:
        stored = session.exec(select(DashboardUser)).one().password_hash
    assert not accounts.hasher().check_needs_rehash(stored)


# -- the password rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, reason",
    [
        ("short", "at least 12"),
        ("aaaaaaaaaaaa", "repeated"),
        ("abcabcabcabcabc", "repeated"),
        ("password1234", "most common"),
        ("Password123!", "most common"),
        ("qwertyuiopasdf", "harder"),
        ("123456789012", "common"),
        ("kim.rivera.2026", "username"),
        ("x" * 11 + "y" * 300, "at most"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password, reason):
    with pytest.raises(accounts.AccountError, match=reason):
        accounts.check_password(password, "rivera")


@pytest.mark.parametrize("password", [PASSWORD, "Lantern-Orchard-Velvet-42", "mi casa verde tiene gatos"])
def test_good_passwords_pass(password):
    assert accounts.check_password(password, "rivera") == password


def test_users_add_refuses_a_common_password(env):
    result = run(
        "users", "add", "--username", "kim", "--role", "admin", "--password-stdin", input="aaaaaaaaaaaa\n"
    )
    assert result.exit_code != 0 and "repeated" in result.output
    assert stored_users(env) == []


# -- hotline users list | reset-password | role ----------------------------------------------


def add(username: str, role: str = "sergeant"):
    result = run(
        "users", "add", "--username", username, "--role", role, "--password-stdin", input=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output


def audit(app) -> list[tuple[str, str, str | None, str | None]]:
    rt = runtime(app)
    try:
        with rt.db.reading() as session:
            entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
            return [(e.actor, e.action, e.target, e.detail) for e in entries]
    finally:
        rt.db.dispose()


def test_users_list_shows_names_and_roles_and_no_secret(env):
    assert "No dashboard accounts" in run("users", "list").output
    add("rivera")
    add("adams", "both")
    output = run("users", "list").output
    lines = output.splitlines()
    assert lines[0].split()[:3] == ["adams", "both", "active"]
    assert lines[1].split()[:3] == ["rivera", "sergeant", "active"]
    assert "never signed in" in output
    assert "argon2" not in output and PASSWORD not in output


def test_users_reset_password_from_stdin_ends_the_old_password(env):
    add("rivera")
    new = "Lantern-Orchard-Velvet-42"
    result = run("users", "reset-password", "RIVERA", "--password-stdin", input=new + "\n")
    assert result.exit_code == 0, result.output
    [user] = stored_users(env)
    assert user.session_epoch == 1, "every open session of the account ends"
    assert accounts.hasher().verify(user.password_hash, new)
    assert audit(env)[-1] == ("cli", "user.reset_password", "user:rivera", None)


def test_users_reset_password_asks_twice_and_refuses_weak_or_unknown(env):
    add("rivera")
    new = "Lantern-Orchard-Velvet-42"
    assert run("users", "reset-password", "rivera", input=f"{new}\n{new}\n").exit_code == 0
    weak = run("users", "reset-password", "rivera", "--password-stdin", input="aaaaaaaaaaaa\n")
    assert weak.exit_code != 0 and "repeated" in weak.output
    unknown = run("users", "reset-password", "nobody", "--password-stdin", input=new + "\n")
    assert unknown.exit_code != 0 and "no user called nobody" in unknown.output
    [user] = stored_users(env)
    assert accounts.hasher().verify(user.password_hash, new)


def test_users_role_changes_a_role_and_is_audited(env):
    add("rivera")
    assert run("users", "role", "rivera", "both").exit_code == 0
    assert stored_users(env)[0].role == "both"
    assert audit(env)[-1] == ("cli", "user.role", "user:rivera", "role:sergeant->both")
    assert run("users", "role", "rivera", "chief").exit_code != 0
