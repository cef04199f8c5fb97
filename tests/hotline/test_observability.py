"""Operators see latency, outbox depth and correlated JSON logs, never personal data."""

from __future__ import annotations

import json
import logging

import pytest

from hotline import create_app, outbox
from hotline.observability import CorrelationFilter, JsonFormatter
from tests.support import Twilio, hotline_config

TOKEN = "metrics-token-123"


@pytest.fixture
def metered(database_url, transport):
    app = create_app(
        hotline_config(database_url, HOTLINE_METRICS_TOKEN=TOKEN), transport=transport, environ={}
    )
    from hotline.runtime import runtime

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
    from hotline.runtime import runtime

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
