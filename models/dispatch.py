"""Ride and callback requests (dispatches) and their timelines."""

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from models.clock import utcnow


class Dispatch(SQLModel, table=True):
    """A request for an officer. Screening answers are enums; the place is sealed."""

    __tablename__ = "dispatch"

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=8, unique=True, index=True)
    kind: str = Field(default="ride", max_length=16)  # ride | callback
    status: str = Field(default="waiting", max_length=16, index=True)
    # waiting | offered | accepted | arriving | completed | cancelled | no_officer
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    channel: str = Field(default="sms", max_length=8)
    language: str = Field(default="en", max_length=8)
    handover: str | None = Field(default=None, max_length=12)
    weapons: str | None = Field(default=None, max_length=12)
    warrant: str | None = Field(default=None, max_length=12)
    meet: str | None = Field(default=None, max_length=12)  # place | hq
    place_sealed: str | None = Field(default=None)
    consent: bool = Field(default=False)
    contact_sealed: str | None = Field(default=None)  # only with consent; erased at close
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    outcome: str | None = Field(default=None, max_length=16)  # in | out | refused
    created_at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    updated_at: NaiveDatetime = Field(default_factory=utcnow)
    accepted_at: NaiveDatetime | None = Field(default=None)
    closed_at: NaiveDatetime | None = Field(default=None)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


OPEN_STATUSES = ("waiting", "offered", "accepted", "arriving", "no_officer")


class DispatchEvent(SQLModel, table=True):
    """One step in a dispatch's timeline: what happened, when, and who did it."""

    __tablename__ = "dispatch_event"

    id: int | None = Field(default=None, primary_key=True)
    dispatch_id: int = Field(foreign_key="dispatch.id", index=True)
    kind: str = Field(max_length=32)
    actor: str = Field(max_length=64)  # "participant", "system", "officer:<id>", "user:<name>"
    detail_sealed: str | None = Field(default=None)  # a staff note or relayed text, encrypted
    at: NaiveDatetime = Field(default_factory=utcnow)


class Offer(SQLModel, table=True):
    """A ride offered to one officer, answered with a one-time code bound to both.

    Only a keyed hash of the code is stored. An offer is `open` until it is accepted,
    declined, expired (its deadline passed), undeliverable (the text could not reach the
    officer) or withdrawn (someone else took the ride, or it closed).
    """

    __tablename__ = "offer"

    id: int | None = Field(default=None, primary_key=True)
    dispatch_id: int = Field(foreign_key="dispatch.id", index=True)
    officer_id: int = Field(foreign_key="officer.id", index=True)
    code_hash: str = Field(max_length=64)
    status: str = Field(default="open", max_length=16, index=True)
    # open | accepted | declined | expired | undeliverable | withdrawn
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id", index=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    deadline: NaiveDatetime = Field(default_factory=utcnow)
    answered_at: NaiveDatetime | None = Field(default=None)
