"""Call-backs: a participant asked someone to call them. Never a ride, never "on the way".

The sergeant (or an officer the sergeant assigns) calls back through the CALL bridge: the
hotline rings the staff phone and, on answer, dials the participant with the hotline number as
caller ID, so neither side sees the other's number. When it is safe to call is kept sealed,
as a ride's place is. A call-back ends with how the call went: reached, no answer, a ride was
requested, or other.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from hotline.plumbing.runtime import Runtime
from hotline.services import dispatch
from models import Dispatch, Officer

log = logging.getLogger(__name__)

#: How a call-back ended (stored as the request's outcome).
OUTCOMES = ("reached", "no_answer", "ride", "other")
OUTCOME_LABELS = {
    "reached": "Reached",
    "no_answer": "No answer",
    "ride": "A ride was requested",
    "other": "Other",
}
_WORDS = {
    "reached": "reached",
    "talked": "reached",
    "noanswer": "no_answer",
    "no_answer": "no_answer",
    "unanswered": "no_answer",
    "voicemail": "no_answer",
    "ride": "ride",
    "other": "other",
}


def read_outcome(words: Sequence[str]) -> tuple[str | None, list[str]]:
    """Return the call outcome in a DONE command's words ("NO ANSWER R7K2") and the words left."""
    lowered = [w.lower() for w in words]
    for i, word in enumerate(lowered):
        if word == "no" and i + 1 < len(lowered) and lowered[i + 1] == "answer":
            return "no_answer", list(words[:i]) + list(words[i + 2 :])
        if word in _WORDS:
            return _WORDS[word], list(words[:i]) + list(words[i + 1 :])
    return None, list(words)


def call_back(session: Session, rt: Runtime, request: Dispatch, caller: Officer, *, now: datetime) -> bool:
    """Ring `caller` from the hotline and bridge them to the participant; False if it cannot be done.

    A call-back nobody holds (or someone else holds) becomes the caller's first, so the bridge
    connects only the person it rang; the one who held it is told.
    """
    if request.kind != "callback" or not request.is_open or not request.contact_sealed:
        return False
    if request.officer_id != caller.id or request.status not in dispatch.ASSIGNED:
        dispatch.assign(session, rt, request, caller, actor=dispatch.actor_of(caller), now=now)
    return dispatch.call_participant(session, rt, request, caller, now=now)
