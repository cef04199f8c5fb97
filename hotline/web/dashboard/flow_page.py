"""The flow page: the intake conversation as a diagram of its states and transitions."""

from __future__ import annotations

from flask import render_template

from flows import INTAKE
from flows.diagram import mermaid
from hotline.web.dashboard.blueprint import bp
from hotline.web.dashboard.guard import requires


@bp.get("/flow")
@requires("sergeant", "admin")
def flow():
    """Show each state with where each answer leads, and the Mermaid source of the diagram."""
    source = mermaid(INTAKE)
    states: dict[str, list[dict]] = {}
    any_state: list[dict] = []
    for line in source.splitlines():
        line = line.strip()
        if "-->" not in line or line.startswith("[*]"):
            continue
        origin, _, rest = line.partition(" --> ")
        dest, _, label = rest.partition(" : ")
        edge = {"dest": dest, "label": label}
        (any_state if origin == "any_state" else states.setdefault(origin, [])).append(edge)
    ordered = [(state, states.get(state, [])) for state in INTAKE.states]
    return render_template(
        "dashboard/flow.html", initial=INTAKE.initial, states=ordered, any_state=any_state, source=source
    )
