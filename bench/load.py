"""Load benchmark: the hotline under gunicorn beside a bare Flask baseline, in one run.

    make bench                      # SQLite, and PostgreSQL at 127.0.0.1:5432 when it answers
    .venv/bin/python bench/load.py --seconds 10 --connections 8 [--postgres URL] [--big 1000000]

Each scenario starts gunicorn with the Procfile's settings (gunicorn.conf.py, WEB_CONCURRENCY
workers) on a loopback port and drives it with wrk (Debian package `wrk`) replaying pre-signed
Twilio webhooks, every one with its own MessageSid, from many senders mid-conversation. Printed per
scenario: throughput, p50/p99 latency, errors, peak RSS per web worker, and throughput as a ratio of
the baseline (static TwiML under the same gunicorn settings). Loopback only; every run is bounded.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent

from harness import PUBLIC_URL, TOKEN, children, free_port, rss_mb, signed_sms  # noqa: E402

SETTINGS = {
    "HOTLINE_ENV": "production",
    "TWILIO_AUTH_TOKEN": TOKEN,
    "TWILIO_PHONE_NUMBER": "+18165550000",
    "HOTLINE_PUBLIC_URL": PUBLIC_URL,
    "HOTLINE_SECRET_KEY": "bench-secret",
    "HOTLINE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "HOTLINE_TRANSPORT": "local",
}


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    peak_rss_mb: float
    wrapped: bool


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
    from hotline.runtime import runtime

    app = create_app({**SETTINGS, "DATABASE_URL": url}, environ={})
    db = runtime(app).db
    models.metadata.drop_all(db.engine)
    models.metadata.create_all(db.engine)
    engine = create_engine(db.url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "INSERT INTO conversation (sender_hash, channel, state, language, opted_out, version,"
                    " created_at, updated_at) SELECT md5(i::text) || md5((i+1)::text), 'sms', 'welcome',"
                    " 'en', false, 1, now(), now() FROM generate_series(1, :n) AS i"
                ),
                {"n": stored},
            )
            conn.execute(text("ANALYZE conversation"))
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


def import_seconds(env: dict) -> float:
    """Time `import wsgi` in a fresh interpreter (the app factory included)."""
    code = "import time; t = time.perf_counter(); import wsgi; print(time.perf_counter() - t)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip())


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


def postgres_reachable(url: str) -> bool:
    try:
        engine = create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


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
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/hotline_bench")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: sudo apt-get install wrk")

    numbers = senders(args.senders)
    databases = []
    with tempfile.TemporaryDirectory() as folder:
        # The per-sender throttle would answer some turns with an empty reply and flatter the figures.
        from hotline.config import DEFAULT_PROGRAM

        program = Path(folder) / "program.toml"
        program.write_text(
            DEFAULT_PROGRAM.read_text().replace(
                "texts_per_sender_per_10min = 30", "texts_per_sender_per_10min = 1000000"
            )
        )
        SETTINGS["HOTLINE_PROGRAM"] = str(program)
        databases.append(("SQLite", f"sqlite:///{folder}/bench.sqlite3"))
        if postgres_reachable(args.postgres):
            databases.append(("PostgreSQL", args.postgres))
        else:
            print(f"(PostgreSQL not reachable at {args.postgres}: SQLite only)")
        requests = Path(folder) / "requests.txt"
        results = []
        write_requests(requests, numbers, args.requests)
        results.append(run_scenario("baseline: static TwiML", "bench.baseline:app", {}, requests, args))
        extra = {}
        for label, url in databases:
            for stored in (args.small, args.big):
                prepare_database(url, stored, numbers)
                write_requests(requests, numbers, args.requests)
                env = {**SETTINGS, "DATABASE_URL": url}
                results.append(
                    run_scenario(f"SMS turn, {label}, {stored:,} stored", "wsgi:app", env, requests, args)
                )
            if label == "SQLite":
                extra["worker peak RSS (MB)"] = f"{worker_rss(env):.0f}"
                extra["import wsgi (s)"] = f"{import_seconds(env):.2f}"

    base = results[0].rps
    print(
        f"\n{args.workers} gunicorn workers, {args.connections} connections, {args.seconds} s each, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"{'scenario':<40} {'req/s':>8} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'RSS MB':>7}"
    )
    for r in results:
        note = "  (requests wrapped: raise --requests)" if r.wrapped else ""
        print(
            f"{r.name:<40} {r.rps:8.0f} {r.rps / base:6.2f} {r.p50_ms:7.2f} {r.p99_ms:7.2f} "
            f"{r.errors:6d} {r.peak_rss_mb:7.0f}{note}"
        )
    by_name = {r.name: r for r in results}
    for label, _ in databases:
        small = by_name[f"SMS turn, {label}, {args.small:,} stored"]
        big = by_name[f"SMS turn, {label}, {args.big:,} stored"]
        print(f"{label}: throughput at {args.big:,} stored / at {args.small:,} = {big.rps / small.rps:.2f}")
    for name, value in extra.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
