"""Two gunicorn web servers and two workers on one PostgreSQL: nothing relies on process memory.

Real processes, loopback only: Twilio's REST API is a small recording server in this test, so a
text sent twice would be seen twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlmodel import func, select

from hotline import create_app
from hotline.plumbing.runtime import runtime
from hotline.services import roster
from models import Conversation, InboundMessage, OutboxMessage
from tests.processes import ACCOUNT, FakeTwilio, free_port, stop, wait_until
from tests.support import PUBLIC_URL, hotline_config, sign, sms_params

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def post_sms(port: int, params: dict) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/twilio/sms",
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": sign("/twilio/sms", params)},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return response.status


@pytest.fixture
def fake_twilio():
    server = FakeTwilio().start()
    yield server
    server.stop()


def test_two_web_servers_and_two_workers_send_each_alert_once(postgres_url, fake_twilio, tmp_path):
    settings = hotline_config(
        postgres_url,
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_API_BASE_URL=fake_twilio.url,
        HOTLINE_TRANSPORT="twilio",
        HOTLINE_WORKER_POLL_SECONDS="0.1",
    )
    app = create_app(settings, environ={})
    rt = runtime(app)
    rt.db.create_all()
    with rt.db.unit_of_work() as session:
        roster.add_officer(session, rt, name="Sgt. Rivera", phone="+18165550100", sergeant=True)
        session.commit()

    env = {**os.environ, **{k: str(v) for k, v in settings.items()}, "HOST": "127.0.0.1"}
    env.pop("CI", None)
    ports = [free_port(), free_port()]
    processes, logs = [], []

    def log(name):
        logs.append((tmp_path / name).open("wb"))
        return logs[-1]

    try:
        for port in ports:
            processes.append(
                subprocess.Popen(
                    [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                    cwd=REPO,
                    env={**env, "PORT": str(port), "WEB_CONCURRENCY": "2"},
                    stdout=subprocess.DEVNULL,
                    stderr=log(f"web-{port}.log"),
                )
            )
        for n in range(2):
            processes.append(
                subprocess.Popen(
                    [str(BIN / "hotline"), "worker"],
                    cwd=tmp_path,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log(f"worker-{n}.log"),
                )
            )
        wait_until(lambda: all(healthy(p) for p in ports), 30, "both web servers")

        senders = [f"+1816555{2000 + n}" for n in range(20)]
        forms = [sms_params("someone is not breathing", sender=s) for s in senders]
        results = []

        def deliver(form, port):
            results.append(post_sms(port, form))

        threads = []
        for n, form in enumerate(forms):
            # Twilio retries: the first five messages reach both web servers at the same time.
            targets = ports if n < 5 else [ports[n % 2]]
            threads += [threading.Thread(target=deliver, args=(form, port)) for port in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert results == [200] * 25

        wait_until(lambda: len(fake_twilio.messages) >= 20, 30, "20 alerts sent")
        time.sleep(1)  # room for a duplicate to show up
        assert len(fake_twilio.messages) == 20, "each alert sent exactly once"
        assert {m["To"] for m in fake_twilio.messages} == {"+18165550100"}
        assert all(m["StatusCallback"] == PUBLIC_URL + "/twilio/status" for m in fake_twilio.messages)
        with rt.db.reading() as session:
            assert session.exec(select(func.count()).select_from(Conversation)).one() == 20
            assert session.exec(select(func.count()).select_from(InboundMessage)).one() == 20
            statuses = session.exec(select(OutboxMessage.status)).all()
            assert statuses == ["sent"] * 20
        for handle in logs:
            handle.flush()
        output = "".join(p.read_text() for p in tmp_path.glob("*.log"))
        for number in [*senders, "+18165550100"]:
            assert number[-7:] not in output, "no phone number in any log"
        assert "Traceback" not in output
    finally:
        stop(processes, wait=15)
        for handle in logs:
            handle.close()
        rt.db.dispose()


def test_replaced_web_workers_answer_with_their_own_connections(postgres_url, tmp_path):
    """Workers are forked from a master that loaded the app (gunicorn.conf.py preload_app) and
    each opens its own database connections: a replaced worker answers the next text."""
    settings = hotline_config(postgres_url)
    rt = runtime(create_app(settings, environ={}))
    rt.db.create_all()
    env = {**os.environ, **{k: str(v) for k, v in settings.items()}, "HOST": "127.0.0.1"}
    env.pop("CI", None)
    port = free_port()
    with (tmp_path / "web.log").open("wb") as log:
        web = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "-c",
                "gunicorn.conf.py",
                "--max-requests",
                "3",
                "--max-requests-jitter",
                "0",
                "wsgi:app",
            ],
            cwd=REPO,
            env={**env, "PORT": str(port), "WEB_CONCURRENCY": "1"},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            wait_until(lambda: healthy(port), 30, "gunicorn")
            slowest = 0.0
            for n in range(12):  # the worker is replaced after every 3 requests
                start = time.monotonic()
                assert post_sms(port, sms_params("hi" if n == 0 else "MENU")) == 200
                slowest = max(slowest, time.monotonic() - start)
        finally:
            stop([web])
    assert slowest < 2.0, "each request answered while workers are replaced"
    assert (tmp_path / "web.log").read_text().count("Booting worker") >= 4
    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).one().version == 12
    rt.db.dispose()
