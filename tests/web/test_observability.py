"""Operators see latency, outbox depth and correlated JSON logs, never personal data."""

from __future__ import annotations

import json
import logging

import pytest

from hotline import create_app
from hotline.plumbing import outbox
from hotline.plumbing.observability import CorrelationFilter, JsonFormatter
from tests.support import Twilio, hotline_config

TOKEN = "metrics-token-123"


@pytest.fixture
def metered(database_url, transport):
    app = create_app(
        hotline_config(database_url, HOTLINE_METRICS_TOKEN=TOKEN), transport=transport, environ={}
    )
    from hotline.plumbing.runtime import runtime

    runtime(app).db.create_all()
    yield app
    runtime(app).db.dispose()


def scrape(client, token=TOKEN):
    return client.get("/metrics", headers={"Authorization": f"Bearer {token}"})


def test_metrics_need_the_token(metered, client):
    assert client.get("/metrics").status_code == 404, "no token configured: no endpoint"
    client = metered.test_client()
    assert client.get("/metrics").status_code == 401
    assert scrape(client, "wrong").status_code == 401


def test_metrics_report_webhook_latency_and_outbox(metered):
    from hotline.plumbing.runtime import runtime

    client = metered.test_client()
    Twilio(client).text("hi")
    rt = runtime(metered)
    with rt.db.unit_of_work() as session:
        outbox.enqueue(session, rt, to="+18165550101", body="x", audience="staff", purpose="alert")
        session.commit()
    body = scrape(client).get_data(as_text=True)
    assert 'hotline_webhook_seconds_count{route="/twilio/sms"}' in body
    assert "hotline_outbox_depth 1.0" in body
    assert "hotline_database_up 1.0" in body
    assert "5550101" not in body


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-Id": "abc123"}).headers["X-Request-Id"] == "abc123"
    made = client.get("/healthz", headers={"X-Request-Id": "bad id;drop"}).headers["X-Request-Id"]
    assert made.isalnum() and "drop" not in made


def test_json_log_lines_carry_request_id_and_sid(app):
    record = logging.LogRecord("hotline", logging.INFO, __file__, 1, "turn %s done", ("SM123",), None)
    with app.test_request_context("/twilio/sms"):
        from flask import g

        g.request_id, g.sid = "req1", "SM123"
        CorrelationFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "turn SM123 done"
    assert entry["request_id"] == "req1" and entry["sid"] == "SM123" and entry["level"] == "INFO"


def alerts(rt) -> list[str]:
    from sqlmodel import select

    from models import OutboxMessage

    with rt.db.reading() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "alert")).all()
        return [rt.vault.open(row.body_sealed) for row in rows]


def add_sergeant(rt):
    from hotline.services import roster

    with rt.db.unit_of_work() as session:
        roster.add_officer(session, rt, name="Sgt. Rivera", phone="+18165550100", sergeant=True)
        session.commit()


def test_stuck_outbox_alerts_the_sergeant_once_an_hour(rt):
    from datetime import timedelta

    from hotline.plumbing.observability import watch_outbox
    from models.clock import utcnow

    add_sergeant(rt)
    now = utcnow()
    assert watch_outbox(rt, now=now) is False, "an empty outbox is not stuck"
    with rt.db.unit_of_work() as session:
        outbox.enqueue(
            session,
            rt,
            to="+18165550101",
            body="offer",
            audience="staff",
            purpose="offer",
            due_at=now - timedelta(minutes=2),
        )
        session.commit()
    assert watch_outbox(rt, now=now) is False, "two minutes late is busy, not stuck"
    assert watch_outbox(rt, now=now + timedelta(minutes=10)) is True
    assert watch_outbox(rt, now=now + timedelta(minutes=11)) is False, "once an hour"
    (text,) = alerts(rt)
    assert "1 texts or calls have waited over 5 min" in text


@pytest.mark.parametrize("path", ["/twilio/fallback/sms", "/twilio/fallback/voice"])
def test_twilio_fallback_tells_the_sergeant_after_answering(twilio, rt, path):
    add_sergeant(rt)
    params = {
        "AccountSid": "AC" + "1" * 32,
        "CallSid": "CA" + "2" * 32,
        "MessageSid": "SM" + "3" * 32,
        "ErrorCode": "11200",
        "ErrorUrl": "https://hotline.example.org/twilio/sms",
    }
    for _ in range(2):
        response = twilio.post(path, params)
        assert response.status_code == 200
        response.close()
    (text,) = alerts(rt)
    assert "error 11200" in text, "one alert per quarter hour however often Twilio falls back"


# -- the log scrubber: what city IT needs stays, every phone number goes --------------------------

KEPT = [
    "[2026-12-06 21:54:23 +0000] [4194303] [INFO] Listening at: http://0.0.0.0:8000 (4194303)",
    "[2026-12-06 21:54:23 +0000] [1234567] [INFO] Booting worker with pid: 1234567",
    "[2026-12-06 21:54:23 +0000] [81655] [INFO] Starting gunicorn 22.0.0",
    '127.0.0.1 "POST /twilio/sms" 200 1234 5ms',  # gunicorn.conf.py's access_log_format
    '10.0.0.12 "GET /dashboard/" 302 189 1016ms',
    '127.0.0.1 "POST /twilio/status" 204 0 12ms',
    '127.0.0.1 - - [06/Dec/2026 21:54:23] "POST /twilio/sms HTTP/1.1" 200 -',  # development server
    '127.0.0.1 - - [06/Dec/2026 21:54:23] "GET /nowhere HTTP/1.1" 404 207',
    "Hotline listening on http://127.0.0.1:5000 (transport: local).",
    "2026-12-06 21:54:23,123 INFO hotline.worker: outbox 1234567 sent",
    "offer 4821 expires 12/06/2026 23:05; retry at 2026-12-06T23:05:00.123456+00:00",
    "turn SM0123456789abcdef0123456789abcdef: conversation 8165550 now ask_safe",
]

HIDDEN = [
    "+18165550142",  # E.164, as Twilio posts it
    "+1 816 555 0142",
    "+1 (816) 555-0142",
    "+1-816-555-0142",
    "+1.816.555.0142",
    "1-816-555-0142",
    "1 816 555 0142",
    "18165550142",
    "8165550142",  # ten digits
    "(816) 555-0142",  # national, with separators
    "(816)555-0142",
    "816-555-0142",
    "816.555.0142",
    "816 555 0142",
    "555-0142",  # seven, as a local number is written
    "%2B18165550142",  # URL-encoded
    "+52 55 1234 5678",  # and the rest of the world
    "+442079460958",
    "\uff18\uff11\uff16\uff15\uff15\uff15\uff10\uff11\uff14\uff12",  # full-width digits
]


def logged(message: str) -> str:
    """Log a line as any library would, through the scrubber and the production JSON format."""
    from hotline.plumbing.privacy import install_log_scrubbing

    install_log_scrubbing()
    record = logging.getLogRecordFactory()(
        "gunicorn.error", logging.INFO, __file__, 1, "%s", (message,), None
    )
    return json.loads(JsonFormatter().format(record))["message"]


@pytest.mark.parametrize("line", KEPT)
def test_ports_pids_status_codes_dates_and_ids_stay_in_the_logs(line):
    assert logged(line) == line


@pytest.mark.parametrize("number", HIDDEN)
@pytest.mark.parametrize("around", ["{}", "texting {} now", "to={}&x", "[{}]", "call {}, then 200 OK"])
def test_every_spelling_of_a_phone_number_is_hidden(number, around):
    line = logged(around.format(number))
    assert line == around.format("[number]"), line
