"""Helpers for the dispatch tests: a roster, a ride request, reading the outbox, the clock."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from hotline.plumbing import jobs
from hotline.plumbing.transport import Sent, TransportError
from hotline.services import conversation, roster
from models import Dispatch, DispatchEvent, Offer, Officer, OutboxMessage
from models.clock import utcnow
from tests.support import PARTICIPANT

SERGEANT = "+18165550100"
CHEN = "+18165550101"
OKAFOR = "+18165550102"
SMITH = "+18165550103"
OFFICERS = {"Ofc. Chen": CHEN, "Ofc. Okafor": OKAFOR, "Ofc. Smith": SMITH}
PLACE = "QuikTrip, 291 & 3rd St"
RIDE = ["hi", "2", "yes", "yes", "yes", "no", "not sure", PLACE]  # then consent, then YES
CODE = re.compile(r"ACCEPT (\d{4})")


def add_roster(rt, officers=("Ofc. Chen", "Ofc. Okafor", "Ofc. Smith"), sergeant=True) -> dict[str, int]:
    """Register the sergeant and officers, all on duty; return their ids by name."""
    ids = {}
    with rt.db.unit_of_work() as session:
        if sergeant:
            ids["Sgt. Rivera"] = roster.add_officer(
                session, rt, name="Sgt. Rivera", phone=SERGEANT, sergeant=True
            ).id
        for name in officers:
            officer = roster.add_officer(session, rt, name=name, phone=OFFICERS[name])
            officer.on_duty = True
            ids[name] = officer.id
        for officer in session.exec(select(Officer)).all():
            officer.on_duty = True
        session.commit()
    return ids


def text(rt, body: str, sender: str = PARTICIPANT, *, now: datetime | None = None, sid: str | None = None):
    """Text the hotline through the service (a chosen clock); return its answer."""
    inbound = conversation.Inbound(sid=sid or "SM" + uuid.uuid4().hex, sender=sender, body=body)
    return conversation.handle_sms(rt, inbound, now=now)


def request_ride(rt, *, consent: str = "yes", sender: str = PARTICIPANT, now: datetime | None = None):
    """Ask for a ride as a participant, answering every screening question; return the last answer."""
    for body in [*RIDE, consent]:
        text(rt, body, sender, now=now)
    return text(rt, "yes", sender, now=now)


def the_dispatch(rt) -> Dispatch:
    with rt.db.reading() as session:
        return session.exec(select(Dispatch).order_by(col(Dispatch.id).desc())).first()


def offers(rt) -> list[Offer]:
    with rt.db.reading() as session:
        return list(session.exec(select(Offer).order_by(col(Offer.id))).all())


def events(rt) -> list[tuple[str, str]]:
    with rt.db.reading() as session:
        rows = session.exec(select(DispatchEvent).order_by(col(DispatchEvent.id))).all()
        return [(e.kind, e.actor) for e in rows]


@dataclass
class Row:
    """An outbox row with its recipient and body opened."""

    id: int
    to: str
    body: str
    kind: str
    audience: str
    purpose: str
    status: str
    officer_id: int | None


def rows(rt, **where) -> list[Row]:
    """Return outbox rows (oldest first), opened, filtered by column values."""
    with rt.db.reading() as session:
        query = select(OutboxMessage).order_by(col(OutboxMessage.id))
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        found = session.exec(query).all()
    return [
        Row(
            r.id,
            rt.vault.open(r.to_sealed) or "",
            rt.vault.open(r.body_sealed) or "",
            r.kind,
            r.audience,
            r.purpose,
            r.status,
            r.officer_id,
        )
        for r in found
    ]


def texts_to(rt, number: str, **where) -> list[str]:
    """Return the bodies of texts queued (or sent) to a number, oldest first."""
    return [
        r.body for r in rows(rt, **where) if r.to == number and r.kind == "sms" and r.status != "cancelled"
    ]


def code_for(rt, number: str) -> str:
    """Return the code of the newest offer texted to an officer."""
    offered = texts_to(rt, number, purpose="offer")
    assert offered, f"no offer to {number[-4:]}"
    return CODE.search(offered[-1])[1]


def later(minutes: float, start: datetime | None = None) -> datetime:
    return (start or utcnow()) + timedelta(minutes=minutes)


def run_worker(rt, now: datetime | None = None, rounds: int = 3) -> None:
    """Run a few worker passes (fire timers, then send what they queued)."""
    for _ in range(rounds):
        jobs.run_once(rt, now=now)


def placed_call(rt, dispatch_id: int) -> str:
    """Send what is due; return the SID of the hotline's latest call to connect this request."""
    run_worker(rt)
    with rt.db.reading() as session:
        sid = session.exec(
            select(OutboxMessage.twilio_sid)
            .where(OutboxMessage.dispatch_id == dispatch_id, OutboxMessage.purpose == "bridge")
            .order_by(col(OutboxMessage.id).desc())
        ).first()
    assert sid, "the call to the officer went out"
    return sid


class ScriptedTransport:
    """Twilio stand-in that fails sends to chosen numbers with chosen errors, in order."""

    def __init__(self, failures: dict[str, list[TransportError]] | None = None):
        self.failures = {number: list(errors) for number, errors in (failures or {}).items()}
        self.sent: list[dict] = []
        self.attempts: list[dict] = []

    def _go(self, request: dict, prefix: str) -> Sent:
        self.attempts.append(request)
        queued = self.failures.get(request["to"])
        if queued:
            raise queued.pop(0)
        self.sent.append(request)
        return Sent(sid=prefix + uuid.uuid4().hex, status="queued")

    def send_sms(self, *, to, body, status_callback=None, sender="main"):
        return self._go({"kind": "sms", "to": to, "body": body}, "SM")

    def place_call(self, *, to, twiml, status_callback=None, sender="main"):
        return self._go({"kind": "call", "to": to, "twiml": twiml}, "CA")

    def redact_message(self, sid):
        pass
