"""Run a conversation flow on one shared machine per process (RELIABILITY FSM-1..3)."""

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from transitions import Machine, MachineError

from .turn import Event, Step


class Conversation(Protocol):
    """The light model a flow attaches to its machine for one turn."""

    state: str

    def __init__(self, event: Event, data: Mapping[str, Any]) -> None: ...

    def plan(self, state: str | None, states: Sequence[str], initial: str) -> tuple[str, str | None]:
        """Return the state to start from and the trigger to fire (None: stay silent)."""

    def mark_unclear(self) -> None:
        """Re-ask, because nothing in the flow understood the message."""

    def step(self, state: str) -> Step:
        """Return what the turn decided, ending in `state`."""


class Flow:
    """Hold a flow's states and transitions as data and answer one message at a time."""

    def __init__(
        self,
        name: str,
        states: Sequence[str],
        transitions: Sequence[Mapping[str, Any]],
        initial: str,
        conversation: type[Conversation],
    ) -> None:
        self.name = name
        self.states = list(states)
        self.transitions = [dict(t) for t in transitions]
        self.initial = initial
        self._conversation = conversation
        self._machine: Machine | None = None
        # One lock over attach, fire and detach: gthread workers share the machine, and
        # add/remove_model mutate machine.models (FSM-2). LockedMachine would lock each call
        # separately and wrap every attribute access, which measured 2.6 times slower per turn.
        self._lock = threading.Lock()

    @property
    def machine(self) -> Machine:
        """Return the shared machine, building it on first use."""
        if self._machine is None:
            with self._lock:
                if self._machine is None:
                    # model=None: conversations are attached for one turn, then detached.
                    self._machine = Machine(
                        model=None,
                        states=self.states,
                        transitions=self.transitions,
                        initial=None,
                        auto_transitions=False,
                        name=self.name,
                    )
        return self._machine

    def handle(self, state: str | None, data: Mapping[str, Any], event: Event) -> Step:
        """Answer one message: pure, so the same inputs always give the same Step."""
        conversation = self._conversation(event, data)
        start, trigger = conversation.plan(state, self.states, self.initial)
        if trigger is None:
            return conversation.step(start)
        machine = self.machine
        with self._lock:
            machine.add_model(conversation, initial=start)
            try:
                try:
                    moved = conversation.trigger(trigger)
                except MachineError:  # a trigger this state does not know: re-ask (FSM-3)
                    moved = False
                if not moved:
                    conversation.mark_unclear()
                end = conversation.state
            finally:
                machine.remove_model(conversation)
        return conversation.step(end)
