"""Conversation flows: pure functions from (state, data, message) to replies and effects."""

from .flow import Flow
from .intake import INTAKE
from .turn import Effect, Event, Reply, Step

__all__ = ["INTAKE", "Effect", "Event", "Flow", "Reply", "Step"]
