"""Soak: gunicorn + the worker for a bounded time, mixing texts, calls and staff commands.

    .venv/bin/python bench/soak.py                    # 10 minutes on SQLite in a temporary folder
    .venv/bin/python bench/soak.py --minutes 2 --postgres postgresql+psycopg://postgres@127.0.0.1/soak

Loopback only: gunicorn listens on 127.0.0.1 with the Procfile's settings (gunicorn.conf.py), the
worker uses the local transport (nothing leaves the machine). Client threads play participants
asking for rides (each its own number, the whole intake), emergencies, callers walking the phone
menu, and the sergeant and officers sending ROSTER, OPEN, ON, OFF and HELP. Every `--report`
seconds it prints requests, errors, p99 latency and the RSS of each web worker and of the worker
process; at the end a summary. Exits non-zero if any request failed (not 200, or no answer).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent

from harness import PUBLIC_URL, TOKEN, children, create_database, free_port, rss_mb, settings  # noqa: E402

SETTINGS = settings(HOTLINE_WORKER_POLL_SECONDS="0.2")
SERGEANT = "+18165550100"
OFFICERS = ["+18165550101", "+18165550102", "+18165550103"]
#: Seconds between staff texts (all staff together): the sergeant sends about 20 in 10 minutes.
STAFF_EVERY = 15.0
RIDE = ["hi", "2", "yes", "yes", "yes", "no", "not sure", "QuikTrip, 291 & 3rd St", "yes", "yes"]


class Stats:
    """Requests, errors and latencies, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.requests = self.errors = 0
        self.kinds: dict[str, int] = {}
        self.error_samples: list[str] = []

    def record(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.requests += 1
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            self.latencies.append(seconds)
            if error:
                self.errors += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{kind}: {error}")

    def take(self) -> list[float]:
        with self.lock:
            taken, self.latencies = self.latencies, []
        return taken


class Client:
    """Posts signed Twilio webhooks to the soaked server."""

    def __init__(self, port: int, stats: Stats) -> None:
        self.port, self.stats = port, stats
        self.validator = RequestValidator(TOKEN)

    def post(self, kind: str, path: str, params: dict) -> str:
        signature = self.validator.compute_signature(PUBLIC_URL + path, params)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=urllib.parse.urlencode(params).encode(),
            headers={"X-Twilio-Signature": signature},
        )
        started = time.monotonic()
        error, body = None, ""
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                body = response.read().decode()
                if response.status not in (200, 204):
                    error = f"HTTP {response.status}"
        except urllib.error.HTTPError as failure:
            error = f"HTTP {failure.code}"
        except OSError as failure:
            error = type(failure).__name__
        self.stats.record(kind, time.monotonic() - started, error)
        return body

    def text(self, body: str, sender: str, kind: str = "text") -> str:
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "From": sender,
            "To": SETTINGS["TWILIO_PHONE_NUMBER"],
        }
        return self.post(kind, "/twilio/sms", {**params, "Body": body, "NumMedia": "0"})

    def call(self, caller: str) -> None:
        call = {"CallSid": "CA" + uuid.uuid4().hex, "From": caller, "To": SETTINGS["TWILIO_PHONE_NUMBER"]}
        self.post("call", "/twilio/voice", {**call, "CallStatus": "ringing"})
        self.post("call", "/twilio/voice/language", {**call, "Digits": "1"})
        self.post("call", "/twilio/voice/step?step=1", {**call, "Digits": "1"})
        self.post("call", "/twilio/voice/status", {**call, "CallStatus": "completed"})


def participant(client: Client, rng: random.Random) -> None:
    """One person: a whole ride request, sometimes an emergency, sometimes a call instead."""
    number = f"+1913{rng.randrange(2_000_000, 9_999_999)}"
    roll = rng.random()
    if roll < 0.15:
        client.call(number)
    elif roll < 0.25:
        client.text("someone is not breathing", number, kind="emergency")
    else:
        for body in RIDE[: rng.randrange(3, len(RIDE) + 1)]:
            client.text(body, number)


def staff(client: Client, rng: random.Random) -> None:
    """One staff text (each staff number stays well under the per-number limit)."""
    if rng.random() < 0.5:
        client.text(rng.choice(["ROSTER", "OPEN", "HELP"]), SERGEANT, kind="staff")
    else:
        client.text(rng.choice(["OFF", "ON", "HELP"]), rng.choice(OFFICERS), kind="staff")


def prepare(url: str) -> None:
    """Create the tables and a roster: a sergeant and three officers on duty."""
    from hotline import create_app
    from hotline.plumbing.runtime import runtime
    from hotline.services import roster

    app = create_app({**SETTINGS, "DATABASE_URL": url}, environ={})
    rt = runtime(app)
    rt.db.create_all()
    with rt.db.unit_of_work() as session:
        roster.add_officer(session, rt, name="Sgt. Rivera", phone=SERGEANT, sergeant=True)
        for n, phone in enumerate(OFFICERS):
            roster.add_officer(session, rt, name=f"Ofc. {n}", phone=phone).on_duty = True
        session.commit()
    rt.db.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (at most 60)")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--report", type=float, default=30.0, help="seconds between reports")
    parser.add_argument("--postgres", help="a PostgreSQL URL to use instead of a temporary SQLite file")
    args = parser.parse_args()
    minutes = min(max(args.minutes, 0.1), 60.0)

    folder = Path(tempfile.mkdtemp(prefix="hotline-soak-"))
    url = args.postgres or f"sqlite:///{folder / 'soak.sqlite3'}"
    if args.postgres:
        reason = create_database(url)
        if reason is not None:
            print(f"PostgreSQL did not answer: {reason}")
            return 1
        _empty(url)
    prepare(url)
    port = free_port()
    env = {**os.environ, **SETTINGS, "DATABASE_URL": url, "HOST": "127.0.0.1", "PORT": str(port)}
    web_log, worker_log = (folder / "web.log").open("wb"), (folder / "worker.log").open("wb")
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=web_log,
    )
    worker = subprocess.Popen(
        [str(BIN / "hotline"), "worker"], cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=worker_log
    )
    stats, stop = Stats(), threading.Event()
    peaks: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 30
        while not _listening(port):
            if time.monotonic() > deadline or web.poll() is not None:
                print("gunicorn did not start; see", folder / "web.log")
                return 1
            time.sleep(0.1)
        client = Client(port, stats)

        pace = {"next": 0.0}
        pace_lock = threading.Lock()

        def staff_due() -> bool:
            # One staff text every STAFF_EVERY seconds in all: each staff number stays under its limit.
            with pace_lock:
                if time.monotonic() < pace["next"]:
                    return False
                pace["next"] = time.monotonic() + STAFF_EVERY
                return True

        def play(seed: int) -> None:
            rng = random.Random(seed)
            while not stop.is_set():
                (staff if staff_due() else participant)(client, rng)

        threads = [threading.Thread(target=play, args=(n,), daemon=True) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        end = started + minutes * 60
        print(f"soak: {minutes:g} min, {args.clients} clients, {'PostgreSQL' if args.postgres else 'SQLite'}")
        print(f"{'t (s)':>6} {'requests':>9} {'errors':>7} {'p99 ms':>7}  RSS MB (web workers | worker)")
        while time.monotonic() < end:
            time.sleep(min(args.report, max(0.0, end - time.monotonic())))
            taken = stats.take()
            p99 = statistics.quantiles(taken, n=100)[98] * 1000 if len(taken) >= 2 else 0.0
            webs = [rss_mb(pid) for pid in children(web.pid)]
            work = rss_mb(worker.pid)
            for n, value in enumerate(webs):
                peaks[f"web {n}"] = max(peaks.get(f"web {n}", 0.0), value)
            peaks["worker"] = max(peaks.get("worker", 0.0), work)
            shown = " ".join(f"{value:.0f}" for value in webs)
            print(
                f"{time.monotonic() - started:6.0f} {stats.requests:9d} {stats.errors:7d} {p99:7.1f}"
                f"  {shown} | {work:.0f}",
                flush=True,
            )
        stop.set()
        for thread in threads:
            thread.join(20)
    finally:
        stop.set()
        for process in (web, worker):
            process.terminate()
        for process in (web, worker):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        web_log.close()
        worker_log.close()
    crashed = "Traceback" in (folder / "web.log").read_text() + (folder / "worker.log").read_text()
    print(f"done: {stats.requests} requests {dict(sorted(stats.kinds.items()))}, {stats.errors} errors")
    print("peak RSS MB: " + ", ".join(f"{name} {value:.0f}" for name, value in peaks.items()))
    for sample in stats.error_samples:
        print("  error:", sample)
    if crashed:
        print("a traceback is in the logs:", folder)
    return 1 if stats.errors or crashed else 0


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _empty(url: str) -> None:
    """Drop and re-create the soak database's tables (it must be a throwaway database)."""
    from sqlalchemy import create_engine

    import models

    engine = create_engine(url)
    models.metadata.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
