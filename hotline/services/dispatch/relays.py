"""Relays and calls: texts between the officer and the participant, and the call that connects them."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session
from twilio.twiml.voice_response import VoiceResponse

from hotline.plumbing import outbox, staff
from hotline.plumbing.runtime import Runtime
from hotline.services.dispatch.requests import ASSIGNED, actor_of, record
from models import Conversation, Dispatch, Officer, OutboxMessage

log = logging.getLogger(__name__)

#: Seconds the participant's phone rings before the officer hears "did not answer".
RING_SECONDS = 30


def path_for(dispatch_id: int) -> str:
    """Return the bridge's path for a request (what the call to the officer fetches on answer)."""
    return f"/twilio/voice/bridge/{dispatch_id}"


def call_twiml(rt: Runtime, ride: Dispatch) -> str:
    """Return the TwiML for the call to the officer: on answer, fetch the bridge (signed)."""
    response = VoiceResponse()
    response.redirect(rt.public_url(path_for(ride.id)), method="POST")
    return str(response)


def dial_participant(
    rt: Runtime, response: VoiceResponse, number: str, *, action: str | None = None
) -> VoiceResponse:
    """Add a <Dial> to the participant that shows the hotline number and records nothing."""
    dial = response.dial(
        caller_id=rt.hotline_number,
        record="do-not-record",
        timeout=RING_SECONDS,
        action=action,
        method="POST" if action else None,
    )
    dial.number(number)
    return response


# -- talking to people -----------------------------------------------------------------------


def can_text_participant(session: Session, dispatch: Dispatch) -> bool:
    """Tell whether the participant agreed to texts, has a number kept and has not opted out."""
    if not (dispatch.consent and dispatch.contact_sealed):
        return False
    conversation = session.get(Conversation, dispatch.conversation_id) if dispatch.conversation_id else None
    return conversation is None or not conversation.opted_out


def can_relay(session: Session, dispatch: Dispatch | None) -> bool:
    """Tell whether texts may pass between the participant and the assigned officer."""
    return (
        dispatch is not None
        and dispatch.status in ASSIGNED
        and dispatch.officer_id is not None
        and can_text_participant(session, dispatch)
    )


def tell_participant(session: Session, rt: Runtime, dispatch: Dispatch, key: str) -> OutboxMessage | None:
    """Queue a status text to the participant, once per key, only with consent and not opted out."""
    if not can_text_participant(session, dispatch):
        return None
    number = rt.vault.open(dispatch.contact_sealed)
    if not number:
        log.error("dispatch %s: contact number unreadable", dispatch.ref)
        return None
    body = rt.catalog.render(key, dispatch.language, {"ref": dispatch.ref})
    return outbox.enqueue(
        session,
        rt,
        to=number,
        body=body,
        audience="participant",
        purpose="update",
        dispatch_id=dispatch.id,
        dedupe_key=f"update:{dispatch.id}:{key}",
    )


def tell_officer(
    session: Session,
    rt: Runtime,
    officer: Officer,
    text: str,
    *,
    dispatch: Dispatch | None,
    purpose: str,
    dedupe: str | None = None,
) -> OutboxMessage | None:
    """Queue a text to one officer."""
    number = rt.vault.open(officer.phone_sealed)
    if not number:
        log.error("officer %s has an unreadable phone number", officer.id)
        return None
    return outbox.enqueue(
        session,
        rt,
        to=number,
        body=text,
        audience="staff",
        purpose=purpose,
        officer_id=officer.id,
        dispatch_id=dispatch.id if dispatch else None,
        dedupe_key=dedupe,
    )


def relay_to_officer(session: Session, rt: Runtime, dispatch: Dispatch, text: str, *, now: datetime) -> bool:
    """Pass a participant's text to their assigned officer; False if relaying is not allowed now."""
    text = text.strip()
    if not text or not can_relay(session, dispatch):
        return False
    officer = session.get(Officer, dispatch.officer_id)
    if officer is None:
        return False
    body = staff.render("participant_says", ref=dispatch.ref, text=text)
    tell_officer(session, rt, officer, body, dispatch=dispatch, purpose="relay")
    record(session, dispatch, "relay_in", "participant", now, sealed=rt.vault.seal(text))
    return True


def relay_to_participant(
    session: Session, rt: Runtime, dispatch: Dispatch, officer: Officer, text: str, *, now: datetime
) -> bool:
    """Pass the assigned officer's text to the participant from the hotline number; False if not allowed.

    The text is the officer's own words under the catalog's label (program name and reference),
    in the participant's language, so they know who writes without either side seeing a number.
    """
    if dispatch.officer_id != officer.id or not can_relay(session, dispatch):
        return False
    number = rt.vault.open(dispatch.contact_sealed)
    if not number:
        return False
    body = rt.catalog.render("relay.from_officer", dispatch.language, {"ref": dispatch.ref, "message": text})
    outbox.enqueue(
        session, rt, to=number, body=body, audience="participant", purpose="relay", dispatch_id=dispatch.id
    )
    record(session, dispatch, "relay_out", actor_of(officer), now, sealed=rt.vault.seal(text))
    return True


def call_participant(
    session: Session, rt: Runtime, dispatch: Dispatch, officer: Officer, *, now: datetime
) -> bool:
    """Call the officer from the hotline; on answer the bridge connects them to the participant."""
    if dispatch.officer_id != officer.id or dispatch.status not in ASSIGNED or not dispatch.contact_sealed:
        return False
    number = rt.vault.open(officer.phone_sealed)
    if not number:
        return False
    outbox.enqueue(
        session,
        rt,
        to=number,
        body=call_twiml(rt, dispatch),
        audience="staff",
        purpose="bridge",
        officer_id=officer.id,
        dispatch_id=dispatch.id,
        kind="call",
    )
    record(session, dispatch, "call", actor_of(officer), now)
    return True
