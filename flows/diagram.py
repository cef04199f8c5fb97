"""Draw a flow as a Mermaid state diagram, straight from its TRANSITIONS data (no graphviz)."""

from collections.abc import Sequence
from typing import Any

from .flow import Flow

ANY_STATE = "any_state"


def mermaid(flow: Flow) -> str:
    """Return a Mermaid stateDiagram-v2 of a flow: its states and labelled transitions.

    Transitions that keep the state (re-asks, HELP, emergency) are not drawn; those allowed
    from every state (MENU, STOP, DELETE...) are drawn once, from "any state".
    """
    lines = ["stateDiagram-v2", f"    [*] --> {flow.initial}"]
    lines += [f"    {state}" for state in flow.states]
    everywhere = set(flow.states)
    if any(set(_sources(t, flow.states)) == everywhere for t in flow.transitions):
        lines.append(f'    state "any state" as {ANY_STATE}')
    seen = set()
    for transition in flow.transitions:
        dest = transition.get("dest")
        if dest is None:
            continue
        sources = _sources(transition, flow.states)
        if set(sources) == everywhere:
            sources = [ANY_STATE]
        for source in sources:
            line = f"    {source} --> {dest} : {_label(transition)}"
            if line not in seen:
                seen.add(line)
                lines.append(line)
    return "\n".join(lines) + "\n"


def _sources(transition: dict[str, Any], states: Sequence[str]) -> list[str]:
    """Return a transition's source states as a list."""
    source = transition["source"]
    if source == "*":
        return list(states)
    return [source] if isinstance(source, str) else list(source)


def _label(transition: dict[str, Any]) -> str:
    """Return "trigger [guards]" in UML guard notation."""
    guards = _names(transition.get("conditions"))
    guards += [f"not {name}" for name in _names(transition.get("unless"))]
    trigger = transition["trigger"]
    return f"{trigger} [{' and '.join(guards)}]" if guards else trigger


def _names(value: str | Sequence[str] | None) -> list[str]:
    """Return callback names as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
