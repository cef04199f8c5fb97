"""The program's de-identified funnel, by month and for a year: counts only, never a person.

Contacts are conversations by the month they began; screened and eligible are milestones
(`FunnelMark`) written when a conversation first enters the screening questions and first
passes the age question; the ride figures come from ride requests by the month they were
made. Nothing here reads a sealed column, so erasing a person or purging old texts leaves the
counts as they were.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import event, func, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from models import Conversation, Dispatch, FunnelMark

#: Entering this flow state reaches this milestone.
MILESTONES = {"ask_safe": "screened", "ask_handover": "eligible"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Report columns in funnel order, with their headings.
COLUMNS = (
    ("contacts", "Contacts"),
    ("screened", "Screened"),
    ("eligible", "Eligible"),
    ("requested", "Rides requested"),
    ("accepted", "Accepted"),
    ("completed", "Completed"),
    ("inpatient", "Inpatient"),
    ("outpatient", "Outpatient"),
    ("refused", "Refused"),
    ("callbacks", "Call-backs requested"),
    ("reached", "Call-backs reached"),
    ("no_answer", "Call-backs not answered"),
    ("callback_ride", "Call-backs that asked for a ride"),
    ("median_accept_minutes", "Median minutes to accept"),
)
OUTCOMES = {"in": "inpatient", "out": "outpatient", "refused": "refused"}
CALL_OUTCOMES = {"reached": "reached", "no_answer": "no_answer", "ride": "callback_ride"}
FORMATS = ("table", "csv", "json")


@dataclass
class Period:
    """The funnel for one month (or the whole year)."""

    label: str
    contacts: int = 0
    screened: int = 0
    eligible: int = 0
    requested: int = 0
    accepted: int = 0
    completed: int = 0
    inpatient: int = 0
    outpatient: int = 0
    refused: int = 0
    callbacks: int = 0
    reached: int = 0
    no_answer: int = 0
    callback_ride: int = 0
    median_accept_minutes: float | None = None
    accept_minutes: list[float] = field(default_factory=list, repr=False)

    def row(self) -> dict[str, object]:
        """Return the period's figures by column name (no raw durations)."""
        data = asdict(self)
        data.pop("accept_minutes")
        return data


@dataclass
class Funnel:
    """A year's funnel: twelve months and the year's total."""

    year: int
    months: list[Period]
    total: Period

    def rows(self) -> list[dict[str, object]]:
        """Return the months then the total, as rows of figures."""
        return [period.row() for period in [*self.months, self.total]]


def year_funnel(session: Session, year: int) -> Funnel:
    """Count the funnel for each month of a year (UTC months) and the whole year."""
    start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    months = [Period(label=f"{MONTHS[m]} {year}") for m in range(12)]
    total = Period(label=str(year))

    created = select(Conversation.created_at).where(
        Conversation.created_at >= start, Conversation.created_at < end
    )
    for (moment,) in session.execute(created):
        months[moment.month - 1].contacts += 1
    marks = select(FunnelMark.milestone, FunnelMark.at).where(FunnelMark.at >= start, FunnelMark.at < end)
    for milestone, moment in session.execute(marks):
        period = months[moment.month - 1]
        setattr(period, milestone, getattr(period, milestone) + 1)
    rides = select(Dispatch.created_at, Dispatch.accepted_at, Dispatch.status, Dispatch.outcome).where(
        Dispatch.kind == "ride", Dispatch.created_at >= start, Dispatch.created_at < end
    )
    for created_at, accepted_at, status, outcome in session.execute(rides):
        period = months[created_at.month - 1]
        period.requested += 1
        if accepted_at is not None:
            period.accepted += 1
            period.accept_minutes.append((accepted_at - created_at).total_seconds() / 60)
        if status == "completed":
            period.completed += 1
            if outcome in OUTCOMES:
                name = OUTCOMES[outcome]
                setattr(period, name, getattr(period, name) + 1)
    calls = select(Dispatch.created_at, Dispatch.status, Dispatch.outcome).where(
        Dispatch.kind == "callback", Dispatch.created_at >= start, Dispatch.created_at < end
    )
    for created_at, status, outcome in session.execute(calls):
        period = months[created_at.month - 1]
        period.callbacks += 1
        if status == "completed" and outcome in CALL_OUTCOMES:
            name = CALL_OUTCOMES[outcome]
            setattr(period, name, getattr(period, name) + 1)

    for period in months:
        for name, _ in COLUMNS[:-1]:
            setattr(total, name, getattr(total, name) + getattr(period, name))
        total.accept_minutes += period.accept_minutes
        period.median_accept_minutes = _median(period.accept_minutes)
    total.median_accept_minutes = _median(total.accept_minutes)
    return Funnel(year=year, months=months, total=total)


def years_with_data(session: Session) -> list[int]:
    """Return the years that have any contact, newest first."""
    first = session.execute(select(func.min(Conversation.created_at))).scalar()
    last = session.execute(select(func.max(Conversation.created_at))).scalar()
    if first is None or last is None:
        return []
    return list(range(last.year, first.year - 1, -1))


def render(funnel: Funnel, fmt: str) -> str:
    """Write a funnel as an aligned text table, CSV or JSON."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    rows = funnel.rows()
    if fmt == "json":
        return json.dumps({"year": funnel.year, "months": rows[:-1], "total": rows[-1]}, indent=2) + "\n"
    headings = ["Period", *(heading for _, heading in COLUMNS)]
    cells = [[str(row["label"]), *(_cell(row[name]) for name, _ in COLUMNS)] for row in rows]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headings)
        writer.writerows(cells)
        return buffer.getvalue()
    short = ["Period", "Contacts", "Screened", "Eligible", "Requested", "Accepted", "Completed"]
    short += ["In", "Out", "Refused", "Calls", "Reached", "No ans", "Ride", "Median min"]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(short)]
    lines = [
        "  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(short, widths, strict=True)))
    ]
    for row in cells:
        lines.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


# -- milestones ------------------------------------------------------------------------------


def note_milestone(connection, conversation_id: int, state: str | None, now: datetime) -> None:
    """Mark the milestone a conversation reaches by entering a state (once per conversation)."""
    milestone = MILESTONES.get(state or "")
    if milestone is None or conversation_id is None:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(
        dialect.insert(FunnelMark)
        .values(milestone=milestone, conversation_id=conversation_id, at=now)
        .on_conflict_do_nothing(index_elements=["milestone", "conversation_id"])
    )


def _conversation_updated(_mapper, connection, target: Conversation) -> None:
    """Count a milestone when a turn moves a conversation into one of MILESTONES' states."""
    history = inspect(target).attrs.state.history
    if history.added and history.added[0] != (history.deleted[0] if history.deleted else None):
        note_milestone(connection, target.id, history.added[0], target.updated_at)


def install() -> None:
    """Start counting milestones whenever a conversation's state is saved (once per process).

    A mapper event rather than a call in the conversation service: every channel (SMS, voice)
    that saves a conversation is counted, in the same transaction as the turn itself.
    """
    if not event.contains(Conversation, "before_update", _conversation_updated):
        event.listen(Conversation, "before_update", _conversation_updated)
