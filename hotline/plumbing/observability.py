"""Logs and metrics for operators: JSON log lines with request and SID correlation, Prometheus.

Nothing here records a phone number, message body or pickup place: log records carry the
request id, the Twilio SID and internal ids, and metrics are counts, ages and latencies.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Flask, Response, g, has_request_context, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from hotline.plumbing import staff
from hotline.plumbing.runtime import Runtime, runtime
from models import Dispatch, OutboxMessage
from models.clock import utcnow
from models.dispatch import OPEN_STATUSES

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)
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


def init_app(app: Flask) -> None:
    """Time every Twilio webhook and give every request an id (taken from the proxy if given)."""

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if given.isalnum() and len(given) <= 64 else uuid.uuid4().hex

    @app.after_request
    def _finish(response: Response) -> Response:
        if request.path.startswith("/twilio/") and request.url_rule is not None:
            WEBHOOK_SECONDS.labels(request.url_rule.rule).observe(time.perf_counter() - g.started)
        response.headers["X-Request-Id"] = g.request_id
        return response

    app.register_blueprint(bp)


class DatabaseGauges:
    """Gauges read from the database at scrape time, so every process reports the same truth."""

    def __init__(self, rt: Runtime):
        self.rt = rt

    def collect(self):
        rt, now = self.rt, utcnow()
        try:
            with rt.db.reading() as session:
                waiting = (OutboxMessage.status.in_(("pending", "sending")),)
                depth = session.exec(select(func.count()).select_from(OutboxMessage).where(*waiting)).one()
                oldest = session.exec(select(func.min(OutboxMessage.due_at)).where(*waiting)).one()
                failed = session.exec(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "failed")
                ).one()
                open_count = session.exec(
                    select(func.count()).select_from(Dispatch).where(col(Dispatch.status).in_(OPEN_STATUSES))
                ).one()
                oldest_offer = session.exec(
                    select(func.min(Dispatch.updated_at)).where(Dispatch.status.in_(("waiting", "offered")))
                ).one()
        except SQLAlchemyError:
            yield GaugeMetricFamily("hotline_database_up", "Whether the database answered.", value=0)
            return
        yield GaugeMetricFamily("hotline_database_up", "Whether the database answered.", value=1)
        yield GaugeMetricFamily("hotline_outbox_depth", "Texts and calls waiting to be sent.", value=depth)
        yield GaugeMetricFamily(
            "hotline_outbox_oldest_seconds",
            "Age of the oldest text or call waiting to be sent.",
            value=(now - oldest).total_seconds() if oldest else 0,
        )
        yield GaugeMetricFamily("hotline_delivery_failures", "Outbox rows Twilio did not take.", value=failed)
        yield GaugeMetricFamily("hotline_dispatches_open", "Requests not yet closed.", value=open_count)
        yield GaugeMetricFamily(
            "hotline_oldest_unaccepted_seconds",
            "Age of the oldest request no officer has accepted yet.",
            value=(now - oldest_offer).total_seconds() if oldest_offer else 0,
        )


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


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus exposition, for a scraper holding HOTLINE_METRICS_TOKEN."""
    rt = runtime()
    token = rt.config.get("HOTLINE_METRICS_TOKEN") or ""
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return Response(status=404 if not token else 401)
    registry = CollectorRegistry(auto_describe=True)
    registry.register(DatabaseGauges(rt))
    body = generate_latest(REGISTRY) + generate_latest(registry)
    return Response(body, mimetype="text/plain; version=0.0.4")
