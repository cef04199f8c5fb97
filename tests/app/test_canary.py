"""Canary: a whole conversation and dispatch, by text and by phone, with a canary number, body and place.

None of the canaries may show up in a log line (every logger, at DEBUG), in error output, in the
raw bytes of the SQLite file (and its WAL) or in a PostgreSQL dump; after the purge, with the
clock 31 days on, no body, place or encrypted number is left (privacy.md P1, P2, P3, P5, P8).

A scenario is a list of scripted steps, one per thing that happens (a participant texts or
presses a key, an officer texts, the worker runs, Twilio calls back), so another channel or
command is one more list or one more step kind.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlmodel import select

from hotline.plumbing import jobs
from hotline.plumbing.db import Database
from hotline.plumbing.transport import Sent
from hotline.services import retention, roster
from models import Conversation, Dispatch, DispatchEvent, InboundMessage, OutboxMessage
from models.clock import utcnow
from models.outbox import ERASED
from tests.calls import Caller
from tests.privacy_support import redacted_sids, sealed_values
from tests.support import (
    AUTH_TOKEN,
    HOTLINE_NUMBER,
    PUBLIC_URL,
    REPO,
    FakeTransport,
    Twilio,
    require,
    sign,
    sms_params,
)

CANARY_NUMBER = "+18165557777"
NUMBER_SPELLINGS = ("8165557777", "816-555-7777", "816) 555-7777", "816.555.7777", "555-7777", "5557777")
CANARY_BODY = "zanzibar marmalade"
CANARY_PLACE = "Quixotic Quarry Lane 4417"
CANARY_RELAY = "periwinkle cruiser by pump"
CANARIES = (CANARY_NUMBER, *NUMBER_SPELLINGS, "zanzibar", "marmalade", "Quixotic", "Quarry", "periwinkle")
SERGEANT, OFFICER = "+18165550100", "+18165550101"


def leaks(text: str | bytes) -> list[str]:
    """Return the canaries found in a text or raw bytes (any case)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    folded = text.lower()
    return [canary for canary in CANARIES if canary.lower() in folded]


# -- scripted steps -------------------------------------------------------------------------------


@dataclass
class Scene:
    """What a scripted run has in hand: the app's runtime, Twilio, a caller, what was heard."""

    rt: object
    twilio: Twilio
    caller: Caller
    heard: list[str] = field(default_factory=list)
    twiml: list[str] = field(default_factory=list)
    last_sid: str | None = None


@dataclass(frozen=True)
class Step:
    """One thing that happens: `kind` names the actor (see ACTIONS), `value` what they do."""

    kind: str
    value: str = ""


def participant_texts(scene: Scene, body: str) -> None:
    scene.last_sid = "SM" + uuid.uuid4().hex
    scene.heard += scene.twilio.text(body, sender=CANARY_NUMBER, sid=scene.last_sid)


def twilio_retries(scene: Scene, body: str) -> None:
    """Twilio delivers the last inbound text again (same SID): same answer, nothing new."""
    again = scene.twilio.text(body, sender=CANARY_NUMBER, sid=scene.last_sid)
    assert again, "a retry is answered"


def forged_text(scene: Scene, body: str) -> None:
    params = sms_params(body, sender=CANARY_NUMBER)
    response = scene.twilio.post("/twilio/sms", params, **{"X-Twilio-Signature": "forged"})
    assert response.status_code == 403


def caller_presses(scene: Scene, digits: str) -> None:
    if scene.caller.last is None or scene.caller.last.gather is None:
        scene.caller.start(digits)
    else:
        scene.caller.press(digits)
    scene.twiml.append(scene.caller.last.document)


def caller_says(scene: Scene, words: str) -> None:
    scene.twiml.append(scene.caller.speak(words).document)


def caller_hangs_up(scene: Scene, _: str) -> None:
    assert scene.caller.hang_up() in (200, 204)


def officer_texts(scene: Scene, body: str) -> None:
    if "{code}" in body:
        offers = [
            s["body"]
            for s in scene.rt.transport.sent
            if s.get("to") == OFFICER and "ACCEPT" in s.get("body", "")
        ]
        assert offers, "the officer was offered the ride"
        body = body.format(code=re.search(r"ACCEPT (\d{4})", offers[-1])[1])
    scene.twilio.text(body, sender=OFFICER)


def worker_runs(scene: Scene, _: str) -> None:
    jobs.run_once(scene.rt)
    jobs.run_once(scene.rt, now=utcnow() + timedelta(seconds=30))  # a retry, well before any deadline


def twilio_calls_back(scene: Scene, status: str) -> None:
    """Twilio reports on everything sent (status callbacks carry From and To)."""
    with scene.rt.db.reading() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.twilio_sid.is_not(None))).all()
    for row in rows:
        to = scene.rt.vault.open(row.to_sealed) or ""
        if row.kind == "call":
            params = {"CallSid": row.twilio_sid, "CallStatus": "completed", "From": HOTLINE_NUMBER, "To": to}
        else:
            params = {"MessageSid": row.twilio_sid, "MessageStatus": status, "From": HOTLINE_NUMBER, "To": to}
        assert scene.twilio.post("/twilio/status", params).status_code in (200, 204)


ACTIONS: dict[str, Callable[[Scene, str], None]] = {
    "text": participant_texts,
    "retry": twilio_retries,
    "forged": forged_text,
    "press": caller_presses,
    "say": caller_says,
    "hang up": caller_hangs_up,
    "officer": officer_texts,
    "worker": worker_runs,
    "callback": twilio_calls_back,
}

ACCEPTED = [
    Step("worker"),
    Step("callback", "delivered"),
    Step("officer", "ACCEPT {code}"),
    Step("officer", f"MSG {CANARY_RELAY} 4, look for me"),
    Step("worker"),
]
FINISHED = [
    Step("officer", "ARRIVED"),
    Step("officer", "DONE IN"),
    Step("worker"),
    Step("callback", "delivered"),
]
SCRIPTS = {
    "sms": [
        Step("text", f"hello {CANARY_BODY}"),
        Step("text", "2"),
        *(Step("text", answer) for answer in ("yes", "yes", "yes", "no", "not sure")),
        Step("text", CANARY_PLACE),
        Step("text", "yes"),
        Step("text", "yes"),
        Step("retry", "yes"),
        Step("text", f"{CANARY_BODY}, call me at 816-555-7777"),
        Step("text", "STATUS"),
        Step("forged", f"{CANARY_BODY} at {CANARY_PLACE}"),
        *ACCEPTED,
        Step("text", f"ok, I am by the {CANARY_BODY} sign"),  # relayed to the officer
        Step("worker"),
        *FINISHED,
        Step("text", "PRIVACY"),
    ],
    "voice": [
        Step("press", "1"),  # English
        *(Step("press", key) for key in ("2", "1", "1", "1", "2", "3")),  # ride, then screening
        Step("say", CANARY_PLACE),
        Step("press", "1"),  # may the officer text updates
        Step("press", "1"),  # send it
        Step("hang up"),
        *ACCEPTED,
        *FINISHED,
    ],
}


class FlakyTransport(FakeTransport):
    """Twilio's first answer is an error whose message quotes the number and the text."""

    def __init__(self):
        super().__init__()
        self.failed = False

    def send_sms(self, *, to, body, status_callback=None, sender="main") -> Sent:
        if not self.failed:
            self.failed = True
            raise RuntimeError(f"Twilio refused {to}: {body}")
        return super().send_sms(to=to, body=body, status_callback=status_callback)


@pytest.fixture
def transport() -> FlakyTransport:
    return FlakyTransport()


@pytest.fixture
def staff(rt):
    with rt.db.unit_of_work() as session:
        roster.add_officer(session, rt, name="Sgt. Rivera", phone=SERGEANT, sergeant=True).on_duty = True
        roster.add_officer(session, rt, name="Ofc. Chen", phone=OFFICER).on_duty = True
        session.commit()


def capture_every_logger(caplog) -> None:
    """Capture DEBUG from every logger, including those that set their own level (SQLAlchemy's)."""
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy", "sqlalchemy.engine", *list(logging.root.manager.loggerDict)):
        caplog.set_level(logging.DEBUG, logger=name)


def database_bytes(rt, database_url: str) -> bytes:
    """Return what the database holds on disk: the SQLite file and its WAL, or a PostgreSQL dump."""
    if rt.db.is_sqlite:
        path = Path(database_url.removeprefix("sqlite:///"))
        parts = [path, path.with_name(path.name + "-wal")]
        return b"".join(p.read_bytes() for p in parts if p.exists())
    require(shutil.which("pg_dump") is not None, "pg_dump is not installed")
    uri = database_url.replace("postgresql+psycopg://", "postgresql://")
    dump = subprocess.run(["pg_dump", "--no-owner", uri], capture_output=True, timeout=60, check=True)
    return dump.stdout


def opened_canaries(rt) -> list[tuple[str, str]]:
    """Return (table.column, canary) for every sealed value that opens to a canary."""
    return [
        (f"{table}.{column}", hit) for table, column, text in sealed_values(rt) for hit in leaks(text or "")
    ]


@pytest.mark.parametrize("channel", list(SCRIPTS))
def test_no_canary_reaches_logs_errors_or_the_database_and_the_purge_leaves_none(
    channel, app, rt, twilio, staff, database_url, caplog, capfd
):
    capture_every_logger(caplog)
    scene = Scene(rt=rt, twilio=twilio, caller=Caller(twilio, rt, number=CANARY_NUMBER))

    for step in SCRIPTS[channel]:
        ACTIONS[step.kind](scene, step.value)

    with rt.db.reading() as session:
        (ride,) = session.exec(select(Dispatch)).all()
        assert (ride.status, ride.outcome, ride.channel) == ("completed", "in", channel), (
            "a complete dispatch"
        )
    sent_to_them = [s for s in rt.transport.sent if s.get("to") == CANARY_NUMBER]
    assert any(CANARY_RELAY in s["body"] for s in sent_to_them), "the relay reached the participant"
    if channel == "sms":
        to_officer = [s["body"] for s in rt.transport.sent if s.get("to") == OFFICER]
        assert any(CANARY_BODY in body for body in to_officer), "the participant's text reached the officer"
    assert rt.transport.failed, "an error quoting the canaries was raised and logged"
    assert not any("<Record" in document for document in scene.twiml), "privacy.md P8: nothing recorded"
    stored = opened_canaries(rt)
    assert ("dispatch.place_sealed", "Quixotic") in stored, "the canaries are stored, sealed"

    records = "\n".join(logging.Formatter("%(name)s %(message)s").format(r) for r in caplog.records)
    assert "sqlalchemy.engine" in records and "SM" in records, "every log was captured, SQL and SIDs"
    assert leaks(records) == [], [line for line in records.splitlines() if leaks(line)][:5]
    output = capfd.readouterr()
    assert leaks(output.out + output.err) == []
    assert leaks(database_bytes(rt, database_url)) == []

    later = utcnow() + timedelta(days=rt.program.message_days + 1)
    retention.purge_all(rt, now=later)
    jobs.run_once(rt, now=later + timedelta(minutes=1))

    assert opened_canaries(rt) == []
    with rt.db.reading() as session:
        assert all(row.to_sealed == ERASED for row in session.exec(select(OutboxMessage)).all())
        assert all(row.body_sealed is None for row in session.exec(select(OutboxMessage)).all())
        assert all(c.data_sealed is None for c in session.exec(select(Conversation)).all())
        assert all(m.reply_sealed is None for m in session.exec(select(InboundMessage)).all())
        assert all(e.detail_sealed is None for e in session.exec(select(DispatchEvent)).all())
        (ride,) = session.exec(select(Dispatch)).all()
        assert (ride.place_sealed, ride.contact_sealed, ride.status, ride.outcome) == (
            None,
            None,
            "completed",
            "in",
        )
        texts = [
            r.twilio_sid for r in session.exec(select(OutboxMessage).where(OutboxMessage.kind == "sms")).all()
        ]
        inbound = [m.sid for m in session.exec(select(InboundMessage)).all() if m.sid.startswith("SM")]
    queued = set(redacted_sids(rt))
    assert {sid for sid in texts + inbound if sid} <= queued, "Twilio's copies, both ways"
    assert {s["sid"] for s in rt.transport.sent if s["kind"] == "redact"} == queued
    assert leaks(database_bytes(rt, database_url)) == []


def test_the_byte_scan_finds_a_canary_stored_in_plain_text(rt, database_url):
    """The scan above can fail: a canary written in plain text is found, WAL or dump."""
    from sqlalchemy import text

    with rt.db.unit_of_work() as session:
        session.execute(text("CREATE TABLE scratch (note VARCHAR(80))"))
        session.execute(
            text("INSERT INTO scratch VALUES (:note)"), {"note": f"{CANARY_PLACE} {CANARY_NUMBER}"}
        )
        session.commit()
    try:
        assert {"Quixotic", CANARY_NUMBER} <= set(leaks(database_bytes(rt, database_url)))
    finally:
        with rt.db.unit_of_work() as session:
            session.execute(text("DROP TABLE scratch"))
            session.commit()


# -- a real gunicorn ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_logs_and_access_log_carry_no_canary(tmp_path):
    """privacy.md P5: the real web server's access and error logs, at debug level, stay clean."""
    from cryptography.fernet import Fernet

    url = f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
    database = Database(url)
    database.create_all()
    database.dispose()
    port = free_port()
    env = {
        **os.environ,
        "HOTLINE_ENV": "production",
        "DATABASE_URL": url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": HOTLINE_NUMBER,
        "HOTLINE_PUBLIC_URL": PUBLIC_URL,
        "HOTLINE_SECRET_KEY": "canary-secret-" + "0123456789abcdef" * 2,
        "HOTLINE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "HOTLINE_TRANSPORT": "local",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "GUNICORN_CMD_ARGS": "--log-level debug",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"), "wsgi:app"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)

        def post(path: str, body: str, signature: str | None = None) -> requests.Response:
            params = sms_params(body, sender=CANARY_NUMBER)
            headers = {"X-Twilio-Signature": signature or sign(path, params)}
            return requests.post(base + path, data=params, headers=headers, timeout=10)

        for body in (
            f"hi {CANARY_BODY}",
            "2",
            "yes",
            "yes",
            "yes",
            "no",
            "not sure",
            CANARY_PLACE,
            "yes",
            "yes",
        ):
            assert post("/twilio/sms", body).status_code == 200
        assert post(f"/twilio/sms?note={CANARY_PLACE.replace(' ', '+')}", "STATUS").status_code == 200
        assert post("/twilio/sms", f"{CANARY_BODY} {CANARY_PLACE}", signature="forged").status_code == 403
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    logs = (out + err).decode("utf-8", errors="replace")
    assert '"POST /twilio/sms"' in logs and "invalid Twilio signature" in logs, "both logs were captured"
    assert "note=" not in logs, "no query strings in the access log"
    assert leaks(logs) == [], [line for line in logs.splitlines() if leaks(line)][:5]
    # What city IT reads them for stays: the port and PID, the status codes, the dates.
    assert f"Listening at: http://127.0.0.1:{port} ({server.pid})" in logs
    assert re.search(r"Booting worker with pid: \d+", logs)
    assert '"POST /twilio/sms" 200 ' in logs and '"POST /twilio/sms" 403 ' in logs
    assert re.search(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\]", logs)
    assert leaks(b"".join(p.read_bytes() for p in tmp_path.glob("hotline.sqlite3*"))) == []
