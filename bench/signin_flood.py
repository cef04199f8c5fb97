"""Sign-in flood: wrong passwords from one address against gunicorn, while Twilio's texts keep coming.

    .venv/bin/python bench/signin_flood.py [--clients 8] [--seconds 8] [--postgres URL] [--redis URL]

Loopback only: gunicorn with the Procfile's settings (gunicorn.conf.py: two sync workers, one trusted
proxy), SQLite in a temporary folder unless --postgres. First a few seconds of signed texts alone
(the baseline), then `--clients` threads post wrong passwords from one client address
(X-Forwarded-For, as nginx sends it) for `--seconds`, half at the sergeant's username and half at
made-up ones, while one thread keeps texting and the sergeant signs in from another address halfway.
Prints the sign-ins sent and their answers, how many reached the password check (each one the audit
log records: a refused sign-in never gets there), the texts' p50/p95 before and during the flood, and
the sergeant's answer. Exits non-zero if the sergeant could not sign in.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent

from harness import create_database, free_port, settings, signed_sms  # noqa: E402

SETTINGS = settings()
PASSWORD = "correct horse battery staple"
#: The guesser's and the sergeant's addresses, new each run (a shared Redis remembers a minute).
GUESSER = f"203.0.113.{random.randrange(1, 255)}"
SERGEANT = f"198.51.100.{random.randrange(1, 255)}"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A browser at one client address: its session cookie and CSRF token.

    The cookie is kept by hand: it is marked Secure (the public URL is https, nginx's side of the
    proxy), which a cookie jar would never send over this loopback http.
    """

    def __init__(self, base: str, address: str):
        self.base, self.address = base, address
        self.opener = urllib.request.build_opener(NoRedirect())
        self.cookie = ""
        with self.opener.open(
            urllib.request.Request(base + "/dashboard/login", headers=self._headers())
        ) as page:
            self.cookie = page.headers["Set-Cookie"].split(";", 1)[0]
            html = page.read().decode()
        self.csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def _headers(self) -> dict[str, str]:
        return {"X-Forwarded-For": self.address, "X-Forwarded-Proto": "https", "Cookie": self.cookie}

    def sign_in(self, username: str, password: str) -> int:
        form = {"csrf_token": self.csrf, "username": username, "password": password}
        data = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(self.base + "/dashboard/login", data, self._headers())
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            error.close()
            return error.code


def text_once(base: str) -> float:
    """Send one signed text from a new number; return its latency in seconds."""
    params, signature = signed_sms("hi", f"+1816{random.randrange(2_000_000, 9_999_999)}")
    data = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(base + "/twilio/sms", data, {"X-Twilio-Signature": signature})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
        assert response.status == 200, response.status
    return time.perf_counter() - started


def prepare(url: str) -> None:
    """Create the tables and two accounts: the sergeant and an admin."""
    from hotline import create_app
    from hotline.plumbing.runtime import runtime
    from hotline.web.dashboard import accounts

    app = create_app({**SETTINGS, "DATABASE_URL": url}, environ={})
    rt = runtime(app)
    rt.db.create_all()
    with rt.db.unit_of_work() as session:
        accounts.add_user(session, username="rivera", role="sergeant", password=PASSWORD)
        accounts.add_user(session, username="adams", role="admin", password=PASSWORD)
        session.commit()
    rt.db.dispose()


def password_checks(url: str) -> int:
    """Return how many sign-ins reached the password check: the audit log records each of them."""
    from sqlalchemy import create_engine, func
    from sqlmodel import Session, col, select

    from models import AuditEntry

    engine = create_engine(url)
    with Session(engine) as session:
        checked = session.exec(
            select(func.count())
            .select_from(AuditEntry)
            .where(col(AuditEntry.action).in_(["login", "login_wrong"]))
        ).one()
    engine.dispose()
    return checked


def percentiles(samples: list[float]) -> str:
    if len(samples) < 2:
        return "too few texts"
    cuts = statistics.quantiles(samples, n=100)
    return f"{len(samples)} texts, p50 {cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--baseline", type=float, default=4.0, help="seconds of texts alone first")
    parser.add_argument("--postgres", help="a PostgreSQL URL to use instead of a temporary SQLite file")
    parser.add_argument("--redis", help="HOTLINE_RATE_LIMIT_STORAGE, e.g. redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="hotline-signin-"))
    url = args.postgres or f"sqlite:///{folder / 'signin.sqlite3'}"
    if args.postgres and (reason := create_database(url)):
        print(f"PostgreSQL did not answer: {reason}")
        return 1
    prepare(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, **SETTINGS, "DATABASE_URL": url, "HOST": "127.0.0.1", "PORT": str(port)}
    if args.redis:
        env["HOTLINE_RATE_LIMIT_STORAGE"] = args.redis
    log = (folder / "web.log").open("wb")
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or web.poll() is not None:
                    print("gunicorn did not start; see", folder / "web.log")
                    return 1
                time.sleep(0.1)

        quiet: list[float] = []
        end = time.monotonic() + args.baseline
        while time.monotonic() < end:
            quiet.append(text_once(base))

        guessers = [Browser(base, GUESSER) for _ in range(args.clients)]
        answers: Counter[int] = Counter()
        stop = threading.Event()

        def guess(browser: Browser, seed: int) -> None:
            rng = random.Random(seed)
            while not stop.is_set():
                name = "rivera" if rng.random() < 0.5 else f"user{rng.randrange(10**6)}"
                answers[browser.sign_in(name, f"guess {rng.random()}")] += 1

        threads = [threading.Thread(target=guess, args=(b, n), daemon=True) for n, b in enumerate(guessers)]
        loud: list[float] = []
        early: list[float] = []
        late: list[float] = []
        sergeant_answer = None
        started = time.monotonic()
        for thread in threads:
            thread.start()
        while time.monotonic() - started < args.seconds:
            at = time.monotonic() - started
            loud.append(text_once(base))
            (late if at > args.seconds / 2 else early).append(loud[-1])
            if sergeant_answer is None and time.monotonic() - started > args.seconds / 2:
                sergeant_answer = Browser(base, SERGEANT).sign_in("rivera", PASSWORD)
        stop.set()
        for thread in threads:
            thread.join(30)
    finally:
        web.terminate()
        try:
            web.wait(20)
        except subprocess.TimeoutExpired:
            web.kill()
        log.close()

    checked = password_checks(url)
    sent = sum(answers.values())
    print(f"flood: {args.clients} clients for {args.seconds:g} s from one address, {sent} sign-ins")
    print("  answers: " + ", ".join(f"{code}: {count}" for code, count in sorted(answers.items())))
    print(f"  reached the password check: {checked} (the sergeant's own sign-in included)")
    print(f"texts before the flood: {percentiles(quiet)}")
    print(f"texts during the flood: {percentiles(loud)}")
    print(f"  its first half: {percentiles(early)}; its second half: {percentiles(late)}")
    print(f"the sergeant, from another address during the flood: {sergeant_answer}")
    return 0 if sergeant_answer == 302 else 1


if __name__ == "__main__":
    sys.exit(main())
