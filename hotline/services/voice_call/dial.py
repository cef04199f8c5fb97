"""Who a call rings when the caller wants to talk to someone now: officers on duty, sergeants, the desk."""

from __future__ import annotations

import logging
import math

from sqlmodel import Session

from hotline.plumbing import staff
from hotline.plumbing.runtime import Runtime
from hotline.services import dispatch
from hotline.services.voice_call.script import DESK, WHISPER_SECONDS, Line, desk_number, say
from models import Officer

log = logging.getLogger(__name__)


def connecting_line(rt: Runtime, chain: list[str], language: str) -> Line:
    """Say how long the caller may wait: every ring of the chain, whispers included."""
    calls = rt.program.calls
    seconds = len(chain) * (calls.dial_timeout_seconds + WHISPER_SECONDS)
    minutes = math.ceil(seconds / 60)
    if minutes <= 1:
        return say(rt, "call.connecting", language)
    return say(rt, "call.connecting.minutes", language, {"minutes": str(minutes)})


def ring_chain(rt: Runtime, session: Session, *, staff_too: bool = True) -> list[str]:
    """Return who to ring, in order: on-duty officers (fairly), sergeants, the desk; each once.

    `staff_too` False: the desk alone.
    """
    calls = rt.program.calls
    people = dispatch.on_duty_officers(session)[: calls.dial_officers] if staff_too else []
    people += staff.sergeants(session)[: calls.dial_sergeants] if staff_too else []
    chain, seen = [], set()
    for person in people:
        if person.phone_hash not in seen:
            seen.add(person.phone_hash)
            chain.append(f"officer:{person.id}")
    desk = desk_number(rt)
    if desk and rt.pseudonyms.of(desk) not in seen:
        chain.append(DESK)
    return chain


def number_to_ring(rt: Runtime, session: Session, target: object) -> str | None:
    """Return the number to ring for a chain entry, or None if they left the roster or duty."""
    if target == DESK:
        return desk_number(rt)
    kind, _, ident = str(target).partition(":")
    officer = session.get(Officer, int(ident)) if kind == "officer" and ident.isdigit() else None
    if officer is None or not officer.active or (not officer.is_sergeant and not officer.on_duty):
        return None
    return rt.vault.open(officer.phone_sealed)
