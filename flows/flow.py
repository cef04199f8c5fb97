"""Run a conversation flow on one shared machine per process (RELIABILITY FSM-1..3)."""

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from transitions import Machine, MachineError

from .turn import Event, Step


class Conversation(Protocol):
    """The light model a flow's machine moves through one turn."""

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
        self._lock = threading.Lock()  # builds the machine once; one turn fires on it at a time

    @property
    def machine(self) -> Machine:
        """Return the shared machine, building it on first use."""
        if self._machine is None:
            with self._lock:
                if self._machine is None:
                    # model=None: conversations are never attached, each turn fires on its own.
                    machine = Machine(
                        model=None,
                        states=self.states,
                        transitions=self.transitions,
                        initial=None,
                        auto_transitions=False,
                        name=self.name,
                    )
                    # add_model would bind a conversation's on_enter_<state>/on_exit_<state>
                    # methods to the states; nothing is attached per turn, so bind them here.
                    for state in machine.states.values():
                        for kind in ("enter", "exit"):
                            method = f"on_{kind}_{state.name}"
                            if callable(getattr(self._conversation, method, None)):
                                state.add_callback(kind, method)
                    self._machine = machine
        return self._machine

    def handle(self, state: str | None, data: Mapping[str, Any], event: Event) -> Step:
        """Answer one message: pure, so the same inputs always give the same Step."""
        conversation = self._conversation(event, data)
        start, trigger = conversation.plan(state, self.states, self.initial)
        if trigger is None:
            return conversation.step(start)
        machine = self.machine
        # Fire the machine's event on the conversation without add_model: attaching bound some
        # 40 methods to the model and detaching walked machine.models, every turn, for nothing,
        # as only the machine reads its rules and only the conversation holds this turn's state.
        # No model is ever left on the machine. The lock is kept (FSM-2): uncontended, it costs
        # nothing measurable, and the library promises nothing about threads firing at once.
        fire = machine.events.get(trigger)
        if fire is None:  # what conversation.trigger() raised for a name no transition has
            raise AttributeError(f"Do not know event named '{trigger}'.")
        with self._lock:
            machine.set_state(start, model=conversation)
            try:
                moved = fire.trigger(conversation)
            except MachineError:  # a trigger this state does not know: re-ask (FSM-3)
                moved = False
        if not moved:
            conversation.mark_unclear()
        return conversation.step(conversation.state)
