"""Conversations (one per sender pseudonym) and the inbound log that makes webhooks idempotent."""

from pydantic import NaiveDatetime
from sqlmodel import Field, SQLModel

from models.clock import utcnow


class Conversation(SQLModel, table=True):
    """Where one sender is in the flow. Keyed by a pseudonym, never by the number itself."""

    __tablename__ = "conversation"

    id: int | None = Field(default=None, primary_key=True)
    sender_hash: str = Field(max_length=64, unique=True, index=True)
    channel: str = Field(default="sms", max_length=8)
    state: str | None = Field(default=None, max_length=64)
    data_sealed: str | None = Field(default=None)  # encrypted JSON of the flow's data
    language: str = Field(default="en", max_length=8)
    opted_out: bool = Field(default=False)
    version: int = Field(default=0)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    updated_at: NaiveDatetime = Field(default_factory=utcnow, index=True)


class InboundMessage(SQLModel, table=True):
    """One row per Twilio MessageSid or voice step: a retry re-sends the stored reply."""

    __tablename__ = "inbound_message"

    id: int | None = Field(default=None, primary_key=True)
    sid: str = Field(max_length=80, unique=True, index=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    reply_sealed: str | None = Field(default=None)  # encrypted JSON list of the texts sent back
    received_at: NaiveDatetime = Field(default_factory=utcnow, index=True)
