"""The sergeant's board: open requests updating by themselves, and each request's page and actions."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from sqlmodel import Session, col, select

from hotline.plumbing import staff
from hotline.plumbing.audit import record
from hotline.plumbing.runtime import Runtime, runtime
from hotline.services import callbacks, roster
from hotline.services import dispatch as dispatching
from hotline.services.dispatch import DispatchError
from hotline.web.dashboard import board_view, roster_page, words
from hotline.web.dashboard.blueprint import bp, local_time
from hotline.web.dashboard.guard import actor, requires
from models import Dispatch, DispatchEvent, Officer
from models.clock import utcnow

OUTCOME_LABELS = {"in": "Inpatient", "out": "Outpatient", "refused": "Refused treatment"}
NOTE_LIMIT = 500
#: Timeline steps whose sealed detail the dispatch page shows.
SHOWN_DETAILS = ("note", "offered", "assigned")
#: How the board and the request page show times: with the program's time zone.
WHEN = "%Y-%m-%d %H:%M %Z"


def board_news(session: Session, rt: Runtime) -> dict[str, Any]:
    """Return everything the board shows, as its polling reads it."""
    now = utcnow()
    return {
        "dispatches": board_view.board_rows(session, rt, now),
        "alerts": board_view.recent_alerts(session, rt, now),
        "people": [
            {"id": p.id, "name": p.name, "on_duty": p.on_duty, "status": p.status}
            for p in board_view.people(session)
        ],
        "on_duty": [o.name for o in dispatching.on_duty_officers(session)],
        "updated": local_time(now, "%H:%M:%S %Z"),
    }


@bp.get("/board")
@requires("sergeant")
def board():
    """Show the board of open requests (it refreshes itself from board.json)."""
    rt = runtime()
    with rt.db.reading() as session:
        news = board_news(session, rt)
        people = board_view.people(session)
    return render_template(
        "dashboard/board.html",
        rows=news["dispatches"],
        alerts=news["alerts"],
        on_duty=news["on_duty"],
        people=people,
        updated=news["updated"],
        poll_seconds=rt.config["HOTLINE_BOARD_POLL_SECONDS"],
    )


@bp.get("/board.json")
@requires("sergeant")
def board_json():
    """Return the open requests, the alerts and who is on duty, for the board's polling."""
    rt = runtime()
    with rt.db.reading() as session:
        return jsonify(board_news(session, rt))


@bp.post("/board/duty/<int:officer_id>")
@requires("sergeant")
def board_duty(officer_id: int):
    """Put someone on or off duty from the board (off: their open offers go to the next officer)."""
    on_duty = request.form.get("on_duty") == "1"
    rt = runtime()
    with rt.db.unit_of_work() as session:
        try:
            officer = roster_page.change_duty(session, rt, officer_id, on_duty)
        except roster.RosterError as error:
            flash(f"{error} (on the Roster page)", "error")
            return redirect(url_for("dashboard.board"))
        session.commit()
    flash(f"{officer.name} is now {'on' if on_duty else 'off'} duty.", "info")
    return redirect(url_for("dashboard.board") + "#duty")


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
        names = board_view.officer_names(session)
        offer = board_view.open_offers(session, [item.id]).get(item.id) if item.is_open else None
        # The pickup place only while the request is open, and every look at it is audited.
        place = rt.vault.open(item.place_sealed) if item.is_open and item.meet == "place" else None
        # A call-back's "safe to call" time is sealed like a place, and shown only while open.
        if item.kind == "callback" and item.is_open:
            place = dispatching.when_of(rt, item)
        if place:
            record(session, actor(), "dispatch.view_place", target=f"dispatch:{item.ref}")
            session.commit()
        # A call-back is often the sergeant's to make; a ride goes to an officer.
        candidates = [p for p in board_view.people(session) if not p.sergeant or item.kind == "callback"]
        candidates.sort(key=lambda p: (not p.on_duty, bool(p.busy), p.name))  # free officers first
        told = cancel_text(session, rt, item) if item.is_open else None
        told_in_english = (
            rt.catalog.render("status.cancelled", "en", {"ref": item.ref})
            if told and item.language != "en"
            else None
        )
    timeline = [
        {
            "at": local_time(e.at, WHEN),
            "text": words.timeline_step(
                e.kind,
                e.actor,
                # The officer an offer or assignment went to; notes below; relayed texts stay sealed.
                rt.vault.open(e.detail_sealed)
                if e.detail_sealed and e.kind in ("offered", "assigned")
                else None,
                request_kind=item.kind,
                officers=names,
            ),
            "alert": e.kind.startswith("alert_"),
            "note": rt.vault.open(e.detail_sealed) if e.detail_sealed and e.kind == "note" else None,
        }
        for e in events
    ]
    return render_template(
        "dashboard/dispatch.html",
        item=item,
        status_label=board_view.STATUS_LABELS.get(item.status, item.status),
        officer=names.get(item.officer_id) if item.officer_id else None,
        offered_to=names.get(offer.officer_id) if offer is not None else None,
        offer_deadline=local_time(offer.deadline, WHEN) if offer is not None else None,
        flags=board_view.flags(item),
        language=staff.language(item.language),
        requested_at=local_time(item.created_at, WHEN),
        timezone=rt.program.timezone,
        place=place,
        timeline=timeline,
        candidates=candidates,
        cancel_text=told,
        cancel_text_english=told_in_english,
        outcomes=callbacks.OUTCOME_LABELS if item.kind == "callback" else OUTCOME_LABELS,
        answer=staff.answer,
        note_limit=NOTE_LIMIT,
    )


def cancel_text(session: Session, rt: Runtime, item: Dispatch) -> str | None:
    """Return what the participant is texted if staff cancel the request (None: they are not texted)."""
    if not dispatching.can_text_participant(session, item):
        return None
    return rt.catalog.render("status.cancelled", item.language, {"ref": item.ref})


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
