"""The reports page: the de-identified funnel as a chart and a table, and its CSV."""

from __future__ import annotations

from flask import Response, abort, render_template, request

from hotline.plumbing.audit import record
from hotline.plumbing.runtime import runtime
from hotline.services import report
from hotline.web.dashboard.blueprint import bp
from hotline.web.dashboard.guard import actor, requires
from models.clock import utcnow

#: The funnel's bars, top to bottom.
FUNNEL = ("contacts", "screened", "eligible", "requested", "accepted", "completed")
#: The widest bar, in the charts' own units (their viewBox is 480 wide: readable on a phone too).
BAR_WIDTH = 400
MONTH_BAR_WIDTH = 360


@bp.get("/reports")
@requires("admin")
def reports():
    """Show a year's funnel: bars for the year, a table by month, outcomes and time to accept."""
    this_year = utcnow().year
    year = request.args.get("year", this_year, type=int) or this_year
    if not 2000 <= year <= this_year + 1:
        abort(404)
    with runtime().db.reading() as session:
        funnel = report.year_funnel(session, year)
        years = sorted(set(report.years_with_data(session)) | {this_year}, reverse=True)
    return render_template(
        "dashboard/reports.html",
        funnel=funnel,
        year=year,
        years=years,
        bars=funnel_bars(funnel.total),
        months=month_bars(funnel),
        columns=report.COLUMNS,
        labels=dict(report.COLUMNS),
    )


@bp.get("/reports/<int:year>.csv")
@requires("admin")
def report_csv(year: int):
    """Download a year's funnel as CSV (counts only)."""
    with runtime().db.unit_of_work() as session:
        funnel = report.year_funnel(session, year)
        record(session, actor(), "report.download", target=f"report:{year}")
        session.commit()
    return Response(
        report.render(funnel, "csv"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="safe-passage-{year}.csv"'},
    )


def funnel_bars(total: report.Period) -> list[dict]:
    """Return one horizontal bar per funnel step, scaled to the largest."""
    values = [(name, getattr(total, name)) for name in FUNNEL]
    top = max((v for _, v in values), default=0) or 1
    labels = dict(report.COLUMNS)
    return [
        {"name": name, "label": labels[name], "value": value, "width": max(2, round(BAR_WIDTH * value / top))}
        for name, value in values
    ]


def month_bars(funnel: report.Funnel) -> list[dict]:
    """Return a bar pair per month: rides requested and completed, scaled to the busiest month."""
    top = max((m.requested for m in funnel.months), default=0) or 1
    return [
        {
            "label": m.label.split()[0],
            "requested": m.requested,
            "completed": m.completed,
            "requested_w": round(MONTH_BAR_WIDTH * m.requested / top),
            "completed_w": round(MONTH_BAR_WIDTH * m.completed / top),
        }
        for m in funnel.months
    ]
