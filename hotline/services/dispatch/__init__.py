"""Dispatch: requests for an officer, offers with one-time codes, escalation, rides, relays.

One module per concern: requests (references, the timeline, reading a request), offers
(offers and escalation, the timers that drive them), rides (opening, assignment, arrival,
closing), relays (texts between the officer and the participant, the call that connects
them). Callers use this package's names; the modules import one another one way only:
rides imports offers, offers imports relays, and all of them import requests.

Offers go to one officer at a time, in fair order (least recently assigned first). Locks are
always taken in this order, so two transactions never wait on each other in a circle:
conversation row (participant turns), dispatch row, its offers, officer rows. Nothing here
commits: the caller's unit of work does, once.

May import hotline.plumbing, flows and models; never hotline.web or the entry points.
"""

from hotline.services.dispatch.offers import (
    CODE_DIGITS,
    OFFER_DEADLINE,
    REOFFER,
    Answer,
    answer_offer,
    code_hash,
    next_free,
    offer,
    offer_next,
    on_duty_officers,
    withdraw_offers_of,
)
from hotline.services.dispatch.relays import (
    RING_SECONDS,
    call_participant,
    call_twiml,
    can_relay,
    can_text_participant,
    dial_participant,
    path_for,
    relay_to_officer,
    relay_to_participant,
    tell_officer,
    tell_participant,
)
from hotline.services.dispatch.requests import (
    ASSIGNED,
    OPEN_FIRST,
    OUTCOMES,
    TAKEABLE,
    DispatchError,
    actor_of,
    by_ref,
    latest_for,
    lock,
    new_ref,
    place_of,
    record,
    when_of,
)
from hotline.services.dispatch.rides import (
    actor_name,
    add_note,
    assign,
    assigned_to,
    close,
    mark_arrived,
    open_request,
    open_requests,
)

__all__ = [
    "ASSIGNED",
    "CODE_DIGITS",
    "OFFER_DEADLINE",
    "OPEN_FIRST",
    "OUTCOMES",
    "REOFFER",
    "RING_SECONDS",
    "TAKEABLE",
    "Answer",
    "DispatchError",
    "actor_name",
    "actor_of",
    "add_note",
    "answer_offer",
    "assign",
    "assigned_to",
    "by_ref",
    "call_participant",
    "call_twiml",
    "can_relay",
    "can_text_participant",
    "close",
    "code_hash",
    "dial_participant",
    "latest_for",
    "lock",
    "mark_arrived",
    "new_ref",
    "next_free",
    "offer",
    "offer_next",
    "on_duty_officers",
    "open_request",
    "open_requests",
    "path_for",
    "place_of",
    "record",
    "relay_to_officer",
    "relay_to_participant",
    "tell_officer",
    "tell_participant",
    "when_of",
    "withdraw_offers_of",
]
