"""The Mermaid diagram is generated from the flow's TRANSITIONS data."""

import re

from flows import INTAKE
from flows.diagram import mermaid

EDGE = re.compile(r"^    (\w+) --> (\w+) : (\w+)( \[[\w ]+\])?$")


def test_diagram_is_a_state_diagram_starting_at_welcome():
    lines = mermaid(INTAKE).splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> welcome" in lines
    for state in INTAKE.states:
        assert f"    {state}" in lines


def test_every_state_changing_transition_is_drawn_with_its_trigger():
    edges = [EDGE.match(line) for line in mermaid(INTAKE).splitlines() if " --> " in line][1:]
    assert all(edges)
    drawn = {(m[1], m[2], m[3]) for m in edges}
    everywhere = set(INTAKE.states)
    for transition in INTAKE.transitions:
        if transition["dest"] is None:
            continue
        source = transition["source"]
        sources = [source] if isinstance(source, str) else source
        if set(sources) == everywhere:
            sources = ["any_state"]
        for name in sources:
            assert (name, transition["dest"], transition["trigger"]) in drawn


def test_guards_label_the_split_answers():
    text = mermaid(INTAKE)
    assert "ask_safe --> ask_adult : receive [is_yes]" in text
    assert "ask_safe --> welcome : receive [is_no]" in text
    assert "confirm --> ask_safe : receive [not has_all_answers]" in text


def test_internal_transitions_are_not_drawn():
    text = mermaid(INTAKE)
    assert "emergency" not in text
    assert "mark_" not in text
