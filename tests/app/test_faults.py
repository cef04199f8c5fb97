"""Faults in real processes: a web worker killed mid-request, the database gone, Twilio slow or failing.

Loopback only. gunicorn runs with the Procfile's settings (one worker, so a killed one is replaced);
Twilio's REST API is a small local server that can be told to answer slowly or with 500s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import func, select

from hotline import create_app
from hotline.plumbing.runtime import runtime
from hotline.services import roster
from models import Conversation, InboundMessage, OutboxMessage
from tests.processes import ACCOUNT, FakeTwilio, free_port, stop, wait_until
from tests.support import hotline_config, sign, sms_params, twiml_messages

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERGEANT = "+18165550100"
#: Twilio gives up after 15 s; the hotline must answer well inside it even when things break.
BUDGET_SECONDS = 3.0


@pytest.fixture(autouse=True)
def _logger_levels():
    """Leave the logger levels create_app sets in this process as they were for later tests."""
    import logging

    names = ("twilio.http_client", "transitions")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def post(port: int, path: str, params: dict, timeout: float = 15) -> tuple[int, str, float]:
    """POST a signed Twilio form; return status, body and seconds taken."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": sign(path, params)},
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(), time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), time.monotonic() - started


def prepared(database_url: str, **extra) -> dict:
    """Create the tables and a sergeant; return the settings the processes run with."""
    settings = hotline_config(database_url, **extra)
    # In-process, the local transport: the Twilio one would quieten twilio-python's loggers here.
    app = create_app({**settings, "HOTLINE_TRANSPORT": "local"}, environ={})
    rt = runtime(app)
    rt.db.create_all()
    with rt.db.unit_of_work() as session:
        roster.add_officer(session, rt, name="Sgt. Rivera", phone=SERGEANT, sergeant=True)
        session.commit()
    rt.db.dispose()
    return settings


@contextmanager
def processes(tmp_path: Path, settings: dict, *, web: str = "wsgi:app", worker: bool = False, **env):
    """Run gunicorn (Procfile settings, one worker) and maybe `hotline worker`; yield the web port."""
    port = free_port()
    environ = {**os.environ, **{k: str(v) for k, v in settings.items()}, **env}
    environ.update(HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="1")
    environ.pop("CI", None)
    logs, running = [], []
    try:
        logs.append((tmp_path / "web.log").open("wb"))
        running.append(
            subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", web],
                cwd=REPO,
                env=environ,
                stdout=subprocess.DEVNULL,
                stderr=logs[-1],
            )
        )
        if worker:
            logs.append((tmp_path / "worker.log").open("wb"))
            running.append(
                subprocess.Popen(
                    [str(BIN / "hotline"), "worker"],
                    cwd=tmp_path,
                    env=environ,
                    stdout=subprocess.DEVNULL,
                    stderr=logs[-1],
                )
            )
        wait_until(lambda: listening(port), 30, "gunicorn")
        yield port
    finally:
        stop(running)
        for handle in logs:
            handle.close()


def counts(database_url: str, sid: str) -> tuple[int, int, int]:
    """Return (inbound rows for the SID, the conversation's version, outbox rows)."""
    app = create_app(hotline_config(database_url), environ={})
    rt = runtime(app)
    try:
        with rt.db.reading() as session:
            inbound = session.exec(
                select(func.count()).select_from(InboundMessage).where(InboundMessage.sid == sid)
            ).one()
            versions = session.exec(select(Conversation.version)).all()
            outbox = session.exec(select(func.count()).select_from(OutboxMessage)).one()
    finally:
        rt.db.dispose()
    return inbound, sum(versions), outbox


def test_a_worker_killed_mid_request_and_twilio_retry_changes_things_once(database_url, tmp_path):
    settings = prepared(database_url)
    flag = tmp_path / "hold.flag"
    form = sms_params("my friend is not breathing", sid="SM" + uuid.uuid4().hex)
    with processes(tmp_path, settings, web="tests.held_wsgi:app", FAULT_FLAG=str(flag)) as port:
        flag.touch()
        lost = []
        first = threading.Thread(target=lambda: lost.append(_try(port, form)))
        first.start()
        inside = flag.with_suffix(".inside")
        wait_until(
            lambda: inside.exists() and inside.read_text().strip(), 10, "the request to reach its commit"
        )
        os.kill(int(inside.read_text()), signal.SIGKILL)  # the worker dies holding the transaction
        first.join(10)
        flag.unlink()
        assert lost == ["no answer"]  # Twilio saw the connection drop: it retries
        assert counts(database_url, form["MessageSid"]) == (0, 0, 0)  # all rolled back

        wait_until(lambda: listening(port), 10, "a new gunicorn worker")
        answers = []
        for _ in range(2):  # Twilio's retry, and one more for good measure
            status, body, seconds = post(port, "/twilio/sms", form)
            assert status == 200 and seconds < BUDGET_SECONDS
            answers.append(twiml_messages(body))
    assert answers[0] == answers[1] and "911" in answers[0][0]
    assert counts(database_url, form["MessageSid"]) == (1, 1, 1)  # one turn, one sergeant alert


def _try(port: int, form: dict) -> str:
    try:
        status, _, _ = post(port, "/twilio/sms", form, timeout=15)
    except (ConnectionError, urllib.error.URLError, OSError):
        return "no answer"
    return str(status)


def unreachable(database_url: str, tmp_path: Path) -> str:
    """A database URL of the same kind that cannot be reached."""
    if database_url.startswith("sqlite"):
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("")
        return f"sqlite:///{blocker / 'hotline.sqlite3'}"
    return "postgresql+psycopg://postgres@127.0.0.1:1/hotline"


def test_an_unreachable_database_gets_the_safe_static_answer_in_time(database_url, tmp_path):
    settings = hotline_config(unreachable(database_url, tmp_path))
    with processes(tmp_path, settings) as port:
        status, body, seconds = post(port, "/twilio/sms", sms_params("hi"))
        assert status == 200 and seconds < BUDGET_SECONDS
        texts = twiml_messages(body)
        assert len(texts) == 1 and "911" in texts[0] and "cannot answer" in texts[0]

        call = {"CallSid": "CA" + uuid.uuid4().hex, "From": "+18165550142", "To": "+18165550000"}
        status, body, seconds = post(port, "/twilio/voice/language", {**call, "Digits": "1"})
        assert status == 200 and seconds < BUDGET_SECONDS
        assert "911" in body and "<Dial" in body  # the safe script puts the caller through to the desk
    log = (tmp_path / "web.log").read_text()
    assert " 500 " not in log and "+18165550142" not in log and "8165550142" not in log


@pytest.fixture(params=["slow", "failing"])
def bad_twilio(request):
    server = FakeTwilio(request.param).start()
    yield server
    server.stop()


def test_slow_or_failing_twilio_does_not_slow_the_webhooks(database_url, tmp_path, bad_twilio):
    settings = prepared(
        database_url,
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_API_BASE_URL=bad_twilio.url,
        HOTLINE_TRANSPORT="twilio",
        HOTLINE_WORKER_POLL_SECONDS="0.1",
    )
    with processes(tmp_path, settings, worker=True) as port:
        post(port, "/twilio/sms", sms_params("hi", sender="+18165559999"))  # warm up
        before = [
            post(port, "/twilio/sms", sms_params("hi", sender=f"+1816555{3000 + n}"))[2] for n in range(5)
        ]
        # Emergencies queue sergeant alerts: the worker is now stuck on (or retrying) Twilio.
        for n in range(3):
            status, _, _ = post(port, "/twilio/sms", sms_params("overdose", sender=f"+1816555{4000 + n}"))
            assert status == 200
        wait_until(lambda: bad_twilio.requests >= 1, 5, "the worker to call Twilio")
        during = []
        for n in range(10):
            status, body, seconds = post(port, "/twilio/sms", sms_params("hi", sender=f"+1816555{5000 + n}"))
            assert status == 200 and twiml_messages(body)
            during.append(seconds)
        if bad_twilio.mode == "failing":
            wait_until(lambda: bad_twilio.requests >= 4, 8, "the worker to retry")
    assert max(during) < max(0.5, 5 * max(before)), (before, during)
    app = create_app(hotline_config(database_url), environ={})
    rt = runtime(app)
    with rt.db.reading() as session:
        statuses = session.exec(select(OutboxMessage.status)).all()
    rt.db.dispose()
    assert len(statuses) == 3  # nothing lost, nothing doubled
    if bad_twilio.mode == "failing":
        assert "sent" not in statuses and "failed" not in statuses  # waiting for a retry
