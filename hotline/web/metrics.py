"""The /metrics page for Prometheus, and the timing and request id of every request.

The log format, the metric registry and the outbox watch are hotline/plumbing/observability.py.
"""

from __future__ import annotations

import hmac
import time
import uuid

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from hotline.plumbing.observability import REGISTRY, WEBHOOK_SECONDS
from hotline.plumbing.runtime import Runtime, runtime
from models import Dispatch, OutboxMessage
from models.clock import utcnow
from models.dispatch import OPEN_STATUSES

bp = Blueprint("metrics", __name__)


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
