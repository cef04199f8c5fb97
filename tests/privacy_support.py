"""Helpers for the privacy, retention and canary tests: a stored world of one request, read back."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select

from models import Conversation, Dispatch, DispatchEvent, InboundMessage, OutboxMessage
from models.outbox import ERASED

PLACE = "QuikTrip, 291 & 3rd St"
RELAY = "Look for the grey cruiser by pump 4"
UPDATE = "An officer accepted your request and is on the way."
OFFICER = "+18165550123"


def message_sid() -> str:
    return "SM" + uuid.uuid4().hex


@dataclass
class World:
    """The ids and SIDs of one participant's stored request (see `seed`)."""

    conversation_id: int
    dispatch_id: int
    event_id: int
    inbound_sid: str
    voice_sid: str
    to_participant: int
    to_staff: int
    call: int
    participant_sid: str
    staff_sid: str
    call_sid: str


def seed(rt, at: datetime, *, sender: str, status: str = "completed", outbox_status: str = "sent") -> World:
    """Store, as of `at`, a conversation, a request with its place and contact, a relayed text,
    texts both ways (with Twilio SIDs), a call to an officer and a voice step."""
    inbound_sid, voice_sid = message_sid(), "CA" + uuid.uuid4().hex + ":welcome"
    participant_sid, staff_sid, call_sid = message_sid(), message_sid(), "CA" + uuid.uuid4().hex
    closed = status in ("completed", "cancelled")
    with rt.db.unit_of_work() as session:
        conversation = Conversation(
            sender_hash=rt.pseudonyms.of(sender),
            state="request_open",
            data_sealed=rt.vault.seal(json.dumps({"answers": {"place": PLACE}})),
            created_at=at,
            updated_at=at,
        )
        session.add(conversation)
        session.flush()
        ride = Dispatch(
            ref=uuid.uuid4().hex[:8].upper(),
            status=status,
            conversation_id=conversation.id,
            handover="yes",
            weapons="no",
            warrant="not_sure",
            meet="place",
            place_sealed=rt.vault.seal(PLACE),
            consent=True,
            contact_sealed=rt.vault.seal(sender),
            outcome="in" if status == "completed" else None,
            created_at=at,
            updated_at=at,
            closed_at=at if closed else None,
        )
        session.add(ride)
        session.flush()
        event = DispatchEvent(
            dispatch_id=ride.id, kind="relay", actor="officer:1", detail_sealed=rt.vault.seal(RELAY), at=at
        )
        session.add(event)
        for sid in (inbound_sid, voice_sid):
            session.add(
                InboundMessage(
                    sid=sid,
                    conversation_id=conversation.id,
                    reply_sealed=rt.vault.seal(json.dumps([f"Meet at {PLACE}?"])),
                    received_at=at,
                )
            )
        rows = [
            _row(rt, "participant", "sms", sender, UPDATE, participant_sid, ride.id, at, outbox_status),
            _row(
                rt, "staff", "sms", OFFICER, f"ride {ride.ref} near {PLACE}", staff_sid, ride.id, at, "sent"
            ),
            _row(rt, "staff", "call", OFFICER, '{"purpose": "offer"}', call_sid, ride.id, at, "sent"),
        ]
        session.add_all([event, *rows])
        session.flush()
        world = World(
            conversation_id=conversation.id,
            dispatch_id=ride.id,
            event_id=event.id,
            inbound_sid=inbound_sid,
            voice_sid=voice_sid,
            to_participant=rows[0].id,
            to_staff=rows[1].id,
            call=rows[2].id,
            participant_sid=participant_sid,
            staff_sid=staff_sid,
            call_sid=call_sid,
        )
        session.commit()
    return world


def _row(rt, audience, kind, to, body, sid, dispatch_id, at, status) -> OutboxMessage:
    return OutboxMessage(
        kind=kind,
        audience=audience,
        to_hash=rt.pseudonyms.of(to),
        to_sealed=rt.vault.seal(to),
        body_sealed=rt.vault.seal(body),
        dispatch_id=dispatch_id,
        purpose="update" if audience == "participant" else "offer",
        status=status,
        twilio_sid=sid if status == "sent" else None,
        delivery_status="delivered" if status == "sent" else None,
        created_at=at,
        due_at=at,
        sent_at=at if status == "sent" else None,
    )


def get(rt, model, row_id):
    with rt.db.reading() as session:
        return session.get(model, row_id)


def redacted_sids(rt) -> list[str]:
    """Return the SIDs queued for redaction at Twilio, in queue order."""
    from hotline.plumbing import outbox

    with rt.db.reading() as session:
        rows = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == outbox.REDACT).order_by(OutboxMessage.id)
        ).all()
        return [outbox.redaction_sid(row) for row in rows]


def sealed_values(rt) -> list[tuple[str, str, str | None]]:
    """Return every sealed value in the database as (table, column, opened text)."""
    from sqlalchemy import select as core_select

    import models
    from hotline.services.retention import sealed_columns

    found = []
    with rt.db.reading() as session:
        for table_name, columns in sealed_columns().items():
            table = models.metadata.tables[table_name]
            for row in session.execute(core_select(*(table.c[c] for c in columns))).all():
                for column, token in zip(columns, row, strict=True):
                    if token and token != ERASED:
                        found.append((table_name, column, rt.vault.open(token)))
    return found
