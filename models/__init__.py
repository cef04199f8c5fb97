"""SQLModel tables, one module per table family. Models never commit themselves."""

from sqlmodel import SQLModel

from models.audit import AuditEntry
from models.conversation import Conversation, InboundMessage
from models.dispatch import Dispatch, DispatchEvent, Offer
from models.funnel import FunnelMark
from models.outbox import OutboxMessage, SenderPace
from models.roster import Officer, Shift
from models.timer import Timer
from models.user import DashboardUser

metadata = SQLModel.metadata

__all__ = [
    "AuditEntry",
    "DashboardUser",
    "FunnelMark",
    "Conversation",
    "Dispatch",
    "DispatchEvent",
    "InboundMessage",
    "Offer",
    "Officer",
    "OutboxMessage",
    "SenderPace",
    "Shift",
    "Timer",
    "metadata",
]
