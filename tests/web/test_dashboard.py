"""The sergeant's board and the admin pages, through the test client as a browser uses them."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from hotline import create_app
from hotline.plumbing.runtime import runtime
from models import AuditEntry, Dispatch, DispatchEvent, Officer
from tests.dashboard_support import (
    PASSWORD,
    PLACE,
    add_accounts,
    add_roster,
    latest_ref,
    request_ride,
    sign_in,
    token,
)
from tests.support import PARTICIPANT, FakeTransport, hotline_config


@pytest.fixture
def staff(rt):
    add_accounts(rt)
    return add_roster(rt)


@pytest.fixture
def ride(twilio, staff) -> str:
    return request_ride(twilio, PARTICIPANT)


def dashboard_routes(app) -> list[tuple[str, str]]:
    """Return (method, path) for every dashboard route except sign-in, with sample arguments."""
    samples = {"ref": "ZZZZ", "officer_id": 1, "user_id": 1, "year": 2026}
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("dashboard.") or rule.endpoint in (
            "dashboard.login",
            "dashboard.home",
        ):
            continue
        path = rule.build({name: samples[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


def audit_actions(rt) -> list[str]:
    with rt.db.reading() as session:
        return [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]


def dispatch_row(rt, ref) -> Dispatch:
    with rt.db.reading() as session:
        return session.exec(select(Dispatch).where(Dispatch.ref == ref)).one()


# -- access ----------------------------------------------------------------------------------


def test_every_dashboard_route_refuses_anonymous_users(app, client, staff):
    routes = dashboard_routes(app)
    assert len(routes) >= 18, "the route list should cover the whole dashboard"
    for method, path in routes:
        response = client.open(path, method=method)
        if method == "GET" and not path.endswith(".json"):
            assert response.status_code == 302, path
            assert response.location.startswith("/dashboard/login"), path
        else:
            assert response.status_code == 401, (method, path)
        assert b"Open requests" not in response.data and b"Roster" not in response.data


SERGEANT_ONLY = ("/dashboard/board", "/dashboard/dispatch/")
ADMIN_ONLY = ("/dashboard/roster", "/dashboard/users", "/dashboard/reports", "/dashboard/audit")
BOTH = ("/dashboard/flow", "/dashboard/logout")


@pytest.mark.parametrize("username, refused", [("rivera", ADMIN_ONLY), ("adams", SERGEANT_ONLY)])
def test_every_route_refuses_the_wrong_role(app, client, staff, username, refused):
    sign_in(client, username)
    csrf = token(client)
    checked = 0
    for method, path in dashboard_routes(app):
        assert path.startswith(SERGEANT_ONLY + ADMIN_ONLY + BOTH), f"{path}: which role may use it?"
        if not path.startswith(refused):
            continue
        response = client.open(path, method=method, data={"csrf_token": csrf})
        assert response.status_code == 403, (username, method, path)
        checked += 1
    assert checked >= 6
    assert audit_actions(runtime(app)) == ["login"], "a refused request changes nothing"


def test_posts_without_a_csrf_token_fail_and_change_nothing(app, client, rt, ride, staff):
    sign_in(client, "rivera")
    before = audit_actions(rt)
    status = dispatch_row(rt, ride).status
    officer = staff["Ofc. Chen"]
    for path, form in [
        (f"/dashboard/dispatch/{ride}/assign", {"officer_id": officer}),
        (f"/dashboard/dispatch/{ride}/close", {"outcome": "in"}),
        (f"/dashboard/dispatch/{ride}/cancel", {}),
        (f"/dashboard/dispatch/{ride}/note", {"note": "x"}),
        ("/dashboard/logout", {}),
    ]:
        assert client.post(path, data=form).status_code == 400, path
        assert client.post(path, data={**form, "csrf_token": "forged"}).status_code == 400, path
    assert dispatch_row(rt, ride).status == status
    assert audit_actions(rt) == before
    assert client.get("/dashboard/logout").status_code == 405, "signing out is a POST"
    assert client.get("/dashboard/board").status_code == 200, "still signed in"

    admin = app.test_client()
    sign_in(admin, "adams")
    assert admin.post("/dashboard/roster/add", data={"name": "X", "phone": "+18165550177"}).status_code == 400
    assert admin.post("/dashboard/users/add", data={"username": "x", "role": "admin"}).status_code == 400
    assert audit_actions(rt) == [*before, "login"]


def test_the_sign_in_form_itself_needs_its_csrf_token(client, staff):
    response = client.post("/dashboard/login", data={"username": "rivera", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/dashboard/board").status_code == 302


# -- signing in ------------------------------------------------------------------------------


def test_a_sergeant_signs_in_and_lands_on_the_board(client, rt, staff):
    response = sign_in(client, "Rivera ")  # usernames are case- and space-insensitive
    assert response.status_code == 302
    page = client.get("/dashboard/", follow_redirects=True).get_data(as_text=True)
    assert "Open requests" in page and "No open requests." in page
    assert audit_actions(rt) == ["login"]


def test_wrong_passwords_lock_the_account_after_five(client, rt, staff):
    for _ in range(4):
        response = sign_in(client, "rivera", "wrong password!")
        assert response.status_code == 401
        assert b"Wrong username or password." in response.data
    response = sign_in(client, "rivera", "wrong password!")
    assert response.status_code == 429 and b"locked" in response.data
    response = sign_in(client, "rivera")  # the right password does not help while locked
    assert response.status_code == 429
    assert client.get("/dashboard/board").status_code == 302
    assert audit_actions(rt).count("login_locked") == 2

    admin = rt.app if hasattr(rt, "app") else None  # noqa: F841 - the admin unlocks from the users page
    other = client.application.test_client()
    sign_in(other, "adams")
    with rt.db.reading() as session:
        from models import DashboardUser

        user_id = session.exec(select(DashboardUser.id).where(DashboardUser.username == "rivera")).one()
    assert b"locked" in other.get("/dashboard/users").data
    other.post(f"/dashboard/users/{user_id}/unlock", data={"csrf_token": token(other)})
    assert sign_in(client, "rivera").status_code == 302
    assert "user.unlock" in audit_actions(rt)


def test_unknown_users_get_the_same_answer_as_wrong_passwords(client, rt, staff):
    response = sign_in(client, "nobody", PASSWORD)
    assert response.status_code == 401 and b"Wrong username or password." in response.data
    with rt.db.reading() as session:
        entry = session.exec(select(AuditEntry)).one()
    assert entry.actor == "anonymous" and entry.action == "login_wrong"


def test_session_cookie_is_httponly_lax_and_secure_on_https(client, staff):
    cookie = sign_in(client, "rivera").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_session_cookie_is_not_secure_on_a_plain_http_development_url(database_url, tmp_path):
    config = hotline_config(database_url, TESTING=True, HOTLINE_PUBLIC_URL="http://127.0.0.1:5000")
    app = create_app(config, transport=FakeTransport(), environ={})
    try:
        assert app.config["SESSION_COOKIE_SECURE"] is False
    finally:
        runtime(app).db.dispose()


def test_signing_out_ends_the_session_even_for_a_copied_cookie(app, client, staff):
    sign_in(client, "rivera")
    copied = client.get_cookie("hotline_session").value
    client.post("/dashboard/logout", data={"csrf_token": token(client)})
    assert client.get("/dashboard/board").status_code == 302
    thief = app.test_client()
    thief.set_cookie("hotline_session", copied)
    assert thief.get("/dashboard/board").status_code == 302


def test_a_deactivated_user_is_signed_out_at_once(app, client, rt, staff):
    sign_in(client, "rivera")
    admin = app.test_client()
    sign_in(admin, "adams")
    with rt.db.reading() as session:
        from models import DashboardUser

        rivera = session.exec(select(DashboardUser).where(DashboardUser.username == "rivera")).one()
    admin.post(f"/dashboard/users/{rivera.id}/deactivate", data={"csrf_token": token(admin)})
    assert client.get("/dashboard/board").status_code == 302
    assert sign_in(client, "rivera").status_code == 401


def test_next_only_leads_back_into_the_dashboard(client, staff):
    token_html = client.get("/dashboard/login?next=https://evil.example/").get_data(as_text=True)
    assert "evil.example" not in token_html
    from tests.dashboard_support import csrf_from

    response = client.post(
        "/dashboard/login",
        data={
            "csrf_token": csrf_from(token_html),
            "username": "rivera",
            "password": PASSWORD,
            "next": "//evil.example/x",
        },
    )
    assert response.location == "/dashboard/"


# -- the board and a request -----------------------------------------------------------------


def test_board_json_shows_a_new_request_without_the_participants_number_or_place(client, rt, ride):
    sign_in(client, "rivera")
    data = client.get("/dashboard/board.json").get_json()
    [row] = data["dispatches"]
    assert row["ref"] == ride and row["status"] == "offered" and row["unanswered"]
    assert row["officer"].startswith("offered to Ofc.") and row["deadline"]
    assert row["meet"] == "place given"
    body = client.get("/dashboard/board.json").get_data(as_text=True) + client.get(
        "/dashboard/board"
    ).get_data(as_text=True)
    assert PARTICIPANT[-7:] not in body and "5550142" not in body
    assert "QuikTrip" not in body, "the place is only on the request's own page"
    assert sorted(data["on_duty"]) == ["Ofc. Chen", "Ofc. Okafor", "Ofc. Smith"]


def test_board_flags_a_request_nobody_can_take(client, rt, twilio, staff):
    from sqlalchemy import update

    with rt.db.unit_of_work() as session:
        session.execute(update(Officer).values(on_duty=False))
        session.commit()
    ride = request_ride(twilio, PARTICIPANT)
    sign_in(client, "rivera")
    data = client.get("/dashboard/board.json").get_json()
    [row] = data["dispatches"]
    assert row["ref"] == ride and row["status"] == "no_officer"
    assert row["urgent"] and row["status_label"] == "Nobody accepted"
    assert data["on_duty"] == []


def test_dispatch_page_shows_the_place_to_sergeants_while_open_and_audits_the_look(client, rt, ride):
    sign_in(client, "rivera")
    page = client.get(f"/dashboard/dispatch/{ride}").get_data(as_text=True)
    assert PLACE.replace("&", "&amp;") in page
    assert "5550142" not in page
    assert "dispatch.view_place" in audit_actions(rt)
    assert client.get("/dashboard/dispatch/NOPE").status_code == 404


def test_assign_note_and_close_with_an_outcome(client, rt, ride, staff):
    sign_in(client, "rivera")
    csrf = token(client)
    chen = staff["Ofc. Chen"]
    response = client.post(
        f"/dashboard/dispatch/{ride}/assign", data={"csrf_token": csrf, "officer_id": chen}
    )
    assert response.status_code == 302
    item = dispatch_row(rt, ride)
    assert item.status == "accepted" and item.officer_id == chen
    page = client.get(f"/dashboard/dispatch/{ride}").get_data(as_text=True)
    assert "rivera assigned it to Ofc. Chen." in page

    client.post(
        f"/dashboard/dispatch/{ride}/note", data={"csrf_token": csrf, "note": "Blue jacket, by the pumps"}
    )
    with rt.db.reading() as session:
        note = session.exec(select(DispatchEvent).where(DispatchEvent.kind == "note")).one()
    assert note.actor == "user:rivera" and "Blue jacket" not in (note.detail_sealed or ""), "notes are sealed"
    assert "Blue jacket, by the pumps" in client.get(f"/dashboard/dispatch/{ride}").get_data(as_text=True)

    bad = client.post(f"/dashboard/dispatch/{ride}/close", data={"csrf_token": csrf, "outcome": "maybe"})
    assert bad.status_code == 302 and dispatch_row(rt, ride).status == "accepted"
    client.post(f"/dashboard/dispatch/{ride}/close", data={"csrf_token": csrf, "outcome": "in"})
    item = dispatch_row(rt, ride)
    assert (item.status, item.outcome) == ("completed", "in")
    assert item.contact_sealed is None, "closing erases the participant's contact number"
    page = client.get(f"/dashboard/dispatch/{ride}").get_data(as_text=True)
    assert "QuikTrip" not in page, "a closed request no longer shows its place"
    assert "Inpatient" in page and "Assign to" not in page
    assert client.get("/dashboard/board.json").get_json()["dispatches"] == []

    again = client.post(
        f"/dashboard/dispatch/{ride}/cancel", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert b"already closed" in again.data and dispatch_row(rt, ride).status == "completed"
    assert [a for a in audit_actions(rt) if a.startswith("dispatch.") and a != "dispatch.view_place"] == [
        "dispatch.assign",
        "dispatch.note",
        "dispatch.completed",
    ]


def test_cancel_from_the_board(client, rt, ride):
    sign_in(client, "rivera")
    client.post(f"/dashboard/dispatch/{ride}/cancel", data={"csrf_token": token(client)})
    assert dispatch_row(rt, ride).status == "cancelled"
    with rt.db.reading() as session:
        event = session.exec(select(DispatchEvent).where(DispatchEvent.kind == "cancelled")).one()
    assert event.actor == "user:rivera"


def test_two_sergeants_closing_at_once_close_it_once(app, rt, ride):
    clients = [app.test_client(), app.test_client()]
    tokens = []
    for c in clients:
        sign_in(c, "rivera")
        tokens.append(token(c))
    barrier = threading.Barrier(2)

    def close(c, csrf, outcome):
        barrier.wait()
        c.post(f"/dashboard/dispatch/{ride}/close", data={"csrf_token": csrf, "outcome": outcome})

    threads = [
        threading.Thread(target=close, args=(c, t, o))
        for c, t, o in zip(clients, tokens, ["in", "out"], strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with rt.db.reading() as session:
        closes = session.exec(select(DispatchEvent).where(DispatchEvent.kind == "completed")).all()
    assert len(closes) == 1
    assert audit_actions(rt).count("dispatch.completed") == 1


def test_database_outage_gives_a_clear_page_not_a_crash(tmp_path):
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"
    app = create_app(hotline_config(url, TESTING=True), transport=FakeTransport(), environ={})
    try:
        client = app.test_client()
        page = client.get("/dashboard/login")
        from tests.dashboard_support import csrf_from

        response = client.post(
            "/dashboard/login",
            data={
                "csrf_token": csrf_from(page.get_data(as_text=True)),
                "username": "rivera",
                "password": PASSWORD,
            },
        )
        assert response.status_code == 503 and b"database" in response.data
    finally:
        runtime(app).db.dispose()


# -- roster, users, audit, flow --------------------------------------------------------------


def test_admin_adds_edits_puts_on_duty_and_deactivates_an_officer(client, rt, staff):
    sign_in(client, "adams")
    csrf = token(client)
    client.post(
        "/dashboard/roster/add", data={"csrf_token": csrf, "name": "Ofc. Diaz", "phone": "+18165550177"}
    )
    page = client.get("/dashboard/roster").get_data(as_text=True)
    assert "Ofc. Diaz" in page and "...0177" in page and "+18165550177" not in page
    with rt.db.reading() as session:
        diaz = session.exec(select(Officer).where(Officer.name == "Ofc. Diaz")).one()
    assert not diaz.on_duty and not diaz.is_sergeant

    bad = client.post(
        "/dashboard/roster/add",
        data={"csrf_token": csrf, "name": "Dup", "phone": "+18165550177"},
        follow_redirects=True,
    )
    assert b"already on the roster" in bad.data
    client.post(
        f"/dashboard/roster/{diaz.id}/edit",
        data={"csrf_token": csrf, "name": "Sgt. Diaz", "role": "sergeant", "phone": "+18165550178"},
    )
    client.post(f"/dashboard/roster/{diaz.id}/duty", data={"csrf_token": csrf, "on_duty": "1"})
    with rt.db.reading() as session:
        diaz = session.get(Officer, diaz.id)
    assert (diaz.name, diaz.is_sergeant, diaz.on_duty) == ("Sgt. Diaz", True, True)
    assert diaz.phone_hash == rt.pseudonyms.of("+18165550178")

    client.post(f"/dashboard/roster/{diaz.id}/active", data={"csrf_token": csrf, "active": "0"})
    with rt.db.reading() as session:
        diaz = session.get(Officer, diaz.id)
    assert not diaz.active and not diaz.on_duty
    actions = audit_actions(rt)
    for action in ("roster.add", "roster.edit", "roster.duty", "roster.deactivate"):
        assert action in actions


def test_admin_adds_a_user_who_can_then_sign_in(app, client, rt, staff):
    sign_in(client, "adams")
    csrf = token(client)
    short = client.post(
        "/dashboard/users/add",
        data={"csrf_token": csrf, "username": "kim", "role": "sergeant", "password": "short"},
        follow_redirects=True,
    )
    assert b"at least 12" in short.data
    client.post(
        "/dashboard/users/add",
        data={"csrf_token": csrf, "username": "kim", "role": "sergeant", "password": PASSWORD},
    )
    assert sign_in(app.test_client(), "kim").status_code == 302
    log = client.get("/dashboard/audit").get_data(as_text=True)
    assert '<td data-label="Who">adams</td>' in log and "Added the dashboard user kim, as sergeant." in log
    assert PASSWORD not in log


def test_flow_page_shows_every_state_to_both_roles(app, client, staff):
    from flows import INTAKE

    for username in ("rivera", "adams"):
        c = app.test_client()
        sign_in(c, username)
        page = c.get("/dashboard/flow").get_data(as_text=True)
        for state in INTAKE.states:
            assert f'id="state-{state}"' in page
        assert "stateDiagram-v2" in page


def test_pages_forbid_framing_and_inline_scripts(client, staff):
    response = client.get("/dashboard/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in response.get_data(as_text=True)


def test_latest_ref_helper_finds_the_request(rt, ride):
    assert latest_ref(rt) == ride
