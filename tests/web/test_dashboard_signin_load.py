"""A sign-in's password check (argon2, slow on purpose) holds no write lock.

On SQLite every process writes in turn: a check inside the sign-in's write transaction made every
webhook wait for it, whatever process answered the webhook.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from hotline import create_app
from hotline.plumbing.runtime import runtime
from hotline.web.dashboard import accounts
from tests.dashboard_support import PASSWORD, add_accounts, sign_in
from tests.support import FakeTransport, hotline_config


@pytest.fixture
def sqlite_app(tmp_path):
    app = create_app(
        hotline_config(f"sqlite:///{tmp_path / 'hotline.sqlite3'}", TESTING=True),
        transport=FakeTransport(),
        environ={},
    )
    rt = runtime(app)
    rt.db.create_all()
    add_accounts(rt)
    yield app
    rt.db.dispose()


@pytest.mark.parametrize(
    ("username", "password", "status"),
    [("rivera", "wrong password!", 401), ("nobody", PASSWORD, 401), ("rivera", PASSWORD, 302)],
)
def test_a_webhook_can_write_while_a_password_is_checked(sqlite_app, monkeypatch, username, password, status):
    rt = runtime(sqlite_app)
    real = accounts._verify
    written = threading.Event()
    during = []

    def write() -> None:  # what a webhook in another process does meanwhile
        with rt.db.unit_of_work() as session:
            session.execute(text("UPDATE officer SET on_duty = on_duty"))
            session.commit()
        written.set()

    def verify_while_a_webhook_writes(password_hash: str, given: str) -> bool:
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(2)
        during.append(written.is_set())
        return real(password_hash, given)

    monkeypatch.setattr(accounts, "_verify", verify_while_a_webhook_writes)
    response = sign_in(sqlite_app.test_client(), username, password)

    assert during == [True], "the webhook's write waited for the password check"
    assert response.status_code == status
