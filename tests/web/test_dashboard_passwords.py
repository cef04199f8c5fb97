"""Passwords and roles on the dashboard: one's own password, an admin's reset, roles including both."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import select

from hotline.web.dashboard import accounts
from models import AuditEntry, DashboardUser
from tests.dashboard_support import PASSWORD, add_accounts, sign_in, token

NEW = "Lantern-Orchard-Velvet-42"
_ADDRESSES = itertools.count(1)


def browser(app):
    """A test client at an address of its own: the sign-in limits count per address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.0.2.{next(_ADDRESSES) % 250 + 1}"
    return client


@pytest.fixture
def client(app):
    return browser(app)


@pytest.fixture
def staff(rt):
    add_accounts(rt)


def user(rt, username: str) -> DashboardUser:
    with rt.db.reading() as session:
        return session.exec(select(DashboardUser).where(DashboardUser.username == username)).one()


def audit(rt) -> list[tuple[str, str, str | None, str | None, str | None]]:
    with rt.db.reading() as session:
        entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(e.actor, e.action, e.target, e.detail, e.address) for e in entries]


def change(client, current: str, new: str, repeat: str | None = None):
    form = {
        "csrf_token": token(client),
        "current_password": current,
        "new_password": new,
        "repeat_password": new if repeat is None else repeat,
    }
    return client.post("/dashboard/account", data=form)


def test_everyone_can_change_their_own_password(app, client, rt, staff):
    sign_in(client, "rivera")
    other_screen = browser(app)
    sign_in(other_screen, "rivera")
    page = client.get("/dashboard/account").get_data(as_text=True)
    assert "Current password" in page and 'href="/dashboard/account"' in page

    assert b"current password is wrong" in change(client, "not my password", NEW).data
    assert b"repeated" in change(client, PASSWORD, "aaaaaaaaaaaa").data
    assert b"differ" in change(client, PASSWORD, NEW, repeat=NEW + "!").data
    assert accounts.hasher().verify(user(rt, "rivera").password_hash, PASSWORD)

    done = change(client, PASSWORD, NEW)
    assert done.status_code == 302
    assert client.get("/dashboard/board").status_code == 200, "this browser stays signed in"
    assert other_screen.get("/dashboard/board").status_code == 302, "every other one is signed out"
    assert sign_in(browser(app), "rivera").status_code == 401
    assert sign_in(browser(app), "rivera", NEW).status_code == 302
    assert (
        "user:rivera",
        "user.change_password",
        "user:rivera",
        None,
        client.environ_base["REMOTE_ADDR"],
    ) in audit(rt)

    admin = browser(app)
    sign_in(admin, "adams")
    assert change(admin, PASSWORD, "Copper-Meadow-Harbor-77").status_code == 302


def test_an_admin_resets_a_password_on_the_users_page(app, client, rt, staff):
    rivera = browser(app)
    sign_in(rivera, "rivera")
    sign_in(client, "adams")
    rivera_id = user(rt, "rivera").id
    weak = client.post(
        f"/dashboard/users/{rivera_id}/password",
        data={"csrf_token": token(client), "password": "password1234"},
    )
    assert weak.status_code == 302 and accounts.hasher().verify(user(rt, "rivera").password_hash, PASSWORD)
    client.post(f"/dashboard/users/{rivera_id}/password", data={"csrf_token": token(client), "password": NEW})
    assert rivera.get("/dashboard/board").status_code == 302, "the reset ends the account's sessions"
    assert sign_in(browser(app), "rivera", NEW).status_code == 302
    assert (
        "user:adams",
        "user.reset_password",
        "user:rivera",
        None,
        client.environ_base["REMOTE_ADDR"],
    ) in audit(rt)

    own = client.post(
        f"/dashboard/users/{user(rt, 'adams').id}/password",
        data={"csrf_token": token(client), "password": NEW},
    )
    assert own.location == "/dashboard/account", "one's own password needs the current one"
    assert accounts.hasher().verify(user(rt, "adams").password_hash, PASSWORD)


def test_one_account_can_be_sergeant_and_admin(app, client, rt, staff):
    sign_in(client, "adams")
    added = client.post(
        "/dashboard/users/add",
        data={"csrf_token": token(client), "username": "kim", "role": "both", "password": NEW},
        follow_redirects=True,
    )
    assert "Added kim (both)" in added.get_data(as_text=True)
    kim = browser(app)
    assert sign_in(kim, "kim", NEW).status_code == 302
    assert kim.get("/dashboard/", follow_redirects=False).location == "/dashboard/board"
    for path in (
        "/dashboard/board",
        "/dashboard/board.json",
        "/dashboard/users",
        "/dashboard/roster",
        "/dashboard/reports",
        "/dashboard/audit",
        "/dashboard/flow",
        "/dashboard/account",
    ):
        assert kim.get(path).status_code == 200, path
    nav = kim.get("/dashboard/flow").get_data(as_text=True)
    assert ">Board</a>" in nav and ">Users</a>" in nav


def test_an_admin_changes_a_role_on_the_users_page(app, client, rt, staff):
    sign_in(client, "adams")
    rivera = user(rt, "rivera")
    client.post(f"/dashboard/users/{rivera.id}/role", data={"csrf_token": token(client), "role": "both"})
    assert user(rt, "rivera").role == "both"
    assert (
        "user:adams",
        "user.role",
        "user:rivera",
        "role:sergeant->both",
        client.environ_base["REMOTE_ADDR"],
    ) in audit(rt)
    client.post(f"/dashboard/users/{rivera.id}/role", data={"csrf_token": token(client), "role": "chief"})
    assert user(rt, "rivera").role == "both"

    adams = user(rt, "adams")
    client.post(f"/dashboard/users/{adams.id}/role", data={"csrf_token": token(client), "role": "sergeant"})
    assert user(rt, "adams").role == "admin", "an admin cannot take the admin role from themselves"
    page = client.get("/dashboard/users").get_data(as_text=True)
    assert "<option selected>both</option>" in page


def test_a_sergeant_cannot_reset_or_change_roles(app, client, rt, staff):
    sign_in(client, "rivera")
    adams = user(rt, "adams")
    csrf = token(client)
    assert (
        client.post(
            f"/dashboard/users/{adams.id}/password", data={"csrf_token": csrf, "password": NEW}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/dashboard/users/{adams.id}/role", data={"csrf_token": csrf, "role": "sergeant"}
        ).status_code
        == 403
    )
    assert user(rt, "adams").role == "admin"
