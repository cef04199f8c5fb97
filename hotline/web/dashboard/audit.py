"""The audit log of staff actions: written with each action, shown to admins."""

from __future__ import annotations

from flask import render_template, request
from sqlmodel import col, select

from hotline.plumbing.runtime import runtime
from hotline.web.dashboard import words
from hotline.web.dashboard.blueprint import bp, local_time
from hotline.web.dashboard.guard import requires
from models import AuditEntry, Officer

PAGE_SIZE = 100


@bp.get("/audit")
@requires("admin")
def audit_log():
    """Show the newest staff actions, a page at a time."""
    page = max(1, request.args.get("page", 1, type=int) or 1)
    with runtime().db.reading() as session:
        entries = session.exec(
            select(AuditEntry)
            .order_by(col(AuditEntry.id).desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        ).all()
        names = {o.id: o.name for o in session.exec(select(Officer)).all() if o.id is not None}
    more = len(entries) > PAGE_SIZE
    shown = [
        {
            "at": local_time(e.at, "%Y-%m-%d %H:%M:%S %Z"),
            "who": words.who(e.actor, names),
            "what": words.audit_sentence(e.action, e.target, e.detail, names),
            "code": e.action,
            "address": e.address,
        }
        for e in entries[:PAGE_SIZE]
    ]
    return render_template("dashboard/audit.html", entries=shown, page=page, more=more)
