"""Signing in and out of the dashboard."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from hotline.plumbing.audit import record
from hotline.plumbing.runtime import runtime
from hotline.web.dashboard import accounts
from hotline.web.dashboard.blueprint import bp
from hotline.web.dashboard.guard import actor, check_csrf, current_user, requires, sign_in, sign_out
from models import DashboardUser

MESSAGES = {
    "wrong": "Wrong username or password.",
    "inactive": "Wrong username or password.",
    "locked": (
        f"Too many failed sign-ins: this account is locked for {int(accounts.LOCKOUT.total_seconds() // 60)}"
        " minutes. An admin can unlock it sooner."
    ),
}


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; check a username and password."""
    if request.method == "GET":
        if current_user() is not None:
            return redirect(url_for("dashboard.home"))
        return render_template("dashboard/login.html", next=_safe_next(request.args.get("next")))
    check_csrf()
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    rt = runtime()
    try:
        # argon2 first, holding no write lock: on SQLite webhooks would wait for it.
        with rt.db.reading() as session:
            checked = accounts.verify_first(session, username, password)
        with rt.db.unit_of_work() as session:
            result = accounts.authenticate(session, username, password, checked=checked)
            who = f"user:{result.user.username}" if result.user else "anonymous"
            action = "login" if result.ok else f"login_{result.outcome}"
            record(session, who, action, address=request.remote_addr)
            session.commit()
    except SQLAlchemyError:
        flash("The dashboard cannot reach its database right now. Try again in a minute.", "error")
        return render_template("dashboard/login.html", next=""), 503
    if not result.ok:
        flash(MESSAGES[result.outcome], "error")
        status = 429 if result.outcome == "locked" else 401
        return render_template("dashboard/login.html", username=username[:64], next=""), status
    sign_in(result.user)
    return redirect(_safe_next(request.form.get("next")) or url_for("dashboard.home"))


@bp.post("/logout")
@requires("sergeant", "admin")
def logout():
    """Sign out of this browser."""
    user = current_user()
    with runtime().db.unit_of_work() as session:
        # Bump the epoch: a copy of this session's cookie (stolen, or on another screen) stops working.
        stored = session.get(DashboardUser, user.id, with_for_update=True)
        stored.session_epoch += 1
        session.add(stored)
        record(session, actor(), "logout")
        session.commit()
    sign_out()
    flash("Signed out.", "info")
    return redirect(url_for("dashboard.login"))


def _safe_next(target: str | None) -> str:
    """Return a local dashboard path to go back to, never another site."""
    if target and target.startswith("/dashboard/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""
