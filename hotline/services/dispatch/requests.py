"""Requests for an officer: references, the timeline of events, opening one, reading one.

Lifecycle: waiting -> offered -> accepted -> arriving -> completed (outcome in, out, refused),
or cancelled, or no_officer (nobody accepted; it stays open so a sergeant can ASSIGN it).
Every change is a DispatchEvent with its time and actor ("participant", "system",
"officer:<id>", "user:<name>").
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from sqlalchemy import bindparam, case
from sqlmodel import Session, col, select

from hotline.plumbing import staff
from hotline.plumbing.runtime import Runtime
from models import Dispatch, DispatchEvent, Officer
from models.dispatch import OPEN_STATUSES

log = logging.getLogger(__name__)

# Short references read over a radio: no 0/O, 1/I/L, 2/Z, 5/S, 8/B look-alikes.
REF_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
REF_LENGTH = 4
#: Statuses in which a ride can still be taken by an ACCEPT.
TAKEABLE = ("waiting", "offered", "no_officer")
#: Statuses in which an officer is on the case (MSG, CALL, ARRIVED, DONE).
ASSIGNED = ("accepted", "arriving")
OUTCOMES = ("in", "out", "refused")


class DispatchError(ValueError):
    """A change the request's state does not allow; the message says why."""


def new_ref(session: Session) -> str:
    """Return an unused short reference such as R7K2."""
    while True:
        ref = "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))
        if session.exec(select(Dispatch.id).where(Dispatch.ref == ref)).first() is None:
            return ref


# A conversation's request: open ones sort first, then the newest.
OPEN_FIRST = case((col(Dispatch.status).in_(OPEN_STATUSES), 0), else_=1)
_LATEST = (
    select(Dispatch)
    .where(Dispatch.conversation_id == bindparam("conversation_id"))
    .order_by(OPEN_FIRST, col(Dispatch.id).desc())
    .limit(1)
)


_LATEST_SHARED = _LATEST.with_for_update(read=True)


def latest_for(session: Session, conversation_id: int, *, lock: bool = False) -> Dispatch | None:
    """Return the conversation's open request, or else its most recent one (`lock`: FOR SHARE)."""
    query = _LATEST_SHARED if lock else _LATEST
    return session.exec(
        query, params={"conversation_id": conversation_id}, execution_options={"populate_existing": lock}
    ).first()


def by_ref(session: Session, ref: str) -> Dispatch | None:
    """Return the request with this reference (any case), if any."""
    return session.exec(select(Dispatch).where(Dispatch.ref == ref.strip().upper()[:8])).first()


def lock(session: Session, dispatch: Dispatch) -> Dispatch:
    """Lock a request's row for this transaction and return it as now stored."""
    query = select(Dispatch).where(Dispatch.id == dispatch.id).with_for_update()
    return session.exec(query.execution_options(populate_existing=True)).one()


def record(
    session: Session,
    dispatch: Dispatch,
    kind: str,
    actor: str,
    now: datetime,
    *,
    sealed: str | None = None,
) -> None:
    """Add a step to the dispatch's timeline (`sealed`: an encrypted detail, e.g. a relayed text)."""
    session.add(DispatchEvent(dispatch_id=dispatch.id, kind=kind, actor=actor, at=now, detail_sealed=sealed))


def actor_of(officer: Officer) -> str:
    """Return the timeline actor for a roster entry."""
    return f"officer:{officer.id}"


def when_of(rt: Runtime, dispatch: Dispatch) -> str:
    """Return when a call-back is safe, in the participant's words (sealed like a place)."""
    return rt.vault.open(dispatch.place_sealed) or staff.render("callback_when_any")


def place_of(rt: Runtime, dispatch: Dispatch) -> str:
    """Return where to meet, for staff texts: the participant's words, or HQ."""
    if dispatch.kind == "callback":
        return staff.render("callback_place")
    place = rt.vault.open(dispatch.place_sealed) if dispatch.meet == "place" else None
    return place or f"HQ, {rt.program.hq_address}"
