"""The roster page: officers and sergeants, on and off duty; add, edit, deactivate."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlmodel import select

from hotline.plumbing.audit import record
from hotline.plumbing.runtime import runtime
from hotline.services import roster
from hotline.web.dashboard.blueprint import bp
from hotline.web.dashboard.guard import actor, requires
from hotline.web.dashboard.words import UNREADABLE_NUMBER
from models import Officer


@bp.get("/roster")
@requires("admin")
def roster_list():
    """Show everyone on the roster (numbers only as their last digits)."""
    rt = runtime()
    with rt.db.reading() as session:
        people = roster.everyone(session)
        shifts = {p.id: roster.shift_of(session, p) for p in people}
    tails = {p.id: _tail(rt.vault.open(p.phone_sealed)) for p in people}
    return render_template("dashboard/roster.html", people=people, tails=tails, shifts=shifts)


@bp.post("/roster/add")
@requires("admin")
def roster_add():
    """Add an officer or a sergeant."""
    rt = runtime()
    try:
        with rt.db.unit_of_work() as session:
            officer = roster.add_officer(
                session,
                rt,
                name=request.form.get("name", ""),
                phone=request.form.get("phone", ""),
                sergeant=request.form.get("role") == "sergeant",
                shift=request.form.get("shift", "").strip() or None,
            )
            record(session, actor(), "roster.add", target=f"officer:{officer.id}")
            session.commit()
    except roster.RosterError as error:
        flash(str(error), "error")
    else:
        flash(f"Added {officer.name}, off duty until they text ON or you put them on duty.", "info")
    return redirect(url_for("dashboard.roster_list"))


@bp.post("/roster/<int:officer_id>/edit")
@requires("admin")
def roster_edit(officer_id: int):
    """Rename someone, change their role, or give them a new phone number."""
    rt = runtime()
    name = request.form.get("name", "").strip()
    phone = request.form.get("phone", "").strip()
    try:
        with rt.db.unit_of_work() as session:
            officer = _officer(session, officer_id)
            if not name:
                raise roster.RosterError("A name is needed.")
            officer.name = name[:80]
            officer.is_sergeant = request.form.get("role") == "sergeant"
            changed = ["name", "role"]
            if "shift" in request.form:
                shift = request.form["shift"].strip() or None
                roster.set_shift(session, rt, _phone(rt, officer), shift)
                changed.append("shift")
            if phone:
                number = roster.staff_number(phone)
                phone_hash = rt.pseudonyms.of(number)
                taken = session.exec(select(Officer).where(Officer.phone_hash == phone_hash)).first()
                if taken is not None and taken.id != officer.id:
                    raise roster.RosterError("That number is already on the roster.")
                officer.phone_hash, officer.phone_sealed = phone_hash, rt.vault.seal(number)
                changed.append("phone")
            session.add(officer)
            record(session, actor(), "roster.edit", target=f"officer:{officer.id}", detail=",".join(changed))
            session.commit()
    except roster.RosterError as error:
        flash(str(error), "error")
    else:
        flash(f"Saved {officer.name}.", "info")
    return redirect(url_for("dashboard.roster_list"))


@bp.post("/roster/<int:officer_id>/duty")
@requires("admin")
def roster_duty(officer_id: int):
    """Put someone on or off duty (off: their open offers go to the next officer)."""
    on_duty = request.form.get("on_duty") == "1"
    rt = runtime()
    try:
        with rt.db.unit_of_work() as session:
            officer = change_duty(session, rt, officer_id, on_duty)
            session.commit()
    except roster.RosterError:
        flash("Only an active roster entry can go on duty: reactivate them first.", "error")
    else:
        flash(f"{officer.name} is now {'on' if on_duty else 'off'} duty.", "info")
    return redirect(url_for("dashboard.roster_list"))


@bp.post("/roster/<int:officer_id>/active")
@requires("admin")
def roster_active(officer_id: int):
    """Deactivate someone (off duty, offers withdrawn, commands ignored) or bring them back."""
    active = request.form.get("active") == "1"
    rt = runtime()
    with rt.db.unit_of_work() as session:
        officer = roster.set_active(session, rt, _phone(rt, _officer(session, officer_id)), active)
        action = "roster.activate" if active else "roster.deactivate"
        record(session, actor(), action, target=f"officer:{officer.id}")
        session.commit()
    flash(f"{officer.name} is {'active again' if active else 'deactivated'}.", "info")
    return redirect(url_for("dashboard.roster_list"))


def change_duty(session, rt, officer_id: int, on_duty: bool) -> Officer:
    """Put a roster entry on or off duty from the dashboard, audited (the board and the roster page)."""
    officer = roster.set_duty(session, rt, _phone(rt, _officer(session, officer_id)), on_duty)
    detail = "on" if on_duty else "off"
    record(session, actor(), "roster.duty", target=f"officer:{officer.id}", detail=detail)
    return officer


def _officer(session, officer_id: int) -> Officer:
    officer = session.get(Officer, officer_id, with_for_update=True)
    if officer is None:
        abort(404)
    return officer


def _phone(rt, officer: Officer) -> str:
    """Return a roster entry's number, which the roster service finds people by."""
    number = rt.vault.open(officer.phone_sealed)
    if not number:
        abort(409, description=UNREADABLE_NUMBER)
    return number


def _tail(number: str | None) -> str:
    """Show the last four digits of a staff number, enough to tell two phones apart."""
    return f"...{number[-4:]}" if number else "unreadable"
