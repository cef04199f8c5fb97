"""Speed where help waits: confirm -> offer, deadline -> next offer, and the webhooks under a sign-in flood.

    make bench                      # after bench/load.py; SQLite, and PostgreSQL when the server answers
    .venv/bin/python bench/wakeup.py [--rounds 15] [--flood-seconds 8] [--postgres URL]

Real processes on loopback, as the Procfile runs them: gunicorn with gunicorn.conf.py and
`hotline worker`, with the Twilio transport pointed at a small recording server in this script
(TWILIO_API_BASE_URL), which notes when each message reaches it.

- confirm -> offer: a participant's whole ride request, then the clock runs from just before the
  confirming YES is posted until the officer's offer reaches the recording server.
- deadline -> next offer: the program file gives offers a 1.5 s deadline; the clock runs from the
  first offer's deadline (as stored) until the next officer's offer reaches the server.
  Both beside their baseline in the same run: the same worker with HOTLINE_WORKER_WAKEUP=off,
  which looks once a poll interval (1 s), as every worker did before.
- the SMS webhook's latency (one client, a mid-conversation text every 20 ms) quiet, then while 8
  clients post wrong passwords to /dashboard/login: once with the dashboard on processes of its
  own (web + dashboard, as the Procfile and nginx split them), and beside it the baseline, one pool
  answering both.
- what waking costs: the CPU time an idle `hotline worker` uses in 10 s, with and without it.

The numbers are paced at a short code's rate (100 segments a second) here, so that what is measured
is how soon the worker sends; at a long code's 1 segment a second the pace decides instead (the
offer leaves first, then the sergeant's alert: bench/surge.py).

Then one line per target (the constants below): the value and "met" or "missed"; exit status 0.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent

from harness import ACCOUNT_SID, create_database, free_port, settings, signed_sms  # noqa: E402

CONFIRM_P95_MS = 100  # confirm -> offer at the transport, p95, on each database
DEADLINE_MAX_MS = 100  # deadline -> next offer, every round
FLOOD_RATIO = 3.0  # the SMS webhook's p95 under the flood over its quiet p95, at most
FLOOD_P95_MS = 250  # and below this

ACCOUNT = ACCOUNT_SID
RIDE = ["hi", "2", "yes", "yes", "yes", "no", "not sure", "QuikTrip, 291 & 3rd St", "yes"]
CONFIRM = "yes"
OFFER_DEADLINE_MINUTES = 0.025  # 1.5 s
PROBE_EVERY = 0.02
FLOOD_CLIENTS = 8


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# -- Twilio's REST API, recording when each message reaches it -----------------------------------


class RecordingTwilio(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.messages: list[tuple[datetime, str, str]] = []  # (arrival, To, Body)
        self.lock = threading.Condition()
        super().__init__(("127.0.0.1", 0), RecordingHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def offers_after(self, count: int, seconds: float) -> tuple[datetime, str] | None:
        """Wait for the first offer after the first `count` messages; its arrival and officer."""
        deadline = time.monotonic() + seconds
        with self.lock:
            while True:
                for arrival, to, body in self.messages[count:]:
                    if "ACCEPT" in body:
                        return arrival, to
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.lock.wait(left)


class RecordingHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        arrival = now_utc()
        form = dict(
            urllib.parse.parse_qsl(self.rfile.read(int(self.headers.get("Content-Length", 0))).decode())
        )
        with self.server.lock:
            self.server.messages.append((arrival, form.get("To", ""), form.get("Body", "")))
            self.server.lock.notify_all()
        data = json.dumps(
            {"sid": "SM" + uuid.uuid4().hex, "status": "queued", "account_sid": ACCOUNT}
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


# -- processes ------------------------------------------------------------------------------------


def healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


@contextmanager
def running(
    env: dict, *, roles: tuple[str, ...] = ("twilio",), worker: bool = True
) -> Iterator[dict[str, int]]:
    """Start gunicorn pools (by role) and maybe `hotline worker`; yield the ports (and the worker pid)."""
    ports, started = {}, []
    try:
        for role in roles:
            ports[role] = free_port()
            started.append(
                subprocess.Popen(
                    [
                        str(BIN / "gunicorn"),
                        "-c",
                        "gunicorn.conf.py",
                        "--access-logfile",
                        "/dev/null",
                        "wsgi:app",
                    ],
                    cwd=REPO,
                    env={
                        **os.environ,
                        **env,
                        "HOTLINE_WEB_ROLE": role,
                        "HOST": "127.0.0.1",
                        "PORT": str(ports[role]),
                    },
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        if worker:
            started.append(
                subprocess.Popen(
                    [str(BIN / "hotline"), "worker"],
                    cwd=REPO,
                    env={**os.environ, **env},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        web = dict(ports)
        if worker:
            ports["worker"] = started[-1].pid
        deadline = time.monotonic() + 30
        while not all(healthy(port) for port in web.values()):
            if time.monotonic() > deadline or any(p.poll() is not None for p in started):
                raise SystemExit("gunicorn or the worker did not start")
            time.sleep(0.1)
        yield ports
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(30)


def post_sms(port: int, body: str, sender: str) -> float:
    """Post a signed text; return the seconds it took to be answered."""
    params, signature = signed_sms(body, sender)
    data = urllib.parse.urlencode(params)
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    connection.request(
        "POST",
        "/twilio/sms",
        body=data,
        headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    if response.status != 200:
        raise SystemExit(f"the SMS webhook answered {response.status}")
    return time.perf_counter() - started


# -- confirm -> offer, deadline -> next offer ------------------------------------------------------


def prepare(url: str, env: dict) -> None:
    """An empty database with the demo roster (four officers on duty)."""
    import models
    from hotline import create_app
    from hotline.plumbing.runtime import runtime
    from hotline.services import roster

    rt = runtime(create_app(env, environ={}))
    models.metadata.drop_all(rt.db.engine)
    models.metadata.create_all(rt.db.engine)
    with rt.db.unit_of_work() as session:
        roster.seed_demo(session, rt)
        session.commit()
    rt.db.dispose()


def rides(env: dict, twilio: RecordingTwilio, rounds: int) -> tuple[list[float], list[float], list[float]]:
    """Ride requests to web + worker: confirm -> offer, deadline -> next offer, the confirm's answer (s)."""
    from sqlmodel import col, select

    from hotline import create_app
    from hotline.plumbing.runtime import runtime
    from hotline.services import dispatch
    from models import Dispatch, Offer

    rt = runtime(create_app({**env, "HOTLINE_TRANSPORT": "local"}, environ={}))
    confirm, deadline, answered = [], [], []
    with running(env) as ports:
        for n in range(rounds + 1):  # the first round warms the worker's Twilio client up: not counted
            sender = f"+1816{random.randrange(2000000, 9999999):07d}"
            for body in RIDE:
                post_sms(ports["twilio"], body, sender)
            time.sleep(random.uniform(0, 1))  # any phase against a polling worker
            seen = len(twilio.messages)
            posted = now_utc()
            took = post_sms(ports["twilio"], CONFIRM, sender)
            first = twilio.offers_after(seen, 10)
            if first is None:
                raise SystemExit("no offer reached Twilio within 10 s")
            seen = twilio.messages.index(next(m for m in twilio.messages[seen:] if "ACCEPT" in m[2])) + 1
            following = twilio.offers_after(seen, 10)
            with rt.db.reading() as session:
                ride = session.exec(select(Dispatch).order_by(col(Dispatch.id).desc())).first()
                offer = session.exec(
                    select(Offer).where(Offer.dispatch_id == ride.id).order_by(col(Offer.id))
                ).first()
            if following is None:
                raise SystemExit("no second offer reached Twilio within 10 s of the first")
            if n:
                confirm.append((first[0] - posted).total_seconds())
                answered.append(took)
                deadline.append((following[0] - offer.deadline).total_seconds())
            with rt.db.unit_of_work() as session:  # free the officers for the next round
                dispatch.close(
                    session, rt, session.get(Dispatch, ride.id), status="cancelled", actor="system"
                )
                session.commit()
            time.sleep(0.3)  # the cancellation's texts go out
    rt.db.dispose()
    return confirm, deadline, answered


# -- the SMS webhook under a sign-in flood ---------------------------------------------------------


def flood(port: int, seconds: float, clients: int, done) -> None:
    """Post wrong passwords to the sign-in page from `clients` threads for `seconds` (in a process)."""
    # The clients stand in for machines elsewhere: here they yield the CPU to the server they flood.
    os.nice(10)
    counts = []

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/dashboard/login")
        response = connection.getresponse()
        page = response.read().decode()
        cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"csrf_token": token, "username": "nobody", "password": "wrong-password"}
        )
        sent, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request(
                "POST",
                "/dashboard/login",
                body=form,
                headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
            )
            connection.getresponse().read()
            connection.close()
            sent += 1
        counts.append(sent)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.put(sum(counts))


def probe(port: int, seconds: float, senders: list[str]) -> list[float]:
    """A mid-conversation text every PROBE_EVERY seconds for `seconds`; each one's latency."""
    found, end, n = [], time.monotonic() + seconds, 0
    while time.monotonic() < end:
        started = time.monotonic()
        found.append(
            post_sms(port, "1" if (n // len(senders)) % 2 == 0 else "MENU", senders[n % len(senders)])
        )
        n += 1
        time.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - started)))
    return found


def webhooks_under_flood(env: dict, split: bool, seconds: float) -> tuple[list[float], list[float], int]:
    """The SMS webhook's latencies quiet and under the flood, and how many sign-ins the flood posted."""
    senders = [f"+1816{6000000 + n:07d}" for n in range(50)]
    with running(env, roles=("twilio", "dashboard") if split else ("twilio",), worker=False) as ports:
        for sender in senders:  # each sender mid-conversation
            post_sms(ports["twilio"], "hi", sender)
        quiet = probe(ports["twilio"], seconds, senders)
        context = multiprocessing.get_context("spawn")
        done = context.Queue()
        flooding = context.Process(
            target=flood, args=(ports["dashboard" if split else "twilio"], seconds + 1.5, FLOOD_CLIENTS, done)
        )
        flooding.start()
        time.sleep(1.0)  # the flood is under way
        loud = probe(ports["twilio"], seconds, senders)
        sign_ins = done.get(timeout=60)
        flooding.join(30)
    return quiet, loud, sign_ins


# -- what waking costs -----------------------------------------------------------------------------


def idle_worker_cpu(env: dict, seconds: float = 20.0) -> float:
    """CPU seconds an idle `hotline worker` uses over `seconds`, after it has started."""
    with running(env, roles=(), worker=True) as ports:
        time.sleep(3)  # started and settled
        pid = ports["worker"]
        before = cpu_seconds(pid)
        time.sleep(seconds)
        return cpu_seconds(pid) - before


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- report ------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def describe(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{statistics.median(ms):8.1f} {percentile(ms, 0.95):8.1f} {max(ms):8.1f} {min(ms):8.1f} {len(ms):5d}"
    )


def verdict(target: str, value: str, met: bool) -> None:
    print(f"{target:<66} {value:>10}  {'met' if met else 'missed'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="ride requests per scenario")
    parser.add_argument("--flood-seconds", type=float, default=8.0)
    parser.add_argument(
        "--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/hotline_bench_wakeup"
    )
    args = parser.parse_args()

    started_load = f"{os.getloadavg()[0]:.1f}"
    twilio = RecordingTwilio()
    with tempfile.TemporaryDirectory() as folder:
        from hotline.plumbing.config import DEFAULT_PROGRAM

        program = Path(folder) / "program.toml"
        program.write_text(
            DEFAULT_PROGRAM.read_text()
            .replace("offer_deadline_minutes = 5 ", f"offer_deadline_minutes = {OFFER_DEADLINE_MINUTES} ")
            .replace("texts_per_sender_per_10min = 30", "texts_per_sender_per_10min = 1000000")
            # A short code's rate: the pace (bench/surge.py measures it) never holds a message here.
            .replace("main_segments_per_second = 1 ", "main_segments_per_second = 100 ")
            .replace("staff_segments_per_second = 1 ", "staff_segments_per_second = 100 ")
        )
        base = settings(
            HOTLINE_PROGRAM=str(program),
            HOTLINE_TRANSPORT="twilio",
            TWILIO_ACCOUNT_SID=ACCOUNT,
            TWILIO_API_BASE_URL=twilio.url,
            WEB_CONCURRENCY="2",
            DASHBOARD_CONCURRENCY="2",
        )
        databases = [("SQLite", f"sqlite:///{folder}/wakeup.sqlite3")]
        reason = create_database(args.postgres)
        if reason is None:
            databases.append(("PostgreSQL", args.postgres))
        else:
            print(f"(PostgreSQL not answering: {reason}; SQLite only)")

        rows, floods, costs = [], [], []
        for label, url in databases:
            for wake in ("on", "off"):
                env = {**base, "DATABASE_URL": url, "HOTLINE_WORKER_WAKEUP": wake}
                prepare(url, env)
                confirm, deadline, answered = rides(env, twilio, args.rounds)
                rows.append((label, wake, confirm, deadline, answered))
                print(f"{label}, wake-up {wake}: rides done", flush=True)
                costs.append((label, wake, idle_worker_cpu(env)))
            env = {**base, "DATABASE_URL": url}
            for split in (True, False):
                prepare(url, env)
                quiet, loud, sign_ins = webhooks_under_flood(env, split, args.flood_seconds)
                floods.append((label, split, quiet, loud, sign_ins))
                print(f"{label}, {'split' if split else 'one pool'}: flood done", flush=True)

    print(f"\n{os.cpu_count()} cores, load average {started_load} first, {os.getloadavg()[0]:.1f} last")
    print(
        f"gunicorn as the Procfile runs it (2 workers per pool), `hotline worker`; {args.rounds} rides each"
    )
    header = f"{'median':>8} {'p95':>8} {'max':>8} {'min':>8} {'n':>5}  (ms)"
    print(f"\n{'confirm -> offer at the transport':<46} {header}")
    for label, wake, confirm, _, answered in rows:
        name = "woken by the commit" if wake == "on" else "baseline: 1 s poll"
        print(f"{label + ', ' + name:<46} {describe(confirm)}")
        print(f"{'  the confirming text answered (commit) in':<46} {describe(answered)}")
        after = [total - web for total, web in zip(confirm, answered, strict=True)]
        print(f"{'  then the worker had the offer at Twilio in':<46} {describe(after)}")
    print(f"\n{'deadline -> next offer at the transport':<46} {header}")
    for label, wake, _, deadline, _ in rows:
        name = "sleeps until the deadline" if wake == "on" else "baseline: 1 s poll"
        print(f"{label + ', ' + name:<46} {describe(deadline)}")
    print(f"\n{'SMS webhook, quiet / under 8 sign-in clients':<46} {header}")
    for label, split, quiet, loud, sign_ins in floods:
        name = "dashboard apart" if split else "baseline: one pool"
        print(f"{label + ', ' + name + ', quiet':<46} {describe(quiet)}")
        print(f"{label + ', ' + name + f', flood ({sign_ins} sign-ins)':<46} {describe(loud)}")
    print(f"\n{'idle `hotline worker`, CPU in 20 s':<46}")
    for label, wake, cpu in costs:
        print(f"{label + ', wake-up ' + wake:<46} {cpu * 1000:8.0f} ms ({cpu / 20 * 100:.2f}% of a core)")

    print()
    for label, wake, confirm, deadline, _ in rows:
        if wake != "on":
            continue
        p95 = percentile(confirm, 0.95) * 1000
        verdict(
            f"confirm -> offer p95, {label} <= {CONFIRM_P95_MS} ms", f"{p95:.1f} ms", p95 <= CONFIRM_P95_MS
        )
        worst = max(deadline) * 1000
        verdict(
            f"deadline -> next offer, {label}, every round <= {DEADLINE_MAX_MS} ms",
            f"{worst:.1f} ms",
            worst <= DEADLINE_MAX_MS,
        )
    for label, split, quiet, loud, _ in floods:
        if not split:
            continue
        ratio = percentile(loud, 0.95) / percentile(quiet, 0.95)
        verdict(
            f"SMS webhook p95 flood / quiet, {label}, dashboard apart <= {FLOOD_RATIO:g}",
            f"{ratio:.2f}",
            ratio <= FLOOD_RATIO,
        )
        p95 = percentile(loud, 0.95) * 1000
        verdict(
            f"SMS webhook p95 under the flood, {label}, dashboard apart < {FLOOD_P95_MS} ms",
            f"{p95:.1f} ms",
            p95 < FLOOD_P95_MS,
        )


if __name__ == "__main__":
    main()
