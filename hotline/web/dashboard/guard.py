"""Who is signed in, what their role lets them do, and CSRF tokens on every form and POST."""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import abort, g, jsonify, redirect, request, session, url_for

from hotline.plumbing.runtime import runtime
from models import DashboardUser
from models.clock import utcnow
from models.user import can

#: A sign-in lasts one long shift at most.
SESSION_HOURS = 12
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def csrf_token() -> str:
    """Return this browser session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Refuse (400) a POST whose form field or header does not carry the session's token."""
    expected = str(session.get("csrf") or "").encode()
    sent = (request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or "").encode("utf-8", "replace")
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a 500 otherwise).
    if not expected or not hmac.compare_digest(expected, sent):
        abort(400, description="The form expired or did not come from this site. Reload and try again.")


def sign_in(user: DashboardUser) -> None:
    """Start a fresh session for a user (a new CSRF token: nothing carries over from before)."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["epoch"] = user.session_epoch
    session["at"] = utcnow().isoformat()
    csrf_token()


def sign_out() -> None:
    """End this browser's session."""
    session.clear()


def current_user() -> DashboardUser | None:
    """Return the signed-in, active user of this request, or None."""
    if "user" in g:
        return g.user
    user = None
    uid, started = session.get("uid"), session.get("at")
    if uid is not None and started:
        try:
            fresh = utcnow() - datetime.fromisoformat(started) < timedelta(hours=SESSION_HOURS)
        except (TypeError, ValueError):
            fresh = False
        if fresh:
            with runtime().db.reading() as db_session:
                found = db_session.get(DashboardUser, uid)
            if found is not None and found.active and found.session_epoch == session.get("epoch"):
                user = found
    g.user = user
    return user


def may(*roles: str) -> bool:
    """Tell whether the signed-in user may do what any of the roles may ("both" may do all)."""
    user = current_user()
    return user is not None and any(can(user.role, role) for role in roles)


def client_address() -> str:
    """Return the client's address: the peer, or what the trusted proxies say it is (ProxyFix)."""
    return (request.remote_addr or "unknown")[:64]


def actor() -> str:
    """Return the signed-in user as a timeline and audit actor: "user:<username>"."""
    user = current_user()
    return f"user:{user.username}" if user else "anonymous"


def requires(*roles: str) -> Callable:
    """Let a view run only for a signed-in user with one of the roles ("both" has each); POSTs need CSRF."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            user = current_user()
            if user is None:
                if request.method != "GET" or request.path.endswith(".json"):
                    return jsonify(error="sign in first"), 401
                return redirect(url_for("dashboard.login", next=request.path))
            if not any(can(user.role, role) for role in roles):
                abort(403)
            if request.method == "POST":
                check_csrf()
            return view(*args, **kwargs)

        guarded.roles = roles  # type: ignore[attr-defined]
        return guarded

    return decorate
