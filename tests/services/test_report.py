"""The de-identified funnel: counted from real conversations and requests, by month and year."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import select

from hotline import cli
from hotline.services import report
from hotline.web.dashboard import accounts
from models import Conversation, Dispatch, FunnelMark
from tests.dashboard_support import PASSWORD, RIDE, add_roster, sign_in, token
from tests.support import hotline_config

YEAR = 2025


def seed_ride(
    session, *, created: datetime, accept_after: float | None, status: str, outcome=None, ref=""
) -> None:
    """Add a finished ride request as history (no personal data is needed for counting)."""
    accepted = created + timedelta(minutes=accept_after) if accept_after is not None else None
    session.add(
        Dispatch(
            ref=ref,
            kind="ride",
            status=status,
            outcome=outcome,
            created_at=created,
            updated_at=created,
            accepted_at=accepted,
        )
    )


@pytest.fixture
def history(rt):
    """Four people in February and March 2025, with their requests and milestones."""
    with rt.db.unit_of_work() as session:
        for n, day in enumerate(
            [datetime(YEAR, 2, 3), datetime(YEAR, 2, 20), datetime(YEAR, 3, 5), datetime(YEAR, 3, 9)]
        ):
            session.add(Conversation(sender_hash=f"h{n}", created_at=day, updated_at=day))
        session.flush()
        ids = [c.id for c in session.exec(select(Conversation).order_by(Conversation.id)).all()]
        for cid, when in zip(
            ids, [datetime(YEAR, 2, 3), datetime(YEAR, 2, 20), datetime(YEAR, 3, 5)], strict=False
        ):
            session.add(FunnelMark(milestone="screened", conversation_id=cid, at=when))
        for cid, when in zip(ids, [datetime(YEAR, 2, 3), datetime(YEAR, 3, 5)], strict=False):
            session.add(FunnelMark(milestone="eligible", conversation_id=cid, at=when))
        seed_ride(
            session,
            created=datetime(YEAR, 2, 3, 10),
            accept_after=4,
            status="completed",
            outcome="in",
            ref="AAA1",
        )
        seed_ride(
            session,
            created=datetime(YEAR, 3, 5, 10),
            accept_after=10,
            status="completed",
            outcome="refused",
            ref="AAA2",
        )
        seed_ride(
            session, created=datetime(YEAR, 3, 6, 10), accept_after=None, status="cancelled", ref="AAA3"
        )
        seed_ride(
            session,
            created=datetime(YEAR - 1, 12, 31, 10),
            accept_after=1,
            status="completed",
            outcome="out",
            ref="AAA4",
        )
        session.add(
            Dispatch(ref="CB01", kind="callback", status="completed", created_at=datetime(YEAR, 3, 7))
        )
        session.commit()


def test_funnel_counts_each_month_and_the_year(rt, history):
    with rt.db.reading() as session:
        funnel = report.year_funnel(session, YEAR)
    feb, mar = funnel.months[1], funnel.months[2]
    assert (feb.contacts, feb.screened, feb.eligible, feb.requested, feb.accepted, feb.completed) == (
        2,
        2,
        1,
        1,
        1,
        1,
    )
    assert (feb.inpatient, feb.median_accept_minutes) == (1, 4.0)
    assert (mar.contacts, mar.screened, mar.eligible, mar.requested, mar.accepted, mar.completed) == (
        2,
        1,
        1,
        2,
        1,
        1,
    )
    assert (mar.refused, mar.outpatient) == (1, 0)
    total = funnel.total
    assert (total.contacts, total.requested, total.completed, total.inpatient, total.refused) == (
        4,
        3,
        2,
        1,
        1,
    )
    assert total.outpatient == 0, "December 2024's ride belongs to 2024"
    assert total.median_accept_minutes == 7.0
    assert funnel.months[0].median_accept_minutes is None


def test_formats_table_csv_and_json_agree(rt, history):
    with rt.db.reading() as session:
        funnel = report.year_funnel(session, YEAR)
    rows = list(csv.reader(io.StringIO(report.render(funnel, "csv"))))
    assert rows[0][:5] == ["Period", "Contacts", "Screened", "Eligible", "Rides requested"]
    assert rows[-1][0] == str(YEAR) and rows[-1][1] == "4" and rows[-1][-1] == "7.0"
    assert len(rows) == 14
    data = json.loads(report.render(funnel, "json"))
    assert data["total"]["requested"] == 3 and data["months"][2]["refused"] == 1
    table = report.render(funnel, "table")
    assert table.splitlines()[0].startswith("Period") and f"Mar {YEAR}" in table
    with pytest.raises(ValueError):
        report.render(funnel, "xml")


def test_a_conversation_is_screened_and_eligible_once_however_often_it_restarts(twilio, rt):
    add_roster(rt)
    for text in ["hi", "2", "yes", "yes", "MENU", "2", "yes", "yes"]:
        twilio.text(text)
    with rt.db.reading() as session:
        marks = session.exec(select(FunnelMark.milestone)).all()
    assert sorted(marks) == ["eligible", "screened"]


def test_a_minor_is_screened_but_not_eligible(twilio, rt):
    for text in ["hi", "2", "yes", "I'm 16"]:
        twilio.text(text)
    with rt.db.reading() as session:
        assert session.exec(select(FunnelMark.milestone)).all() == ["screened"]


def test_counts_survive_a_participant_deleting_their_data(twilio, rt):
    add_roster(rt)
    for text in RIDE:
        twilio.text(text)
    twilio.text("DELETE")
    year = datetime.now().year
    with rt.db.reading() as session:
        total = report.year_funnel(session, year).total
    assert (total.contacts, total.screened, total.eligible, total.requested) == (1, 1, 1, 1)


def test_twilio_retry_counts_once(twilio, rt):
    twilio.text("hi")
    twilio.text("2", sid="SM" + "e" * 32)
    twilio.text("2", sid="SM" + "e" * 32)
    with rt.db.reading() as session:
        assert session.exec(select(FunnelMark.milestone)).all() == ["screened"]


# -- where people read it --------------------------------------------------------------------


def test_reports_page_and_csv_for_admins(app, client, rt, history):
    with rt.db.unit_of_work() as session:
        accounts.add_user(session, username="adams", role="admin", password=PASSWORD)
        session.commit()
    sign_in(client, "adams")
    page = client.get(f"/dashboard/reports?year={YEAR}").get_data(as_text=True)
    assert 'id="funnel-contacts">4<' in page and 'id="funnel-completed">2<' in page
    assert 'id="total-inpatient">1<' in page and 'id="total-median">7.0<' in page
    assert "<svg" in page
    download = client.get(f"/dashboard/reports/{YEAR}.csv")
    assert download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    assert download.get_data(as_text=True).splitlines()[-1].startswith(f"{YEAR},4,")
    assert client.get("/dashboard/reports?year=1900").status_code == 404
    assert client.get("/dashboard/audit").get_data(as_text=True).count("report.download") == 1
    assert token(client)


@pytest.fixture
def env(empty_database_url, tmp_path, monkeypatch):
    for name, value in hotline_config(empty_database_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return empty_database_url


def run(*args, input=None):
    return CliRunner().invoke(cli.main, list(args), input=input, catch_exceptions=False)


def test_report_command_prints_each_format(env):
    from hotline import create_app
    from hotline.plumbing.runtime import runtime

    app = create_app()
    rt = runtime(app)
    try:
        rt.db.create_all()  # the lead's migration will add the dashboard's tables; until then
        with rt.db.unit_of_work() as session:
            seed_ride(
                session,
                created=datetime(YEAR, 5, 1, 9),
                accept_after=3,
                status="completed",
                outcome="out",
                ref="BBB1",
            )
            session.commit()
    finally:
        rt.db.dispose()
    table = run("report", "--year", str(YEAR))
    assert table.exit_code == 0 and f"May {YEAR}" in table.output
    as_csv = run("report", "--year", str(YEAR), "--format", "csv").output.splitlines()
    assert as_csv[-1].startswith(f"{YEAR},0,0,0,1,1,1,0,1,0,0,0,0,0,3.0")
    as_json = json.loads(run("report", "--year", str(YEAR), "--format", "json").output)
    assert as_json["months"][4]["outpatient"] == 1
    assert run("report", "--year", str(YEAR), "--format", "xml").exit_code != 0
    assert run("report").exit_code != 0
