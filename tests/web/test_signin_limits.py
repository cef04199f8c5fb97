"""Sign-in limits: a guesser is slowed down before any password hash, and the real person still signs in."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time

import pytest
import redis
from sqlmodel import select

from hotline import create_app
from hotline.plumbing.config import ConfigError
from hotline.plumbing.runtime import runtime
from hotline.web.dashboard import accounts, signin_limits
from models import AuditEntry
from tests.dashboard_support import PASSWORD, add_accounts, csrf_from
from tests.support import REPO, FakeTransport, hotline_config, require

REDIS_URL = "redis://127.0.0.1:6379/15"
#: The flood of the acceptance figure: 8 clients for 8 seconds from one address.
FLOOD_CLIENTS, FLOOD_SECONDS, MOST_CHECKS = 8, 8.0, 20


def make_app(database_url: str, **settings):
    config = hotline_config(database_url, TESTING=True, **{"HOTLINE_TRUSTED_PROXIES": 1, **settings})
    app = create_app(config, transport=FakeTransport(), environ={})
    runtime(app).db.create_all()
    add_accounts(runtime(app))
    return app


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    yield app
    runtime(app).db.dispose()


@pytest.fixture
def checks(monkeypatch) -> list[int]:
    """Count every password hash check (argon2 verify), the decoy for unknown names included."""
    counted: list[int] = []
    verify = accounts._verify

    def counting(password_hash: str, password: str) -> bool:
        counted.append(1)
        return verify(password_hash, password)

    monkeypatch.setattr(accounts, "_verify", counting)
    return counted


class Browser:
    """A test client that signs in from one client address (behind the one trusted proxy)."""

    def __init__(self, app, address: str):
        self.client = app.test_client()
        self.headers = {"X-Forwarded-For": address}
        page = self.client.get("/dashboard/login", headers=self.headers).get_data(as_text=True)
        self.csrf = csrf_from(page)

    def sign_in(self, username: str, password: str = PASSWORD):
        form = {"csrf_token": self.csrf, "username": username, "password": password}
        return self.client.post("/dashboard/login", data=form, headers=self.headers)


def audit_rows(app) -> list[AuditEntry]:
    with runtime(app).db.reading() as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())


def test_a_flood_from_one_address_reaches_the_password_check_at_most_20_times(tmp_path, checks):
    app = make_app(f"sqlite:///{tmp_path / 'flood.sqlite3'}")
    try:
        guessers = [Browser(app, "203.0.113.7") for _ in range(FLOOD_CLIENTS)]
        sergeant = Browser(app, "198.51.100.20")
        statuses: list[int] = []
        deadline = time.monotonic() + FLOOD_SECONDS

        def guess(browser: Browser, n: int) -> None:
            while time.monotonic() < deadline:
                statuses.append(browser.sign_in("rivera", f"guess {n} {len(statuses)}").status_code)

        threads = [threading.Thread(target=guess, args=(b, n)) for n, b in enumerate(guessers)]
        for thread in threads:
            thread.start()
        time.sleep(FLOOD_SECONDS / 2)
        during = sergeant.sign_in("rivera")
        for thread in threads:
            thread.join()
        print(f"flood: {len(statuses)} sign-ins in {FLOOD_SECONDS:.0f} s, {len(checks)} password checks")
        assert len(statuses) > 100, "the flood should really flood"
        assert len(checks) <= MOST_CHECKS
        assert set(statuses) == {401, 429}
        assert during.status_code == 302, "the sergeant signs in from another address during the flood"
        assert Browser(app, "198.51.100.21").sign_in("rivera").status_code == 302, "and after it"
    finally:
        runtime(app).db.dispose()


def test_a_refused_sign_in_says_when_to_retry_and_writes_nothing(app, checks):
    browser = Browser(app, "203.0.113.8")
    for _ in range(signin_limits.ADDRESS_BURST.amount):
        assert browser.sign_in("rivera", "wrong password!").status_code == 401
    before = len(audit_rows(app))
    refused = browser.sign_in("rivera")  # even the right password waits: the check is never reached
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 10
    assert b"Too many sign-ins from this network. Wait " in refused.data and b" seconds" in refused.data
    assert len(audit_rows(app)) == before
    assert len(checks) == signin_limits.ADDRESS_BURST.amount


def test_ten_sign_ins_a_minute_from_one_address(app):
    limits = signin_limits.signin_limits(app)
    for _ in range(signin_limits.ADDRESS_ATTEMPTS.amount):  # ten tries in the last minute, a few at a time
        limits.limiter.hit(signin_limits.ADDRESS_ATTEMPTS, "203.0.113.9")
    refusal = limits.admit("203.0.113.9", "rivera")
    assert refusal is not None and refusal.reason == "address"
    assert 50 < refusal.retry_after <= 60 and refusal.wait.endswith("seconds")
    assert limits.admit("203.0.113.10", "rivera") is None


def test_guessing_one_username_from_many_addresses_spares_its_owner(app, checks):
    limit = signin_limits.USERNAME_FAILURES.amount
    for n in range(limit):
        assert Browser(app, f"203.0.113.{n + 10}").sign_in("rivera", "wrong password!").status_code == 401
    checks.clear()
    again = Browser(app, "203.0.113.10").sign_in("rivera")
    assert again.status_code == 429 and b"your account is not locked" in again.data
    assert Browser(app, "203.0.113.11").sign_in("RIVERA ", "nope nope nope").status_code == 429
    assert checks == [], "no password check for the guessed name from an address that failed"
    assert Browser(app, "198.51.100.30").sign_in("rivera").status_code == 302, "its owner, elsewhere"
    assert Browser(app, "203.0.113.12").sign_in("adams").status_code == 302, "other names from there"


def test_failures_from_one_address_over_an_hour_stop_it(app):
    limits = signin_limits.signin_limits(app)
    for n in range(signin_limits.ADDRESS_FAILURES.amount):
        limits.failed("203.0.113.40", f"name{n}")
    refusal = limits.admit("203.0.113.40", "someone")
    assert refusal is not None and refusal.reason == "address" and refusal.wait.endswith("minutes")
    assert limits.admit("203.0.113.41", "someone") is None


def test_the_audit_log_records_the_client_address_behind_the_proxy(app):
    Browser(app, "198.51.100.50").sign_in("rivera", "wrong password!")
    Browser(app, "198.51.100.51").sign_in("rivera")
    assert [(e.action, e.address) for e in audit_rows(app)] == [
        ("login_wrong", "198.51.100.50"),
        ("login", "198.51.100.51"),
    ]


def test_without_trusted_proxies_a_forwarded_address_is_ignored(database_url):
    app = make_app(database_url, HOTLINE_TRUSTED_PROXIES=0)
    try:
        Browser(app, "198.51.100.60").sign_in("rivera")
        assert [e.address for e in audit_rows(app)] == ["127.0.0.1"]
        assert app.config["HOTLINE_TRUSTED_PROXIES"] == 0
    finally:
        runtime(app).db.dispose()


@pytest.mark.parametrize("value", ["-1", "one", "9"])
def test_a_wrong_trusted_proxies_setting_is_refused_by_name(database_url, value):
    with pytest.raises(ConfigError, match="HOTLINE_TRUSTED_PROXIES"):
        create_app(hotline_config(database_url, HOTLINE_TRUSTED_PROXIES=value), environ={})


def test_the_trusted_proxies_setting_defaults_to_zero(database_url):
    app = create_app(hotline_config(database_url), transport=FakeTransport(), environ={})
    assert app.config["HOTLINE_TRUSTED_PROXIES"] == 0
    runtime(app).db.dispose()


def redis_up() -> bool:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def test_web_processes_share_the_count_in_redis(tmp_path):
    require(redis_up(), f"Redis is not reachable at {REDIS_URL}")
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    first = make_app(url, HOTLINE_RATE_LIMIT_STORAGE=REDIS_URL)
    second = create_app(
        hotline_config(url, TESTING=True, HOTLINE_TRUSTED_PROXIES=1, HOTLINE_RATE_LIMIT_STORAGE=REDIS_URL),
        transport=FakeTransport(),
        environ={},
    )
    # An address and a name new to the shared Redis (it remembers failures for 15 minutes).
    address = f"198.18.{random.randrange(256)}.{random.randrange(256)}"
    name = f"guesser{random.randrange(10**9)}"
    try:
        statuses = [
            Browser(app, address).sign_in(name, "wrong password!").status_code
            for app in [first, second] * signin_limits.ADDRESS_BURST.amount
        ]
        assert statuses.count(401) == signin_limits.ADDRESS_BURST.amount, (
            "counted once for both, not once each"
        )
        assert statuses.count(429) == signin_limits.ADDRESS_BURST.amount
    finally:
        runtime(first).db.dispose()
        runtime(second).db.dispose()


def test_an_unreachable_redis_still_limits_in_memory(database_url, checks, caplog):
    app = make_app(database_url, HOTLINE_RATE_LIMIT_STORAGE="redis://127.0.0.1:9/0")
    try:
        browser = Browser(app, "203.0.113.90")
        burst = signin_limits.ADDRESS_BURST.amount
        statuses = [browser.sign_in("rivera", "wrong password!").status_code for _ in range(burst + 2)]
        assert statuses == [401] * burst + [429] * 2
        assert Browser(app, "198.51.100.90").sign_in("rivera").status_code == 302
        assert "sign-in limit storage failed" in caplog.text
    finally:
        runtime(app).db.dispose()


def test_every_dashboard_action_records_the_client_address(app):
    browser = Browser(app, "198.51.100.70")
    assert browser.sign_in("adams").status_code == 302
    page = browser.client.get("/dashboard/users", headers=browser.headers).get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "name": "Ofc. Diaz", "phone": "+18165550177"}
    browser.client.post("/dashboard/roster/add", data=form, headers=browser.headers)
    assert [(e.action, e.address) for e in audit_rows(app)] == [
        ("login", "198.51.100.70"),
        ("roster.add", "198.51.100.70"),
    ]


def test_the_web_process_believes_one_proxy_by_default_as_nginx_is_set_up():
    nginx = (REPO / "deploy" / "nginx" / "hotline.conf").read_text(encoding="utf-8")
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in nginx
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx
    script = (
        "import os, runpy; runpy.run_path('gunicorn.conf.py'); print(os.environ['HOTLINE_TRUSTED_PROXIES'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "HOTLINE_TRUSTED_PROXIES"}
    default = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert default.stdout.strip() == "1", default.stderr
    chosen = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**env, "HOTLINE_TRUSTED_PROXIES": "0"},
        capture_output=True,
        text=True,
    )
    assert chosen.stdout.strip() == "0", chosen.stderr
