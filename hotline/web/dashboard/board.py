"""The sergeant's board: open requests updating by themselves, and each request's page and actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from sqlmodel import Session, col, select

from hotline.plumbing import staff
from hotline.plumbing.audit import record
from hotline.plumbing.runtime import Runtime, runtime
from hotline.services import callbacks
from hotline.services import dispatch as dispatching
from hotline.services.dispatch import DispatchError
from hotline.web.dashboard.blueprint import bp, local_time, minutes_since
from hotline.web.dashboard.guard import actor, requires
from models import Dispatch, DispatchEvent, Officer, OutboxMessage, Timer
from models.clock import utcnow
from models.dispatch import OPEN_STATUSES

STATUS_LABELS = {
    "waiting": "Waiting for an officer",
    "offered": "Offered",
    "accepted": "Accepted",
    "arriving": "Arriving",
    "no_officer": "Nobody accepted",
    "completed": "Completed",
    "cancelled": "Cancelled",
}
#: Statuses where nobody has taken the request yet: the board flags them.
UNANSWERED = ("waiting", "offered", "no_officer")
OUTCOME_LABELS = {"in": "Inpatient", "out": "Outpatient", "refused": "Refused treatment"}
NOTE_LIMIT = 500
#: Timeline steps whose sealed detail the dispatch page shows.
SHOWN_DETAILS = ("note", "offered", "assigned")


# -- what the board shows --------------------------------------------------------------------


def board_rows(session: Session, rt: Runtime, now: datetime) -> list[dict[str, Any]]:
    """Return the open requests, oldest first, with only what dispatch needs (no number, no place)."""
    requests = session.exec(
        select(Dispatch).where(col(Dispatch.status).in_(OPEN_STATUSES)).order_by(col(Dispatch.created_at))
    ).all()
    ids = [r.id for r in requests]
    names = {o.id: o.name for o in session.exec(select(Officer)).all()}
    offered: dict[int, int] = {}
    deadlines: dict[int, datetime] = {}
    if ids:
        offers = session.exec(
            select(OutboxMessage.dispatch_id, OutboxMessage.officer_id)
            .where(col(OutboxMessage.dispatch_id).in_(ids), OutboxMessage.purpose == "offer")
            .order_by(col(OutboxMessage.id))
        ).all()
        offered = {dispatch_id: officer_id for dispatch_id, officer_id in offers if officer_id}
        timers = session.exec(
            select(Timer.dispatch_id, Timer.due_at).where(
                col(Timer.dispatch_id).in_(ids), Timer.status == "pending"
            )
        ).all()
        for dispatch_id, due_at in timers:
            if dispatch_id not in deadlines or due_at < deadlines[dispatch_id]:
                deadlines[dispatch_id] = due_at
    rows = []
    for r in requests:
        if r.officer_id and r.status in ("accepted", "arriving"):
            officer = names.get(r.officer_id, "?")
        elif r.status == "offered" and r.id in offered:
            officer = f"offered to {names.get(offered[r.id], '?')}"
        else:
            officer = ""
        deadline = deadlines.get(r.id)
        rows.append(
            {
                "ref": r.ref,
                "kind": r.kind,
                "status": r.status,
                "status_label": STATUS_LABELS.get(r.status, r.status),
                "created": local_time(r.created_at),
                "age_minutes": minutes_since(r.created_at, now),
                "officer": officer,
                "deadline": local_time(deadline) if deadline else "",
                "unanswered": r.status in UNANSWERED,
                "urgent": r.status == "no_officer",
                "meet": "HQ" if r.meet == "hq" else ("place given" if r.meet == "place" else ""),
                "url": url_for("dashboard.dispatch_page", ref=r.ref),
            }
        )
    return rows


@bp.get("/board")
@requires("sergeant")
def board():
    """Show the board of open requests (it refreshes itself from board.json)."""
    rt = runtime()
    now = utcnow()
    with rt.db.reading() as session:
        rows = board_rows(session, rt, now)
        on_duty = dispatching.on_duty_officers(session)
    return render_template(
        "dashboard/board.html",
        rows=rows,
        on_duty=on_duty,
        poll_seconds=rt.config["HOTLINE_BOARD_POLL_SECONDS"],
    )


@bp.get("/board.json")
@requires("sergeant")
def board_json():
    """Return the open requests for the board's polling."""
    rt = runtime()
    with rt.db.reading() as session:
        rows = board_rows(session, rt, utcnow())
        on_duty = [o.name for o in dispatching.on_duty_officers(session)]
    return jsonify(dispatches=rows, on_duty=on_duty, updated=local_time(utcnow(), "%H:%M:%S"))


# -- one request -----------------------------------------------------------------------------


@bp.get("/dispatch/<ref>")
@requires("sergeant")
def dispatch_page(ref: str):
    """Show one request: its details, its timeline and, while open, the actions."""
    rt = runtime()
    with rt.db.unit_of_work() as session:
        item = _find(session, ref)
        events = session.exec(
            select(DispatchEvent)
            .where(DispatchEvent.dispatch_id == item.id)
            .order_by(col(DispatchEvent.at), col(DispatchEvent.id))
        ).all()
        people = {o.id: o for o in session.exec(select(Officer)).all()}
        # The pickup place only while the request is open, and every look at it is audited.
        place = rt.vault.open(item.place_sealed) if item.is_open and item.meet == "place" else None
        # A call-back's "safe to call" time is sealed like a place, and shown only while open.
        if item.kind == "callback" and item.is_open:
            place = dispatching.when_of(rt, item)
        if place:
            record(session, actor(), "dispatch.view_place", target=f"dispatch:{item.ref}")
            session.commit()
        callers = [o for o in people.values() if o.active]  # a call-back is often the sergeant's
        candidates = [o for o in callers if not o.is_sergeant or item.kind == "callback"]
    candidates.sort(key=lambda o: (not o.on_duty, o.name))
    timeline = [
        {
            "at": local_time(e.at, "%Y-%m-%d %H:%M"),
            "kind": e.kind,
            "who": _who(e.actor, people),
            # Notes, and the officer an offer or assignment went to; relayed texts stay sealed.
            "note": rt.vault.open(e.detail_sealed) if e.detail_sealed and e.kind in SHOWN_DETAILS else None,
        }
        for e in events
    ]
    return render_template(
        "dashboard/dispatch.html",
        item=item,
        status_label=STATUS_LABELS.get(item.status, item.status),
        officer=people.get(item.officer_id) if item.officer_id else None,
        place=place,
        timeline=timeline,
        candidates=candidates,
        outcomes=callbacks.OUTCOME_LABELS if item.kind == "callback" else OUTCOME_LABELS,
        answer=staff.answer,
        note_limit=NOTE_LIMIT,
    )


@bp.post("/dispatch/<ref>/assign")
@requires("sergeant")
def assign(ref: str):
    """Give an open request to an officer."""
    officer_id = request.form.get("officer_id", type=int)
    with runtime().db.unit_of_work() as session:
        item = _find(session, ref, lock=True)
        officer = session.get(Officer, officer_id) if officer_id else None
        if officer is None or not officer.active:
            flash("Choose an active officer to assign.", "error")
        elif not item.is_open:
            flash(f"{item.ref} is already closed.", "error")
        else:
            try:
                dispatching.assign(session, runtime(), item, officer, actor=actor())
            except DispatchError as error:
                flash(str(error), "error")
            else:
                detail = f"officer:{officer.id}"
                record(session, actor(), "dispatch.assign", target=f"dispatch:{item.ref}", detail=detail)
                session.commit()
                told = "they are told" if item.kind == "callback" else "they and the participant are told"
                flash(f"{item.ref} assigned to {officer.name}; {told}.", "info")
    return redirect(url_for("dashboard.dispatch_page", ref=ref))


@bp.post("/dispatch/<ref>/cancel")
@requires("sergeant")
def cancel(ref: str):
    """Cancel an open request."""
    return _close(ref, status="cancelled", outcome=None)


@bp.post("/dispatch/<ref>/close")
@requires("sergeant")
def close(ref: str):
    """Close a request as completed, with its outcome."""
    outcome = request.form.get("outcome", "")
    if outcome not in OUTCOME_LABELS and outcome not in callbacks.OUTCOME_LABELS:
        flash("Choose an outcome.", "error")
        return redirect(url_for("dashboard.dispatch_page", ref=ref))
    return _close(ref, status="completed", outcome=outcome)


@bp.post("/dispatch/<ref>/call")
@requires("sergeant")
def call_back(ref: str):
    """Call a participant back: the hotline rings the chosen staff phone, then bridges the call."""
    officer_id = request.form.get("officer_id", type=int)
    with runtime().db.unit_of_work() as session:
        item = _find(session, ref, lock=True)
        officer = session.get(Officer, officer_id) if officer_id else None
        if officer is None or not officer.active:
            flash("Choose whose phone to ring.", "error")
        elif not callbacks.call_back(session, runtime(), item, officer, now=utcnow()):
            flash(f"{item.ref} cannot be called back (closed, or no number kept).", "error")
        else:
            detail = f"officer:{officer.id}"
            record(session, actor(), "dispatch.call_back", target=f"dispatch:{item.ref}", detail=detail)
            session.commit()
            flash(f"Ringing {officer.name} now; on answer the hotline connects the participant.", "info")
    return redirect(url_for("dashboard.dispatch_page", ref=ref))


@bp.post("/dispatch/<ref>/note")
@requires("sergeant")
def note(ref: str):
    """Add a note to a request's timeline."""
    text = request.form.get("note", "").strip()
    if not text:
        flash("Write a note first.", "error")
    elif len(text) > NOTE_LIMIT:
        flash(f"A note is at most {NOTE_LIMIT} characters.", "error")
    else:
        with runtime().db.unit_of_work() as session:
            item = _find(session, ref, lock=True)
            dispatching.add_note(session, runtime(), item, text, actor=actor())
            record(session, actor(), "dispatch.note", target=f"dispatch:{item.ref}")
            session.commit()
        flash("Note added.", "info")
    return redirect(url_for("dashboard.dispatch_page", ref=ref))


def _close(ref: str, *, status: str, outcome: str | None):
    with runtime().db.unit_of_work() as session:
        item = _find(session, ref, lock=True)
        if not item.is_open:
            flash(f"{item.ref} is already closed.", "error")
            return redirect(url_for("dashboard.dispatch_page", ref=ref))
        labels = callbacks.OUTCOME_LABELS if item.kind == "callback" else OUTCOME_LABELS
        if outcome is not None and outcome not in labels:
            flash(f"Choose an outcome: {', '.join(labels.values()).lower()}.", "error")
            return redirect(url_for("dashboard.dispatch_page", ref=ref))
        try:
            dispatching.close(session, runtime(), item, status=status, actor=actor(), outcome=outcome)
        except DispatchError as error:
            flash(str(error), "error")
            return redirect(url_for("dashboard.dispatch_page", ref=ref))
        detail = f"outcome:{outcome}" if outcome else None
        record(session, actor(), f"dispatch.{status}", target=f"dispatch:{item.ref}", detail=detail)
        session.commit()
    flash(f"{item.ref} {'completed' if status == 'completed' else 'cancelled'}.", "info")
    return redirect(url_for("dashboard.dispatch_page", ref=ref))


def _find(session: Session, ref: str, *, lock: bool = False) -> Dispatch:
    if not ref.isascii() or not ref.isalnum():
        abort(404)  # a reference is letters and digits; PostgreSQL would refuse a NUL with an error
    query = select(Dispatch).where(Dispatch.ref == ref.upper()[:8])
    item = session.exec(query.with_for_update() if lock else query).first()
    if item is None:
        abort(404)
    return item


def _who(who: str, people: dict[int, Officer]) -> str:
    """Describe a timeline actor in words (an officer by name, a dashboard user by username)."""
    kind, _, ident = who.partition(":")
    if kind == "officer" and ident.isdigit() and int(ident) in people:
        return people[int(ident)].name
    if kind == "user":
        return f"{ident} (dashboard)"
    return who
