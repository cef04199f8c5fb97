"""Load benchmark: the hotline under gunicorn beside a bare Flask baseline, in one run.

    make bench                      # SQLite, and PostgreSQL at 127.0.0.1:5432 when the server answers
    .venv/bin/python bench/load.py --seconds 10 --connections 8 --rounds 3 [--postgres URL] [--big 1000000]

Each scenario starts gunicorn with the Procfile's settings (gunicorn.conf.py, WEB_CONCURRENCY
workers) on a loopback port and drives it with wrk (Debian package `wrk`) replaying pre-signed
Twilio webhooks, every one with its own MessageSid, from many senders mid-conversation. Beside
the baseline (static TwiML) runs a floor: the same TwiML after reading the form and checking its
signature (bench/checked.py), what no webhook may skip. The scenarios take turns, round after
round, so a machine that speeds up or slows down weighs on all of them alike. Printed per scenario:
the median throughput over the rounds and its range, p50 (median) and p99 (worst round)
latency, errors (all rounds), peak RSS per web worker, and the median throughput as a ratio of
the baseline's (static TwiML under the same gunicorn settings). Then one line per target (the
constants below): the measured value and "met" or "missed"; the exit status is 0 either way.
PostgreSQL databases are created when the server answers without them. Loopback only; every
run is bounded.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent

from harness import children, create_database, free_port, rss_mb, settings, signed_sms  # noqa: E402

# Targets, printed as met or missed after the table.
MIN_RATIO = {"SQLite": 0.5, "PostgreSQL": 0.3}  # SMS turn req/s at --small stored over the baseline's
MAX_P99_MS = 25  # p99 latency of every SMS turn scenario, below this
MAX_ERRORS = 0  # errors (non-2xx and socket) in any scenario
MIN_BIG_SMALL = 0.9  # req/s at --big stored over that at --small, per database
MAX_RSS_MB = 120  # peak RSS of every hotline web worker and of `hotline worker`, below this
MAX_IMPORT_S = 1.0  # `import wsgi` in a fresh interpreter, below this

SETTINGS = settings()
# The same static TwiML after reading the form and checking its signature: no target, a floor.
CHECKED = "signed form checked, static TwiML"


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    peak_rss_mb: float
    wrapped: bool


@dataclass
class Summary:
    """A scenario over every round: median throughput and p50, worst p99, all errors, peak RSS."""

    name: str
    rps: float
    low: float
    high: float
    p50_ms: float
    p99_ms: float
    errors: int
    peak_rss_mb: float
    wrapped: bool

    @classmethod
    def of(cls, name: str, runs: list[Result]) -> Summary:
        return cls(
            name,
            statistics.median(r.rps for r in runs),
            min(r.rps for r in runs),
            max(r.rps for r in runs),
            statistics.median(r.p50_ms for r in runs),
            max(r.p99_ms for r in runs),
            sum(r.errors for r in runs),
            max(r.peak_rss_mb for r in runs),
            any(r.wrapped for r in runs),
        )


def signed_line(body: str, sender: str) -> str:
    """One pre-signed webhook: signature TAB form body."""
    params, signature = signed_sms(body, sender)
    return f"{signature}\t{urllib.parse.urlencode(params)}"


def senders(count: int) -> list[str]:
    return [f"+1816{7000000 + n:07d}" for n in range(count)]


def write_requests(path: Path, numbers: list[str], total: int) -> None:
    """Turns that alternate between the info menu and back, so each is a real step."""
    with path.open("w") as out:
        for n in range(total):
            rounds = n // len(numbers)
            out.write(signed_line("1" if rounds % 2 == 0 else "MENU", numbers[n % len(numbers)]) + "\n")


def prepare_database(url: str, stored: int, numbers: list[str]) -> None:
    """Empty the database, store `stored` synthetic conversations, and start each sender's."""
    import models
    from hotline import create_app
    from hotline.plumbing.runtime import runtime

    app = create_app({**SETTINGS, "DATABASE_URL": url}, environ={})
    db = runtime(app).db
    models.metadata.drop_all(db.engine)
    models.metadata.create_all(db.engine)
    engine = create_engine(db.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "INSERT INTO conversation (sender_hash, channel, state, language, opted_out, version,"
                    " created_at, updated_at) SELECT md5(i::text) || md5((i+1)::text), 'sms', 'welcome',"
                    " 'en', false, 1, now(), now() FROM generate_series(1, :n) AS i"
                ),
                {"n": stored},
            )
            # Done now rather than by autovacuum in the middle of a measurement.
            conn.execute(text("VACUUM ANALYZE conversation"))
            # The bulk load's pages written out now, not by a checkpoint in the middle of one.
            try:
                conn.execute(text("CHECKPOINT"))
            except DBAPIError as error:  # a role without pg_checkpoint: measured anyway, and said so
                print(f"(no CHECKPOINT before measuring: {str(error.orig).strip().splitlines()[0]})")
        else:
            conn.execute(
                text(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :n) "
                    "INSERT INTO conversation (sender_hash, channel, state, language, opted_out, version,"
                    " created_at, updated_at) SELECT printf('%064x', i), 'sms', 'welcome', 'en', 0, 1,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM n"
                ),
                {"n": stored},
            )
            conn.execute(text("ANALYZE"))
    engine.dispose()
    client = app.test_client()
    for number in numbers:
        signature, body = signed_line("hi", number).split("\t")
        client.post(
            "/twilio/sms",
            data=body,
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        )
    db.dispose()


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def run_scenario(name: str, target: str, env: dict, requests: Path, args) -> Result:
    port = free_port()
    env = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(args.workers)}
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--access-logfile", "/dev/null", target],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for pid in children(server.pid):
                peak[pid] = max(peak.get(pid, 0.0), rss_mb(pid))
            time.sleep(0.2)

    try:
        deadline = time.monotonic() + 30
        while not healthy(port):
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"{name}: gunicorn did not start")
            time.sleep(0.2)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        output = subprocess.run(
            [
                "wrk",
                f"-t{args.threads}",
                f"-c{args.connections}",
                f"-d{args.seconds}s",
                "--latency",
                "-s",
                str(REPO / "bench" / "requests.lua"),
                f"http://127.0.0.1:{port}",
                "--",
                str(requests),
                str(args.threads),
            ],
            capture_output=True,
            text=True,
            timeout=args.seconds + 60,
            check=True,
        ).stdout
        stop.set()
        sampler.join()
    finally:
        stop.set()
        server.terminate()
        server.wait(30)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = re.search(r"LATENCY p50=(\d+) p99=(\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(g) for g in socket_errors.groups()) if socket_errors else 0
    wrapped = any(int(w) > 0 for w in re.findall(r"WRAPPED (\d+)", output))
    return Result(
        name,
        rps,
        int(latency.group(1)) / 1000,
        int(latency.group(2)) / 1000,
        errors,
        max(peak.values(), default=0.0),
        wrapped,
    )


def import_seconds(env: dict, times: int = 3) -> float:
    """Time `import wsgi` (the app factory included), each time in a fresh interpreter; the median."""
    code = "import time; t = time.perf_counter(); import wsgi; print(time.perf_counter() - t)"
    found = []
    for _ in range(times):
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        found.append(float(done.stdout.strip()))
    return statistics.median(found)


def worker_rss(env: dict, seconds: float = 3.0) -> float:
    """Peak RSS of `hotline worker` polling the database for a few seconds."""
    worker = subprocess.Popen(
        [str(BIN / "hotline"), "worker"],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(seconds)
    peak = rss_mb(worker.pid, "VmHWM")
    worker.terminate()
    worker.wait(15)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--senders", type=int, default=500)
    parser.add_argument("--small", type=int, default=1_000, help="stored conversations, small case")
    parser.add_argument("--big", type=int, default=1_000_000, help="stored conversations, big case")
    parser.add_argument("--requests", type=int, default=60_000, help="pre-signed requests per scenario")
    parser.add_argument("--rounds", type=int, default=3, help="times each scenario runs, taking turns")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/hotline_bench")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: sudo apt-get install wrk")

    numbers = senders(args.senders)
    with tempfile.TemporaryDirectory() as folder:
        # The per-sender throttle would answer some turns with an empty reply and flatter the figures.
        from hotline.plumbing.config import DEFAULT_PROGRAM

        program = Path(folder) / "program.toml"
        program.write_text(
            DEFAULT_PROGRAM.read_text().replace(
                "texts_per_sender_per_10min = 30", "texts_per_sender_per_10min = 1000000"
            )
        )
        SETTINGS["HOTLINE_PROGRAM"] = str(program)
        # (label, stored conversations, database URL): one database each, prepared before any round.
        databases = [
            ("SQLite", stored, f"sqlite:///{folder}/bench-{stored}.sqlite3")
            for stored in (args.small, args.big)
        ]
        reason = create_database(args.postgres)
        if reason is None:
            big_url = make_url(args.postgres)
            big_url = big_url.set(database=f"{big_url.database}_big").render_as_string(hide_password=False)
            databases += [("PostgreSQL", args.small, args.postgres), ("PostgreSQL", args.big, big_url)]
            create_database(big_url)
        else:
            shown = make_url(args.postgres).render_as_string(hide_password=True)
            print(f"(PostgreSQL not answering at {shown}: {reason}; SQLite only)")
        for _, stored, url in databases:
            prepare_database(url, stored, numbers)
        scenarios = [
            ("baseline: static TwiML", "bench.baseline:app", {}),
            (CHECKED, "bench.checked:app", {}),
        ] + [
            (f"SMS turn, {label}, {stored:,} stored", "wsgi:app", {**SETTINGS, "DATABASE_URL": url})
            for label, stored, url in databases
        ]
        requests = Path(folder) / "requests.txt"
        runs: dict[str, list[Result]] = {name: [] for name, _, _ in scenarios}
        for round_ in range(args.rounds):
            for name, target, env in scenarios:
                write_requests(requests, numbers, args.requests)  # new MessageSids: real turns, not repeats
                runs[name].append(run_scenario(name, target, env, requests, args))
            print(
                f"round {round_ + 1} of {args.rounds}: "
                + ", ".join(f"{r[-1].rps:.0f}" for r in runs.values())
            )
        sqlite_env = {**SETTINGS, "DATABASE_URL": databases[0][2]}  # the small SQLite database
        worker_mb, import_s = worker_rss(sqlite_env), import_seconds(sqlite_env)

    results = [Summary.of(name, found) for name, found in runs.items()]
    base = results[0].rps
    print(
        f"\n{args.workers} gunicorn workers, {args.connections} connections, {args.seconds} s each, "
        f"{args.rounds} rounds, {os.cpu_count()} cores"
    )
    print(
        f"{'scenario':<40} {'req/s':>8} {'range':>11} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6} {'RSS MB':>7}"
    )
    for r in results:
        note = "  (requests wrapped: raise --requests)" if r.wrapped else ""
        print(
            f"{r.name:<40} {r.rps:8.0f} {r.low:5.0f}-{r.high:<5.0f} {r.rps / base:6.2f} {r.p50_ms:7.2f} "
            f"{r.p99_ms:7.2f} {r.errors:6d} {r.peak_rss_mb:7.0f}{note}"
        )

    turns = [r for r in results[1:] if r.name != CHECKED]
    by_name = {r.name: r for r in turns}

    def rps(label: str, stored: int) -> float:
        return by_name[f"SMS turn, {label}, {stored:,} stored"].rps

    def verdict(target: str, value: str, met: bool) -> None:
        print(f"{target:<62} {value:>8}  {'met' if met else 'missed'}")

    labels = sorted({label for label, _, _ in databases}, key=lambda label: label != "SQLite")
    print()
    for label in labels:
        ratio, goal = rps(label, args.small) / base, MIN_RATIO[label]
        verdict(
            f"SMS turn, {label}, {args.small:,} stored / baseline >= {goal}", f"{ratio:.2f}", ratio >= goal
        )
    p99 = max(r.p99_ms for r in turns)
    verdict(f"p99 of every SMS turn < {MAX_P99_MS} ms", f"{p99:.2f} ms", p99 < MAX_P99_MS)
    errors = max(r.errors for r in results)
    verdict(f"errors in every scenario <= {MAX_ERRORS}", str(errors), errors <= MAX_ERRORS)
    for label in labels:
        ratio = rps(label, args.big) / rps(label, args.small)
        verdict(
            f"{label}, {args.big:,} / {args.small:,} stored >= {MIN_BIG_SMALL}",
            f"{ratio:.2f}",
            ratio >= MIN_BIG_SMALL,
        )
    rss = max(worker_mb, *(r.peak_rss_mb for r in turns))
    verdict(
        f"peak RSS of web workers and `hotline worker` < {MAX_RSS_MB} MB", f"{rss:.0f} MB", rss < MAX_RSS_MB
    )
    verdict(f"`import wsgi` (median of 3) < {MAX_IMPORT_S:g} s", f"{import_s:.2f} s", import_s < MAX_IMPORT_S)


if __name__ == "__main__":
    main()
