"""The durable outbox: every text or call the hotline sends later is a row first."""

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from models.clock import utcnow

#: What an erased `to_sealed` holds: an empty token, which no key opens (the column is NOT NULL).
ERASED = ""


class OutboxMessage(SQLModel, table=True):
    """One outbound SMS or call, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default="sms", max_length=8)  # sms | call | redact (Twilio empties a body)
    audience: str = Field(max_length=12)  # participant | staff | twilio (a redaction)
    to_hash: str = Field(max_length=64, index=True)  # pseudonym, to cancel on STOP ("" for twilio)
    # The number, sealed; ERASED once no longer needed (hotline.services.retention) and on redactions.
    to_sealed: str
    body_sealed: str | None = Field(default=None)  # SMS text, or the call's purpose as JSON
    officer_id: int | None = Field(default=None, foreign_key="officer.id")
    dispatch_id: int | None = Field(default=None, foreign_key="dispatch.id", index=True)
    purpose: str = Field(default="", max_length=32)  # alert, offer, update, relay, reply ...
    # Which of our numbers sends it: "main" (the hotline number) or "staff" (TWILIO_STAFF_NUMBER).
    sender: str = Field(default="main", max_length=8)
    # Lower goes first among due rows: 0 offers and alerts, 1 other staff texts, 2 participants,
    # 3 redactions (hotline.plumbing.outbox.PRIORITY).
    priority: int = Field(default=3, index=True)
    # Also what a redaction acts on: "redact:<message SID>" (see hotline.plumbing.outbox.enqueue_redaction).
    dedupe_key: str | None = Field(default=None, max_length=120, unique=True)
    status: str = Field(default="pending", max_length=12, index=True)
    # pending | sending | sent | failed | cancelled
    due_at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    attempts: int = Field(default=0)
    locked_until: NaiveDatetime | None = Field(default=None)
    twilio_sid: str | None = Field(default=None, max_length=40, unique=True)
    delivery_status: str | None = Field(default=None, max_length=24)
    error_code: str | None = Field(default=None, max_length=12)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    sent_at: NaiveDatetime | None = Field(default=None, index=True)  # the hourly cap counts by it


class SenderPace(SQLModel, table=True):
    """When one of our numbers may next hand Twilio a message without going over its rate.

    One row per sender, locked by whoever claims a message to send from it, so every worker
    process paces the same number by the same clock (hotline.plumbing.pacing).
    """

    __tablename__ = "sender_pace"

    sender: str = Field(primary_key=True, max_length=8)
    next_free_at: NaiveDatetime = Field(default_factory=utcnow)
