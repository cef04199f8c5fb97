"""Signing in and out of the dashboard."""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from hotline.plumbing.audit import record
from hotline.plumbing.runtime import runtime
from hotline.web.dashboard import accounts
from hotline.web.dashboard.blueprint import bp
from hotline.web.dashboard.guard import (
    actor,
    check_csrf,
    client_address,
    current_user,
    requires,
    sign_in,
    sign_out,
)
from hotline.web.dashboard.signin_limits import signin_limits
from models import DashboardUser

MESSAGES = {
    "wrong": "Wrong username or password.",
    "inactive": "Wrong username or password.",
    "address": (
        "Too many sign-ins from this network. Wait {wait}, then try again; no account is locked. "
        "Until then, use the radio and the desk phone."
    ),
    "username": (
        "Too many failed sign-ins for this account from here. Wait {wait}, or sign in from "
        "another device or network (your account is not locked)."
    ),
}
#: A `next` path to return to after signing in: inside the dashboard, plain characters only.
SAFE_NEXT = re.compile(r"/dashboard/[A-Za-z0-9_.\-/]*(\?[A-Za-z0-9_.\-=&%]*)?")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; check a username and password (within the sign-in limits)."""
    if request.method == "GET":
        if current_user() is not None:
            return redirect(url_for("dashboard.home"))
        return render_template("dashboard/login.html", next=_safe_next(request.args.get("next")))
    check_csrf()
    username = request.form.get("username", "")
    password = request.form.get("password", "")
    address = client_address()
    name = username.strip().lower()[:64]
    limits = signin_limits()
    refusal = limits.admit(address, name)
    if refusal is not None:
        # No password check, no database write: a flood costs next to nothing.
        flash(MESSAGES[refusal.reason].format(wait=refusal.wait), "error")
        page = render_template("dashboard/login.html", username=username[:64], next="")
        return page, 429, {"Retry-After": str(refusal.retry_after)}
    rt = runtime()
    try:
        # argon2 first, holding no write lock: on SQLite webhooks would wait for it.
        with rt.db.reading() as session:
            checked = accounts.verify_first(session, username, password)
        with rt.db.unit_of_work() as session:
            result = accounts.authenticate(session, username, password, checked=checked)
            who = f"user:{result.user.username}" if result.user else "anonymous"
            action = "login" if result.ok else f"login_{result.outcome}"
            record(session, who, action, address=address)
            session.commit()
    except SQLAlchemyError:
        flash("The dashboard cannot reach its database right now. Try again in a minute.", "error")
        return render_template("dashboard/login.html", next=""), 503
    if not result.ok:
        limits.failed(address, name)
        flash(MESSAGES[result.outcome], "error")
        return render_template("dashboard/login.html", username=username[:64], next=""), 401
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
    """Return a local dashboard path to go back to: never another site, never a header break."""
    if target and SAFE_NEXT.fullmatch(target) and "//" not in target and ".." not in target:
        return target
    return ""
