"""DELETE (BORRAR): what is stored about a number is erased at once; the sergeant is told; one confirmation.

privacy.md P7. The webhook tests hold what the conversation service does on DELETE today; the
service-level test holds `retention.erase_traces`, which conversation.erase_participant calls
first to reach the texts, relays and Twilio's copies as well.
"""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import col, select

from hotline.plumbing import jobs, outbox
from hotline.services import conversation, dispatch, retention, roster
from models import Conversation, Dispatch, DispatchEvent, InboundMessage, Officer, OutboxMessage
from models.clock import utcnow
from models.outbox import ERASED
from tests.privacy_support import redacted_sids, sealed_values
from tests.support import PARTICIPANT

PLACE = "Hy-Vee parking lot on Blue Pkwy"
RIDE = ["hi", "2", "yes", "yes", "yes", "no", "not sure", PLACE, "yes", "yes"]
SERGEANT, OFFICER = "+18165550100", "+18165550101"


@pytest.fixture
def staff_ids(rt) -> dict[str, int]:
    with rt.db.unit_of_work() as session:
        sergeant = roster.add_officer(session, rt, name="Sgt. Rivera", phone=SERGEANT, sergeant=True)
        officer = roster.add_officer(session, rt, name="Ofc. Chen", phone=OFFICER)
        sergeant.on_duty = officer.on_duty = True
        session.commit()
        return {"sergeant": sergeant.id, "officer": officer.id}


def texts_to(rt, officer_id: int) -> list[str]:
    with rt.db.reading() as session:
        rows = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.officer_id == officer_id)
            .order_by(col(OutboxMessage.id))
        ).all()
        return [rt.vault.open(row.body_sealed) or "" for row in rows]


def the_request(rt) -> Dispatch:
    with rt.db.reading() as session:
        return session.exec(select(Dispatch)).one()


def test_delete_cancels_the_open_request_tells_the_sergeant_and_confirms_once(twilio, rt, staff_ids):
    """privacy.md P7, as the participant sees it, even when Twilio delivers DELETE twice."""
    for body in RIDE:
        twilio.text(body)
    jobs.run_once(rt)
    ride = the_request(rt)
    assert ride.is_open and rt.vault.open(ride.place_sealed) == PLACE
    sid = "SM" + uuid.uuid4().hex

    asked = twilio.text("DELETE")
    assert asked == [rt.catalog.render("delete.confirm", "en", {"ref": ride.ref})], "cancelling is said first"
    first = twilio.text("YES", sid=sid)
    again = twilio.text("YES", sid=sid)

    expected = rt.catalog.render("deleted", "en")
    assert first == again == [expected], "one confirmation, the same on Twilio's retry"
    ride = the_request(rt)
    assert (ride.status, ride.place_sealed, ride.contact_sealed, ride.conversation_id) == (
        "cancelled",
        None,
        None,
        None,
    )
    told = [text for text in texts_to(rt, staff_ids["sergeant"]) if ride.ref in text and "delete" in text]
    assert len(told) == 1, told
    with rt.db.reading() as session:
        earlier = session.exec(select(InboundMessage).where(InboundMessage.sid != sid)).all()
        assert len(earlier) == len(RIDE) + 1  # the ride's texts and the DELETE asked first
        assert all(row.reply_sealed is None and row.conversation_id is None for row in earlier), "SIDs only"
    assert not [v for v in sealed_values(rt) if PLACE in (v[2] or "") and v[0] != "outbox"]


def test_borrar_answers_in_spanish(twilio, rt):
    twilio.text("hola")
    (reply,) = twilio.text("BORRAR")
    assert reply == rt.catalog.render("deleted", "es")


def test_delete_with_nothing_stored_still_confirms(twilio, rt):
    assert twilio.text("delete") == [rt.catalog.render("deleted", "en")]


def test_erase_traces_reaches_texts_relays_notes_and_twilio_copies(twilio, rt, staff_ids):
    """privacy.md P7: the texts to and about them, the relayed texts, and Twilio's copies too."""
    for body in RIDE:
        twilio.text(body)
    with rt.db.unit_of_work() as session:
        ride = session.exec(select(Dispatch)).one()
        officer = session.get(Officer, staff_ids["officer"])
        dispatch.assign(session, rt, ride, officer, actor="user:sergeant")
        dispatch.add_note(session, rt, ride, f"meets at {PLACE}", actor="user:sergeant")
        outbox.enqueue(
            session,
            rt,
            to=PARTICIPANT,
            body="Grey cruiser, 5 min",
            audience="participant",
            purpose="relay",
            dispatch_id=ride.id,
        )
        session.commit()
    jobs.run_once(rt)
    with rt.db.unit_of_work() as session:
        outbox.enqueue(
            session,
            rt,
            to=PARTICIPANT,
            body="Still on the way",
            audience="participant",
            purpose="relay",
            dispatch_id=ride.id,
        )
        session.commit()
    with rt.db.reading() as session:
        sent_sids = [
            row.twilio_sid
            for row in session.exec(select(OutboxMessage).where(OutboxMessage.kind == "sms")).all()
            if row.twilio_sid
        ]
        inbound_sids = list(session.exec(select(InboundMessage.sid)).all())
    assert sent_sids, "the alerts and the relay went out"

    now = utcnow()
    with rt.db.unit_of_work() as session:
        person = session.exec(select(Conversation)).one()
        counts = retention.erase_traces(session, rt, person, now=now)
        conversation.erase_participant(session, rt, person, now=now)
        session.commit()

    assert counts["cancelled"] == 1, "the relay not yet sent is not sent"
    assert sorted(redacted_sids(rt)) == sorted(sent_sids + inbound_sids)
    with rt.db.reading() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "sms")).all()
        to_them = [row for row in rows if row.audience == "participant"]
        assert to_them and all(row.to_sealed == ERASED and row.body_sealed is None for row in to_them)
        settled = [row for row in rows if row.status not in ("pending", "sending")]
        assert all(row.body_sealed is None for row in settled if row.dispatch_id == ride.id)
        events = session.exec(select(DispatchEvent).where(DispatchEvent.dispatch_id == ride.id)).all()
        assert all(event.detail_sealed is None for event in events)
    assert not [v for v in sealed_values(rt) if PLACE in (v[2] or "") or "cruiser" in (v[2] or "")]
    assert any(ride.ref in text for text in texts_to(rt, staff_ids["officer"])[-1:]), "the officer is told"

    with rt.db.unit_of_work() as session:
        again = retention.erase_traces(session, rt, session.exec(select(Conversation)).one(), now=now)
        session.commit()
    assert again["redactions"] == 0, "each Twilio copy is redacted once"
