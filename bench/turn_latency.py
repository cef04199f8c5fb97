"""What one SMS turn costs, in-process, beside a bare Flask baseline measured in the same run.

    .venv/bin/python bench/turn_latency.py [--turns 2000] [--postgres URL] [--profile]

Each turn is a signed POST /twilio/sms through the WSGI stack (signature check, conversation
row locked, one flow step, inbound log row, commit, TwiML), from many different senders, each
mid-conversation. The baseline is a bare Flask view returning static TwiML through the same
test client. Prints median / p90 / p99 per request and the ratio to the baseline. --profile
runs the SQLite turns under cProfile and prints where the time goes (the hotline's own
functions, by cumulative time), the profile the turn's optimisations started from.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

from flask import Flask, Response
from twilio.twiml.messaging_response import MessagingResponse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import settings, signed_sms  # noqa: E402

from hotline import create_app  # noqa: E402
from hotline.plumbing.runtime import runtime  # noqa: E402


def baseline_app() -> Flask:
    """A bare Flask app answering static TwiML: the floor every Flask webhook stands on."""
    app = Flask("baseline")
    document = str(MessagingResponse().message("Static answer"))

    @app.post("/twilio/sms")
    def sms():
        return Response(document, mimetype="text/xml")

    return app


def hotline_app(database_url: str) -> Flask:
    app = create_app(settings(DATABASE_URL=database_url), environ={})
    runtime(app).db.create_all()
    return app


def signed(body: str, sender: str) -> tuple[dict, dict]:
    params, signature = signed_sms(body, sender)
    return params, {"X-Twilio-Signature": signature}


def measure(app: Flask, turns: int, senders: int) -> list[float]:
    """Time `turns` signed texts from `senders` numbers, each already past its first message."""
    client = app.test_client()
    numbers = [f"+1816{5550000 + n:07d}"[:12] for n in range(senders)]
    for number in numbers:  # warm up: every sender has a conversation
        params, headers = signed("hi", number)
        client.post("/twilio/sms", data=params, headers=headers)
    timings = []
    for n in range(turns):
        # Alternate between the info menu and back, so each turn is a real mid-conversation step.
        params, headers = signed("1" if n % 2 == 0 else "MENU", numbers[n % senders])
        start = time.perf_counter()
        response = client.post("/twilio/sms", data=params, headers=headers)
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return timings


def summary(name: str, timings: list[float], baseline: float | None) -> str:
    ordered = sorted(timings)
    median = statistics.median(ordered)
    p90 = ordered[int(len(ordered) * 0.9)]
    p99 = ordered[int(len(ordered) * 0.99)]
    ratio = f"{median / baseline:6.1f}x" if baseline else "   1.0x"
    return f"{name:<28} {median * 1000:8.2f} {p90 * 1000:8.2f} {p99 * 1000:8.2f}  {ratio}"


def profile(app: Flask, turns: int, senders: int) -> str:
    """Profile `turns` more texts; return the hotline's own functions by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    measure(app, turns, senders)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(r"hotline/|flows/|models/", 30)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=200)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL to measure too (emptied!)")
    parser.add_argument("--profile", action="store_true", help="profile the SQLite turns too")
    args = parser.parse_args()

    base = measure(baseline_app(), args.turns, args.senders)
    floor = statistics.median(base)
    print(f"{'one request':<28} {'median':>8} {'p90':>8} {'p99':>8}  vs baseline   (ms)")
    print(summary("baseline: static TwiML", base, None))
    with tempfile.TemporaryDirectory() as folder:
        app = hotline_app(f"sqlite:///{folder}/bench.sqlite3")
        print(summary("SMS turn, SQLite", measure(app, args.turns, args.senders), floor))
        if args.profile:
            print(profile(app, args.turns, args.senders))
        runtime(app).db.dispose()
    if args.postgres:
        app = hotline_app(args.postgres)
        db = runtime(app).db
        import models

        models.metadata.drop_all(db.engine)
        models.metadata.create_all(db.engine)
        print(summary("SMS turn, PostgreSQL", measure(app, args.turns, args.senders), floor))
        db.dispose()


if __name__ == "__main__":
    main()
