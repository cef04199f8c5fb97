"""The flow page: the conversation in words for a sergeant, beside the developer's diagram."""

from __future__ import annotations

from flask import render_template

from flows import INTAKE
from flows.diagram import mermaid
from flows.intake import PROMPTS
from hotline.plumbing.runtime import runtime
from hotline.web.dashboard.blueprint import bp
from hotline.web.dashboard.guard import requires

#: Each step of the conversation for a sergeant: what it is, and what each answer does.
STEPS = {
    "welcome": (
        "The welcome menu",
        "1 explains the program, 2 starts the ride questions, 3 asks to talk to an officer.",
    ),
    "info": (
        "How the program works",
        "Each number answers one question (warrants, cost, privacy...); 0 goes back.",
    ),
    "ask_safe": (
        "Are you safe right now?",
        'Yes goes on. No: they are told to call 911, the duty sergeant gets a "not safe" alert, '
        "and the questions stop.",
    ),
    "ask_adult": (
        "Are you 18 or older?",
        "Yes goes on. Under 18: the ride is for adults only; they get the crisis line and a helpline.",
    ),
    "ask_handover": ("Anything to hand over?", "Yes or no: the officer knows whether to bring a bag."),
    "ask_weapons": (
        "Any weapons with you?",
        "Yes or no: the answer is flagged on the board; a yes does not stop the ride.",
    ),
    "ask_warrant": (
        "Worried about a warrant?",
        "Yes, no or not sure: flagged on the board for the officer who goes.",
    ),
    "ask_place": (
        "Where to meet?",
        "An address or landmark (sealed, shown only while the request is open), or HQ.",
    ),
    "ask_consent": (
        "May the officer text updates?",
        "Yes or no: with no, nobody texts them; they can text STATUS.",
    ),
    "confirm": (
        "Check and send",
        "Yes sends the request to the officers on duty; no ends it, nothing is sent.",
    ),
    "request_open": (
        "Request sent",
        "The request is on the board; once an officer accepts, texts pass between them (with consent).",
    ),
}
#: What the confirmation shows in the sample (the participant sees their own answers).
SAMPLE = {
    "place": "(their place)",
    "handover": "yes",
    "weapons": "no",
    "warrant": "not sure",
    "consent": "yes",
}


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
    catalog = runtime().catalog
    steps = [
        {
            "state": state,
            "title": STEPS.get(state, (state.replace("_", " "), ""))[0],
            "next": STEPS.get(state, ("", ""))[1],
            "asks": catalog.render(PROMPTS[state], "en", SAMPLE) if state in PROMPTS else None,
        }
        for state in INTAKE.states
    ]
    return render_template(
        "dashboard/flow.html",
        initial=INTAKE.initial,
        steps=steps,
        states=ordered,
        any_state=any_state,
        source=source,
    )
