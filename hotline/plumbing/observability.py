"""Logs and metrics for operators: JSON log lines with request and SID correlation, Prometheus.

The /metrics page and the request timing are hotline/web/metrics.py; this module holds what
the worker and the services share: the log format, the metric registry, the outbox watch.

Nothing here records a phone number, message body or pickup place: log records carry the
request id, the Twilio SID and internal ids, and metrics are counts, ages and latencies.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from flask import Flask, g, has_request_context
from prometheus_client import CollectorRegistry, Histogram
from sqlalchemy import func
from sqlmodel import select

from hotline.plumbing import staff
from hotline.plumbing.runtime import Runtime
from models import OutboxMessage
from models.clock import utcnow

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry(auto_describe=True)
WEBHOOK_SECONDS = Histogram(
    "hotline_webhook_seconds",
    "Time to answer a Twilio webhook, by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15),
    registry=REGISTRY,
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, Twilio SID."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "sid"):
            value = getattr(record, name, None)
            if value:
                entry[name] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class CorrelationFilter(logging.Filter):
    """Stamp records made during a request with its request id and Twilio SID."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = getattr(g, "request_id", None)
            record.sid = getattr(g, "sid", None)
        return True


def configure_logging(app: Flask) -> None:
    """Give the process a log handler when nobody else did: JSON in production, plain otherwise."""
    # transitions narrates every callback at INFO: noise, and time spent on every turn.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    # twilio-python narrates each REST request (URL, headers, sometimes form data) at INFO.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    root = logging.getLogger()
    if root.handlers:  # gunicorn's --log-config, or a test runner, already decided
        return
    handler = logging.StreamHandler()
    if app.config["HOTLINE_ENV"] == "production":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(CorrelationFilter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)


#: A text or call waiting longer than this means sending is failing, not just busy.
STUCK_AFTER = timedelta(minutes=5)


def watch_outbox(rt: Runtime, *, now: datetime | None = None) -> bool:
    """Alert the sergeant (once an hour at most) when texts or calls wait too long; True if alerted."""
    now = now or utcnow()
    with rt.db.unit_of_work() as session:
        late = session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.status.in_(("pending", "sending")),
                OutboxMessage.due_at < now - STUCK_AFTER,
                OutboxMessage.purpose != "alert",
            )
        ).one()
        if not late:
            return False
        text = staff.render(
            "outbox_stuck",
            time=staff.local_time(now, rt.program.timezone),
            count=late,
            minutes=int(STUCK_AFTER.total_seconds() // 60),
        )
        queued = staff.alert_sergeants(session, rt, text, dedupe=f"outbox-stuck:{now:%Y%m%d%H}")
        session.commit()
    if queued:
        log.error("outbox: %d messages waiting over %s; sergeant alerted", late, STUCK_AFTER)
    return bool(queued)


def report_webhook_error(rt: Runtime, code: str, *, now: datetime | None = None) -> None:
    """Tell the sergeant (once per quarter hour) that Twilio fell back; never raises."""
    now = now or utcnow()
    try:
        with rt.db.unit_of_work() as session:
            text = staff.render("webhook_errors", time=staff.local_time(now, rt.program.timezone), code=code)
            window = f"{now:%Y%m%d%H}{now.minute // 15}"
            staff.alert_sergeants(session, rt, text, dedupe=f"webhook-error:{window}")
            session.commit()
    except Exception:  # the fallback runs because something is broken: the log is the last resort
        log.exception("could not alert the sergeant about webhook error %s", code)
