"""The sergeant's board in a real browser: a request appears by itself, is assigned, closed, and counted."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from hotline.services import dispatch
from models import Conversation, Dispatch, FunnelMark, Officer
from models.clock import utcnow
from tests.dashboard_support import PASSWORD, PLACE, RIDE, add_accounts, add_roster
from tests.support import PARTICIPANT, sign, sms_params

pytestmark = pytest.mark.browser

#: Earlier rides this year, per month: (contacts, screened, eligible, requested, completed: in, out, refused).
HISTORY = [(6, 4, 3, 2, 1, 1, 0), (4, 3, 3, 2, 1, 0, 1), (8, 6, 5, 4, 2, 1, 0), (5, 4, 3, 3, 1, 1, 1)]


def seed_history(rt, now: datetime) -> dict[str, int]:
    """Add de-identified history in this year's earlier months; return the year's totals so far."""
    totals = dict.fromkeys(["contacts", "screened", "eligible", "requested", "accepted", "completed"], 0)
    totals.update(inpatient=0, outpatient=0, refused=0)
    months = list(range(1, now.month + 1))
    with rt.db.unit_of_work() as session:
        for n, (contacts, screened, eligible, requested, inp, outp, refused) in enumerate(HISTORY):
            month = months[n * len(months) // len(HISTORY)]
            start = datetime(now.year, month, 1, 6, n)
            for c in range(contacts):
                conversation = Conversation(
                    sender_hash=f"history-{n}-{c}", created_at=start, updated_at=start
                )
                session.add(conversation)
                session.flush()
                if c < screened:
                    session.add(FunnelMark(milestone="screened", conversation_id=conversation.id, at=start))
                if c < eligible:
                    session.add(FunnelMark(milestone="eligible", conversation_id=conversation.id, at=start))
            outcomes = ["in"] * inp + ["out"] * outp + ["refused"] * refused
            for r in range(requested):
                done = r < len(outcomes)
                session.add(
                    Dispatch(
                        ref=f"H{n}{r}X",
                        kind="ride",
                        status="completed" if done else "cancelled",
                        outcome=outcomes[r] if done else None,
                        created_at=start,
                        updated_at=start,
                        accepted_at=start + timedelta(minutes=3 + r) if done else None,
                        closed_at=start + timedelta(hours=1),
                    )
                )
            totals["contacts"] += contacts
            totals["screened"] += screened
            totals["eligible"] += eligible
            totals["requested"] += requested
            totals["accepted"] += len(outcomes)
            totals["completed"] += len(outcomes)
            totals["inpatient"] += inp
            totals["outpatient"] += outp
            totals["refused"] += refused
        session.commit()
    return totals


def seed_open_request(rt, *, status: str, minutes_ago: int, officer: str | None = None) -> str:
    """Add an open request in some state, as the board would find it at shift change."""
    with rt.db.unit_of_work() as session:
        at = utcnow() - timedelta(minutes=minutes_ago)
        item = Dispatch(
            ref=dispatch.new_ref(session), kind="ride", status=status, meet="hq", created_at=at, updated_at=at
        )
        if officer:
            item.officer_id = session.exec(select(Officer.id).where(Officer.name == officer)).one()
            item.accepted_at = at + timedelta(minutes=2)
        session.add(item)
        session.commit()
        return item.ref


def text_hotline(server, body: str, sender: str = PARTICIPANT) -> None:
    """Text the hotline as Twilio delivers it: a signed POST to the running server."""
    import urllib.parse
    import urllib.request

    params = sms_params(body, sender=sender)
    request = urllib.request.Request(
        server.url + "/twilio/sms",
        data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": sign("/twilio/sms", params, base=server.url)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def sign_in(page, server, username: str) -> None:
    page.goto(server.url + "/dashboard/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_sergeant_watches_a_request_arrive_assigns_and_closes_it_and_the_report_counts_it(server, page):
    rt = server.rt
    add_accounts(rt)
    add_roster(rt)
    now = utcnow()
    totals = seed_history(rt, now)
    seed_open_request(rt, status="accepted", minutes_ago=23, officer="Ofc. Okafor")
    seed_open_request(rt, status="no_officer", minutes_ago=9)
    totals["requested"] += 2
    totals["accepted"] += 1

    sign_in(page, server, "rivera")
    page.wait_for_selector("#rows tr.urgent")
    assert page.locator("#rows tr").count() == 2
    before = page.url

    for body in RIDE:
        text_hotline(server, body)
    with rt.db.reading() as session:
        ref = session.exec(select(Dispatch.ref).where(Dispatch.meet == "place")).one()
    row = page.locator(f'#rows tr[data-ref="{ref}"]')
    row.wait_for()  # polled in, no reload
    assert page.url == before
    assert "new" in row.get_attribute("class") and "unanswered" in row.get_attribute("class")
    assert page.locator("#new-text").inner_text() == f"New request: {ref}"
    assert page.locator("#open-count").inner_text() == "3"
    assert re.match(r"^\(\d\) ", page.title()), "the tab title counts unanswered requests"
    board_text = page.locator("main").inner_text()
    assert "5550142" not in board_text and "QuikTrip" not in board_text

    row.locator("a").click()
    page.wait_for_selector("#place")
    assert page.locator("#place").inner_text() == PLACE
    smith = page.locator("select[name=officer_id] option", has_text="Ofc. Smith").get_attribute("value")
    page.select_option("select[name=officer_id]", smith)
    page.click("button:has-text('Assign')")
    page.wait_for_selector("#officer:has-text('Ofc. Smith')")
    assert "assigned to Ofc. Smith" in page.locator(".flash").inner_text()
    page.select_option("select[name=outcome]", "in")
    page.click("button:has-text('Close')")
    page.wait_for_selector("#outcome:has-text('Inpatient')")
    assert page.locator("#place").count() == 0, "a closed request hides the place"
    page.screenshot(path=str(server.shots / "dispatch.png"), full_page=True)

    page.click("text=Board")
    page.wait_for_selector(f'#rows tr[data-ref="{ref}"]', state="detached")
    page.click("text=Sign out")
    page.wait_for_selector("input[name=username]")

    sign_in(page, server, "adams")
    page.wait_for_selector("#funnel-contacts")
    expected = {**totals}
    for name in ("contacts", "screened", "eligible", "requested", "accepted", "completed"):
        expected[name] += 1  # the participant who just rode
    expected["inpatient"] += 1
    for name in ("contacts", "screened", "eligible", "requested", "accepted", "completed"):
        assert page.locator(f"#funnel-{name}").text_content() == str(expected[name]), name
    assert page.locator("#total-inpatient").inner_text() == str(expected["inpatient"])
    assert page.locator("#total-refused").inner_text() == str(expected["refused"])
    total_row = page.locator("#report-table tr.total td")
    assert total_row.nth(0).inner_text() == str(now.year)
    page.screenshot(path=str(server.shots / "report.png"), full_page=True)

    with page.expect_download() as download:
        page.click("text=Download CSV")
    assert download.value.suggested_filename == f"safe-passage-{now.year}.csv"
