"""Security headers on every response, styled error pages, and odd inputs that must never give a 500."""

from __future__ import annotations

import pytest
from sqlmodel import select

from hotline import create_app
from hotline.plumbing.runtime import runtime
from models import AuditEntry
from tests.dashboard_support import PASSWORD, add_accounts, csrf_from, sign_in, token
from tests.support import FakeTransport, Twilio, hotline_config, sms_params

EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
HSTS = "Strict-Transport-Security"


@pytest.fixture
def staff(rt):
    add_accounts(rt)


def plain_http_app(database_url, **settings):
    config = hotline_config(
        database_url, TESTING=True, HOTLINE_PUBLIC_URL="http://127.0.0.1:5000", **settings
    )
    app = create_app(config, transport=FakeTransport(), environ={})
    runtime(app).db.create_all()
    return app


def responses(client):
    """One response of every kind the hotline gives: pages, static files, health, webhooks, errors."""
    twilio = Twilio(client)
    answers = {
        "sign-in page": client.get("/dashboard/login"),
        "redirect": client.get("/dashboard/board"),
        "static file": client.get("/static/hotline.css"),
        "health": client.get("/healthz"),
        "text webhook": twilio.post("/twilio/sms", sms_params("hi")),
        "unsigned webhook": client.post("/twilio/sms", data=sms_params("hi")),
        "voice webhook": client.post("/twilio/voice", data={}),
        "not found": client.get("/nothing-here"),
        "not found in the dashboard": client.get("/dashboard/nothing-here"),
        "wrong method": client.get("/dashboard/logout"),
    }
    for response in answers.values():
        response.close()  # a static file's answer holds the file open until closed
    return answers


def test_every_response_carries_the_security_headers(client, staff):
    for kind, response in responses(client).items():
        for name, value in EVERYWHERE.items():
            assert response.headers.get(name) == value, (kind, name)
        assert response.headers.get(HSTS, "").startswith("max-age=31536000"), kind
        is_html = response.mimetype == "text/html"
        assert ("Content-Security-Policy" in response.headers) == is_html, kind


def test_hsts_only_over_https(database_url):
    app = plain_http_app(database_url, HOTLINE_TRUSTED_PROXIES=1)
    try:
        client = app.test_client()
        assert HSTS not in client.get("/healthz").headers
        served_https = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert served_https.headers[HSTS].startswith("max-age=31536000")
        with client.get("/static/hotline.css") as static:
            assert static.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        runtime(app).db.dispose()


def test_a_forwarded_scheme_is_ignored_without_a_trusted_proxy(database_url):
    app = plain_http_app(database_url)
    try:
        assert HSTS not in app.test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"}).headers
    finally:
        runtime(app).db.dispose()


# -- error pages -----------------------------------------------------------------------------


def assert_styled_page(response, code: int) -> str:
    """Check an error page: its status, the site's CSS, a phone's viewport, a way back to the board."""
    assert response.status_code == code
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "/static/hotline.css" in page
    assert 'name="viewport" content="width=device-width' in page
    assert 'href="/dashboard/"' in page and "Back to the board" in page
    assert f"Error {code}" in page
    assert "Traceback" not in page and "werkzeug" not in page.lower()
    return page


def test_error_pages_are_dashboard_pages(app, client, staff):
    assert_styled_page(client.get("/dashboard/nothing-here"), 404)
    assert_styled_page(client.get("/"), 404)
    assert_styled_page(client.get("/dashboard/logout"), 405)
    page = assert_styled_page(client.post("/dashboard/login", data={"username": "rivera"}), 400)
    assert "did not come from this site" in page
    sign_in(client, "rivera")
    assert_styled_page(client.get("/dashboard/users"), 403)
    assert_styled_page(client.get("/dashboard/dispatch/ZZZZ"), 404)


def test_an_unexpected_failure_gives_the_styled_500_page(database_url):
    app = create_app(hotline_config(database_url), transport=FakeTransport(), environ={})
    runtime(app).db.create_all()

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/dashboard/broken", "broken", broken)
    try:
        response = app.test_client().get("/dashboard/broken")
        page = assert_styled_page(response, 500)
        assert "a bug" not in page and response.headers["X-Content-Type-Options"] == "nosniff"
    finally:
        runtime(app).db.dispose()


def test_webhooks_and_json_keep_their_own_error_bodies(client, staff):
    refused = client.post("/twilio/sms", data=sms_params("hi"))
    assert refused.status_code == 403 and refused.get_data() == b""
    missing = client.get("/dashboard/nothing.json")
    assert missing.status_code == 404 and missing.get_json() == {"error": "not found"}


# -- inputs that gave a 500 ------------------------------------------------------------------


def test_a_non_ascii_csrf_token_is_refused_not_a_crash(client, staff):
    client.get("/dashboard/login")
    response = client.post(
        "/dashboard/login", data={"csrf_token": "jéton ✓", "username": "rivera", "password": PASSWORD}
    )
    assert response.status_code == 400
    response = client.post("/dashboard/login", headers={"X-CSRF-Token": "jéton"}, data={})
    assert response.status_code == 400


def test_a_report_of_no_real_year_is_not_found(client, staff):
    sign_in(client, "adams")
    for path in ("/dashboard/reports/0.csv", "/dashboard/reports/99999.csv", "/dashboard/reports?year=99999"):
        assert client.get(path).status_code == 404, path
    assert client.get("/dashboard/reports/2026.csv").status_code == 200


def test_a_huge_audit_page_is_not_found(client, staff):
    sign_in(client, "adams")
    assert client.get(f"/dashboard/audit?page={10**30}").status_code == 404
    assert client.get("/dashboard/audit?page=1e30").status_code == 200, "not a number: the first page"
    assert client.get("/dashboard/audit?page=2").status_code == 200


def test_odd_dispatch_references_are_not_found(client, staff):
    sign_in(client, "rivera")
    for ref in ("R7%00K2", "%00", "R7K2%0D%0A", "%C3%A9t%C3%A9"):
        assert client.get(f"/dashboard/dispatch/{ref}").status_code == 404, ref
        response = client.post(
            f"/dashboard/dispatch/{ref}/note", data={"csrf_token": token(client), "note": "x"}
        )
        assert response.status_code == 404, ref


def test_a_nul_in_a_username_is_a_wrong_sign_in_not_an_outage(client, rt, staff):
    response = client.post(
        "/dashboard/login",
        data={
            "csrf_token": csrf_from(client.get("/dashboard/login").get_data(as_text=True)),
            "username": "rivera\x00",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 401
    with rt.db.reading() as session:
        assert session.exec(select(AuditEntry.action)).all() == ["login_wrong"]


@pytest.mark.parametrize(
    "target",
    [
        "/dashboard/board\r\nLocation: https://evil.example/",
        "/dashboard/\r\n",
        "/dashboard/\t/evil.example",
        "/dashboard/../../evil",
        "/dashboard//evil.example",
        "https://evil.example/dashboard/",
    ],
)
def test_a_next_with_a_line_break_or_another_site_leads_to_the_dashboard(client, staff, target):
    page = client.get("/dashboard/login").get_data(as_text=True)
    response = client.post(
        "/dashboard/login",
        data={"csrf_token": csrf_from(page), "username": "rivera", "password": PASSWORD, "next": target},
    )
    assert response.status_code == 302
    assert response.location == "/dashboard/"


def test_a_plain_next_still_leads_back(client, staff):
    page = client.get("/dashboard/login?next=/dashboard/audit?page=2").get_data(as_text=True)
    assert 'name="next" value="/dashboard/audit?page=2"' in page
    response = client.post(
        "/dashboard/login",
        data={
            "csrf_token": csrf_from(page),
            "username": "adams",
            "password": PASSWORD,
            "next": "/dashboard/audit?page=2",
        },
    )
    assert response.location == "/dashboard/audit?page=2"
