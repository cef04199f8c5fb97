"""SQLModel tables, one module per table family. Models never commit themselves."""

from sqlmodel import SQLModel

from models.conversation import Conversation, InboundMessage
from models.dispatch import Dispatch, DispatchEvent
from models.outbox import OutboxMessage
from models.roster import Officer
from models.timer import Timer

metadata = SQLModel.metadata

__all__ = [
    "Conversation",
    "Dispatch",
    "DispatchEvent",
    "InboundMessage",
    "Officer",
    "OutboxMessage",
    "Timer",
    "metadata",
]
