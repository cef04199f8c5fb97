"""The board as a sergeant needs it at 3 a.m., in a real browser: cues that stay, flags that show.

The server refreshes the board every second here (HOTLINE_BOARD_POLL_SECONDS=1, conftest.py), so
15 seconds on the wall clock are 15 real refreshes, three times what the 5-second default does.
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models import AuditEntry, Dispatch, Officer
from tests.browser.test_board import seed_open_request, sign_in, text_hotline
from tests.dashboard_support import PLACE, RIDE, add_accounts, add_roster

pytestmark = pytest.mark.browser

#: A ride request whose participant answers yes to weapons and not sure to a warrant.
ARMED_RIDE = [*RIDE[:5], "yes", "not sure", *RIDE[7:]]
OTHER = "+18165550177"


def until(page, expression: str, seconds: float = 15) -> None:
    """Wait until a page expression is true (polled from here: the CSP forbids eval in the page)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"never true: {expression}"
        page.wait_for_timeout(200)


def new_ref(rt) -> str:
    with rt.db.reading() as session:
        return session.exec(select(Dispatch.ref).order_by(Dispatch.id.desc())).first()


def test_new_request_banner_stays_until_acknowledged_and_the_row_flags_weapons(server, page):
    rt = server.rt
    add_accounts(rt)
    add_roster(rt)
    seed_open_request(rt, status="accepted", minutes_ago=23, officer="Ofc. Okafor")
    seed_open_request(rt, status="no_officer", minutes_ago=9)
    sign_in(page, server, "rivera")
    page.wait_for_selector("#board")
    assert page.locator("#new-banner").is_hidden()

    for body in ARMED_RIDE:
        text_hotline(server, body)
    ref = new_ref(rt)
    row = page.locator(f'#rows tr[data-ref="{ref}"]')
    row.wait_for()
    assert page.locator("#new-text").inner_text() == f"New request: {ref}"
    flags = row.locator(".flag")
    assert flags.all_inner_texts() == ["Weapons: yes", "Warrant: not sure"]
    assert "flagged" in row.get_attribute("class")
    weapons = row.locator(".flag.weapons")
    assert weapons.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(179, 38, 30)", "a red flag"
    assert row.locator(".lang").inner_text() == "English"

    first_update = page.locator("#updated").inner_text()
    time.sleep(15)
    assert page.locator("#updated").inner_text() != first_update, "the board kept refreshing"
    assert page.locator("#new-banner").is_visible(), "still there 15 s (15 refreshes) later"
    assert page.locator("#new-text").inner_text() == f"New request: {ref}"
    page.reload()
    page.wait_for_selector("#board")
    assert page.locator("#new-banner").is_visible(), "a reload does not lose it either"
    text_hotline(server, "I want to kill myself", sender=OTHER)  # for the picture: a danger alert too
    page.wait_for_selector("#danger-banner:not([hidden])")
    page.screenshot(path=str(server.shots / "board.png"), full_page=True)

    page.click("#new-ack")
    assert page.locator("#new-banner").is_hidden()
    page.wait_for_timeout(2500)
    assert page.locator("#new-banner").is_hidden(), "acknowledged stays acknowledged"
    assert row.locator(".flag.weapons").is_visible()


def test_danger_words_reach_the_board_as_a_banner_a_row_flag_and_an_alert(server, page):
    rt = server.rt
    add_accounts(rt)
    add_roster(rt)
    sign_in(page, server, "rivera")
    page.wait_for_selector("#board")
    for body in RIDE:
        text_hotline(server, body)
    ref = new_ref(rt)
    page.locator(f'#rows tr[data-ref="{ref}"]').wait_for()
    page.click("#new-ack")

    text_hotline(server, "he's not breathing")  # on the open request
    text_hotline(server, "I want to kill myself", sender=OTHER)  # nobody's request
    page.wait_for_selector("#danger-banner:not([hidden])")
    until(page, "document.querySelectorAll('#alert-list li.danger').length >= 2")
    banner = page.locator("#danger-text").inner_text()
    assert "Emergency" in banner and "Suicidal words" in banner
    row = page.locator(f'#rows tr[data-ref="{ref}"]')
    assert row.locator(".flag.alert").inner_text() == "Emergency"
    board_text = page.locator("main").inner_text()
    assert "5550142" not in board_text and "5550177" not in board_text and PLACE not in board_text
    assert "not breathing" not in board_text and "kill" not in board_text, (
        "what they wrote stays off the board"
    )
    time.sleep(3)
    assert page.locator("#danger-banner").is_visible(), "it stays until acknowledged"
    page.click("#danger-ack")
    assert page.locator("#danger-banner").is_hidden()
    assert page.locator("#alert-list li.danger").count() >= 2, "the list keeps them"


def test_a_lost_connection_is_loud_and_says_when_the_board_last_updated(server, page):
    add_accounts(server.rt)
    sign_in(page, server, "rivera")
    page.wait_for_selector("#board")
    until(page, "document.getElementById('updated').textContent.startsWith('Updated ')")
    page.route("**/dashboard/board.json", lambda route: route.abort())
    page.wait_for_selector("#offline-banner:not([hidden])")
    text = page.locator("#offline-banner").inner_text()
    assert "The board cannot update" in text and "Last good update:" in text
    assert page.title().startswith("NO CONNECTION")
    size = page.locator("#offline-banner").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 17, "larger than the page's text"
    page.unroute("**/dashboard/board.json")
    page.wait_for_selector("#offline-banner", state="hidden")


def test_the_sound_turns_on_with_a_click_and_the_tone_plays_for_a_new_request(server, page):
    add_accounts(server.rt)
    add_roster(server.rt)
    page.add_init_script(
        """
        window.__tones = [];
        const start = OscillatorNode.prototype.start;
        OscillatorNode.prototype.start = function (...args) {
          window.__tones.push(this.frequency.value);
          return start.apply(this, args);
        };
        """
    )
    sign_in(page, server, "rivera")
    page.wait_for_selector("#board")
    page.click("#sound")
    assert page.locator("#sound").get_attribute("aria-pressed") == "true"
    for body in RIDE:
        text_hotline(server, body)
    page.wait_for_selector("#new-banner:not([hidden])")
    until(page, "window.__tones.includes(880)")
    page.route("**/dashboard/board.json", lambda route: route.abort())
    until(page, "window.__tones.includes(300)")  # a lost connection sounds too


def test_sergeant_puts_an_officer_off_and_on_duty_from_the_board_and_it_is_audited(server, page):
    rt = server.rt
    add_accounts(rt)
    ids = add_roster(rt)
    chen = ids["Ofc. Chen"]
    sign_in(page, server, "rivera")
    entry = page.locator(f'#people li[data-officer="{chen}"]')
    assert "on duty" in entry.locator("[data-status]").inner_text()
    entry.locator("button").click()
    page.wait_for_selector(".flash:has-text('Ofc. Chen is now off duty')")
    assert entry.locator("[data-status]").inner_text() == "off duty"
    assert "Ofc. Chen" not in page.locator("#on-duty").inner_text()
    with rt.db.reading() as session:
        assert session.get(Officer, chen).on_duty is False
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "roster.duty")).one()
        assert (audit.actor, audit.target, audit.detail) == ("user:rivera", f"officer:{chen}", "off")
    entry.locator("button").click()
    page.wait_for_selector(".flash:has-text('Ofc. Chen is now on duty')")
    with rt.db.reading() as session:
        assert session.get(Officer, chen).on_duty is True

    with rt.db.unit_of_work() as session:  # Smith texts OFF: the panel follows without a reload
        session.get(Officer, ids["Ofc. Smith"]).on_duty = False
        session.commit()
    smith = page.locator(f'#people li[data-officer="{ids["Ofc. Smith"]}"]')
    until(
        page,
        f"document.querySelector('#people li[data-officer=\"{ids['Ofc. Smith']}\"] button')"
        ".textContent.startsWith('Put on duty')",
    )
    assert smith.locator("[data-status]").inner_text() == "off duty"


def test_request_page_names_the_offer_its_deadline_the_timeline_in_words_and_confirms_a_cancel(server, page):
    rt = server.rt
    add_accounts(rt)
    add_roster(rt)
    for body in ARMED_RIDE:
        text_hotline(server, body)
    ref = new_ref(rt)
    sign_in(page, server, "rivera")
    page.goto(f"{server.url}/dashboard/dispatch/{ref}")
    officer = page.locator("#officer").inner_text()
    assert officer.startswith("offered to Ofc. "), officer
    assert page.locator("#offer-deadline").inner_text()[:4].isdigit()
    zone = datetime.now(ZoneInfo(rt.program.timezone)).strftime("%Z")
    assert page.locator("#offer-deadline").inner_text().split(";")[0].endswith(zone), "in the program's zone"
    assert page.locator("#weapons .flag.weapons").inner_text() == "yes"
    assert page.locator("#flags .flag").all_inner_texts() == ["Weapons: yes", "Warrant: not sure"]
    timeline = page.locator("#timeline").inner_text()
    assert "The participant asked for this ride." in timeline and "Offered to Ofc. " in timeline
    for code in ("requested", "offered\n", "offer_expired", "officer:", "system"):
        assert code not in timeline
    options = page.locator("select[name=officer_id] option").all_inner_texts()
    assert any(o.endswith("on duty, offered " + ref) for o in options), options
    assert any(o.endswith("on duty, free") for o in options), options

    assert page.locator("#cancel-text").is_hidden(), "Cancel is not one click"
    page.click("#cancel summary")
    told = rt.catalog.render("status.cancelled", "en", {"ref": ref})
    assert page.locator("#cancel-text").inner_text() == told
    page.screenshot(path=str(server.shots / "request.png"), full_page=True)
    page.click(f"button:has-text('Yes, cancel {ref}')")
    page.wait_for_selector(".flash:has-text('cancelled')")
    with rt.db.reading() as session:
        assert session.exec(select(Dispatch.status).where(Dispatch.ref == ref)).one() == "cancelled"
    assert "rivera cancelled it." in page.locator("#timeline").inner_text()
