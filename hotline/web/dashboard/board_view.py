"""What the board and a request's page show: rows with their flags, alerts, and who is free.

Only what dispatch needs: never a participant's number, message or place. Danger alerts are read
back from the sergeants' own alert texts (sealed in the outbox, like every text); only the kinds
that name a conversation or a request and never a place or what the participant wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import url_for
from sqlmodel import Session, col, select

from hotline.plumbing import staff
from hotline.plumbing.runtime import Runtime
from hotline.services.dispatch import ASSIGNED
from hotline.web.dashboard.blueprint import local_time, minutes_since
from models import Dispatch, DispatchEvent, Offer, Officer, OutboxMessage
from models.dispatch import OPEN_STATUSES

STATUS_LABELS = {
    "waiting": "Waiting for an officer",
    "offered": "Offered",
    "accepted": "Accepted",
    "arriving": "Officer there",
    "no_officer": "Nobody accepted",
    "completed": "Completed",
    "cancelled": "Cancelled",
}
#: Statuses where nobody has taken the request yet: the board flags them.
UNANSWERED = ("waiting", "offered", "no_officer")
#: The danger alerts a participant's words raise, as the board names them.
DANGER = {"emergency": "Emergency", "suicide": "Suicidal words", "unsafe": "Not safe"}
#: Staff alert texts that report danger, and which kind (hotline/staff.toml).
DANGER_TEXTS = {
    "alert_emergency": "emergency",
    "alert_suicide": "suicide",
    "alert_unsafe": "unsafe",
    "alert_emergency_request": "emergency",
    "alert_suicide_request": "suicide",
    "alert_unsafe_request": "unsafe",
    "call_unanswered_emergency": "emergency",
    "call_unanswered_crisis": "suicide",
}
#: How far back the board lists the sergeants' alerts.
ALERT_HOURS = 12


def board_rows(session: Session, rt: Runtime, now: datetime) -> list[dict[str, Any]]:
    """Return the open requests, oldest first, with their answers and alerts (no number, no place)."""
    requests = session.exec(
        select(Dispatch).where(col(Dispatch.status).in_(OPEN_STATUSES)).order_by(col(Dispatch.created_at))
    ).all()
    ids = [r.id for r in requests]
    names = officer_names(session)
    offers = open_offers(session, ids)
    alerts: dict[int, list[str]] = {}
    if ids:
        events = session.exec(
            select(DispatchEvent.dispatch_id, DispatchEvent.kind)
            .where(col(DispatchEvent.dispatch_id).in_(ids), col(DispatchEvent.kind).startswith("alert_"))
            .order_by(col(DispatchEvent.id))
        ).all()
        for dispatch_id, kind in events:
            label = DANGER.get(kind.removeprefix("alert_"))
            if label and label not in alerts.setdefault(dispatch_id, []):
                alerts[dispatch_id].append(label)
    rows = []
    for r in requests:
        offer = offers.get(r.id)
        if r.officer_id and r.status in ASSIGNED:
            officer = names.get(r.officer_id, "?")
        elif offer is not None:
            officer = f"offered to {names.get(offer.officer_id, '?')}"
        else:
            officer = ""
        rows.append(
            {
                "ref": r.ref,
                "kind": staff.kind(r.kind),
                "status": r.status,
                "status_label": STATUS_LABELS.get(r.status, r.status),
                "created": local_time(r.created_at),
                "age_minutes": minutes_since(r.created_at, now),
                "officer": officer,
                "deadline": local_time(offer.deadline) if offer is not None else "",
                "unanswered": r.status in UNANSWERED,
                "urgent": r.status == "no_officer",
                "meet": "HQ" if r.meet == "hq" else ("place given" if r.meet == "place" else ""),
                "language": staff.language(r.language),
                "flags": flags(r) + [{"name": "alert", "label": label} for label in alerts.get(r.id, [])],
                "url": url_for("dashboard.dispatch_page", ref=r.ref),
            }
        )
    return rows


def flags(item: Dispatch) -> list[dict[str, str]]:
    """Return the screening answers a driver must know before going: weapons, warrant, language."""
    found = []
    if item.weapons in ("yes", "not_sure"):
        found.append({"name": "weapons", "label": f"Weapons: {staff.answer(item.weapons)}"})
    if item.warrant in ("yes", "not_sure"):
        found.append({"name": "warrant", "label": f"Warrant: {staff.answer(item.warrant)}"})
    if item.language and item.language != "en":
        found.append({"name": "language", "label": staff.language(item.language)})
    return found


def officer_names(session: Session) -> dict[int, str]:
    """Return every roster entry's name by id."""
    return {o.id: o.name for o in session.exec(select(Officer)).all() if o.id is not None}


def open_offers(session: Session, ids: list[int | None]) -> dict[int, Offer]:
    """Return each request's latest open offer (who holds it and until when)."""
    if not ids:
        return {}
    rows = session.exec(
        select(Offer).where(col(Offer.dispatch_id).in_(ids), Offer.status == "open").order_by(col(Offer.id))
    ).all()
    return {row.dispatch_id: row for row in rows}


@dataclass
class Person:
    """A roster entry as the board's duty panel and the Assign list show it."""

    id: int
    name: str
    sergeant: bool
    on_duty: bool
    busy: str  # "" when free, else what they are doing, e.g. "on ride R7K2"

    @property
    def status(self) -> str:
        duty = "on duty" if self.on_duty else "off duty"
        return f"{duty}, {self.busy}" if self.busy else (f"{duty}, free" if self.on_duty else duty)


def people(session: Session) -> list[Person]:
    """Return the active roster, on duty first, each with what they are busy with."""
    busy: dict[int, list[str]] = {}
    for ref, officer_id in session.exec(
        select(Dispatch.ref, Dispatch.officer_id).where(col(Dispatch.status).in_(ASSIGNED))
    ).all():
        if officer_id is not None:
            busy.setdefault(officer_id, []).append(f"on {ref}")
    for ref, officer_id in session.exec(
        select(Dispatch.ref, Offer.officer_id)
        .join(Offer, col(Offer.dispatch_id) == col(Dispatch.id))
        .where(Offer.status == "open")
    ).all():
        busy.setdefault(officer_id, []).append(f"offered {ref}")
    found = [
        Person(o.id, o.name, o.is_sergeant, o.on_duty, ", ".join(busy.get(o.id, [])))
        for o in session.exec(select(Officer).where(Officer.active)).all()
        if o.id is not None
    ]
    found.sort(key=lambda p: (not p.on_duty, p.sergeant, p.name))
    return found


def recent_alerts(session: Session, rt: Runtime, now: datetime) -> list[dict[str, Any]]:
    """Return the danger alerts texted to sergeants in the last hours, newest first, once each."""
    rows = session.exec(
        select(OutboxMessage.id, OutboxMessage.body_sealed, OutboxMessage.created_at)
        .where(
            OutboxMessage.purpose == "alert",
            OutboxMessage.audience == "staff",
            OutboxMessage.created_at >= now - timedelta(hours=ALERT_HOURS),
        )
        .order_by(col(OutboxMessage.id).desc())
        .limit(200)
    ).all()
    seen: dict[str, dict[str, Any]] = {}
    for row_id, sealed, created_at in rows:
        text = rt.vault.open(sealed) if sealed else None
        if not text:
            continue
        if text in seen:  # one alert goes to every sergeant: show it once, under its first id
            seen[text]["id"] = row_id
            continue
        reason = danger_of(text)
        if reason is None:  # other alerts can carry a place: the board shows only danger alerts
            continue
        seen[text] = {
            "id": row_id,
            "text": _OPENING.sub("", text, count=1),
            "danger": DANGER[reason],
            "at": local_time(created_at, "%H:%M"),
        }
    return list(seen.values())


def danger_of(text: str) -> str | None:
    """Return which danger a staff alert text reports ("emergency", "suicide", "unsafe"), if any."""
    for key, reason in DANGER_TEXTS.items():
        if _pattern(key).fullmatch(text):
            return reason
    return None


_PATTERNS: dict[str, re.Pattern[str]] = {}
#: The lock-screen opening of an alert text, which the board shows in its own way.
_OPENING = re.compile(r"^SAFE PASSAGE alert at \d\d:\d\d[:,] ")


def _pattern(key: str) -> re.Pattern[str]:
    """Return a staff text as a pattern: its words fixed, its placeholders anything."""
    if key not in _PATTERNS:
        parts = re.split(r"\{[a-z_]+\}", staff.texts()[key])
        _PATTERNS[key] = re.compile(".*?".join(re.escape(part) for part in parts), re.DOTALL)
    return _PATTERNS[key]
