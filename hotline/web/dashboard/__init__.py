"""The sergeant's board and the program staff's pages, under /dashboard.

Roles: a sergeant dispatches (board, dispatch pages); an admin keeps the roster, the user
accounts and the reports, and reads the audit log; an account whose role is "both" does all of it.
Everyone sees the conversation flow and changes their own password. Pages show
only what dispatch needs: never a participant's number.

One module per page family; blueprint.py holds the blueprint they all add their routes to.
May import hotline.services and hotline.plumbing (never another web module but its own).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from hotline.services import report
from hotline.web.dashboard import (  # noqa: F401
    audit,
    board,
    errors,
    flow_page,
    login,
    reports,
    roster_page,
    users,
)
from hotline.web.dashboard.blueprint import BOARD_POLL_SECONDS, bp, local_time, minutes_since


def init_app(app: Flask) -> None:
    """Register the dashboard: secure session cookies, every page and the error pages."""
    secure = str(app.config["HOTLINE_PUBLIC_URL"]).startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="hotline_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
    )
    app.config.setdefault("HOTLINE_BOARD_POLL_SECONDS", BOARD_POLL_SECONDS)
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["minutes_since"] = minutes_since
    report.install()
    app.register_blueprint(bp)
