"""The dashboard's blueprint: no caching, its database-outage page, its home and its time filters."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from hotline.plumbing.runtime import runtime

log = logging.getLogger(__name__)
bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

#: How often the board asks for news, in seconds (HOTLINE_BOARD_POLL_SECONDS overrides it).
BOARD_POLL_SECONDS = 5


@bp.after_request
def _no_store(response: Response) -> Response:
    # Pages can carry a pickup place: never keep them in a shared computer's cache. The security
    # headers every response carries are hotline/web/security.py's.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(SQLAlchemyError)
def _database_down(error: SQLAlchemyError):
    log.error("dashboard: database failure on %s: %s", request.path, type(error).__name__)
    if request.path.endswith(".json"):
        return jsonify(error="database unavailable"), 503
    g.user = None  # the page must not ask the database who is signed in
    return render_template("dashboard/unavailable.html"), 503


@bp.app_context_processor
def _template_globals() -> dict:
    from hotline.web.dashboard.guard import csrf_token, current_user, may

    return {"csrf_token": csrf_token, "current_user": current_user, "may": may}


@bp.get("/")
def home():
    """Send a signed-in user to their role's first page."""
    from hotline.web.dashboard.guard import current_user, may

    if current_user() is None:
        return redirect(url_for("dashboard.login"))
    return redirect(url_for("dashboard.board" if may("sergeant") else "dashboard.reports"))


def local_time(moment: datetime | None, fmt: str = "%H:%M") -> str:
    """Show a stored UTC time in the program's time zone."""
    if moment is None:
        return "-"
    zone = ZoneInfo(runtime().program.timezone)
    return moment.replace(tzinfo=UTC).astimezone(zone).strftime(fmt)


def minutes_since(moment: datetime, now: datetime) -> int:
    """Return whole minutes from a time to now (never negative)."""
    return max(0, int((now - moment).total_seconds() // 60))
