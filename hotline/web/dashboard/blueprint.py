"""The dashboard's blueprint: its security headers, its error page, its home and its time filters."""

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

# Scripts and styles come only from our own /static; nothing inline, no other origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


@bp.after_request
def _protect(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    # Pages can carry a pickup place: never keep them in a shared computer's cache.
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
    from hotline.web.dashboard.guard import csrf_token, current_user

    return {"csrf_token": csrf_token, "current_user": current_user}


@bp.get("/")
def home():
    """Send a signed-in user to their role's first page."""
    from hotline.web.dashboard.guard import current_user

    user = current_user()
    if user is None:
        return redirect(url_for("dashboard.login"))
    return redirect(url_for("dashboard.board" if user.role == "sergeant" else "dashboard.reports"))


def local_time(moment: datetime | None, fmt: str = "%H:%M") -> str:
    """Show a stored UTC time in the program's time zone."""
    if moment is None:
        return "-"
    zone = ZoneInfo(runtime().program.timezone)
    return moment.replace(tzinfo=UTC).astimezone(zone).strftime(fmt)


def minutes_since(moment: datetime, now: datetime) -> int:
    """Return whole minutes from a time to now (never negative)."""
    return max(0, int((now - moment).total_seconds() // 60))
