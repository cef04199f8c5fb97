"""The phone simulator in a real browser: a participant asks for a ride, an officer accepts it."""

from __future__ import annotations

import re

import pytest

from tests.dashboard_support import RIDE, add_roster

pytestmark = pytest.mark.browser


def send(phone, text: str) -> None:
    phone.locator("form.compose input[name=body]").fill(text)
    phone.locator("form.compose input[name=body]").press("Enter")


def test_participant_texts_an_officer_accepts_and_the_participant_sees_on_the_way(dev_server, page):
    add_roster(dev_server.rt)
    page.goto(dev_server.url + "/simulator")
    participant = page.locator('.phone[data-phone="participant"]')
    for text in RIDE:
        bubbles = participant.locator(".bubble.in").count()
        send(participant, text)
        # One message at a time, as a person would: wait for the hotline's answer first.
        participant.locator(".bubble.in").nth(bubbles).wait_for()
    participant.locator(".bubble.in", has_text="Request sent").wait_for()

    offer = page.locator('.phone[data-phone="officer"] .bubble.in', has_text="ACCEPT").first
    offer.wait_for()
    code = re.search(r"ACCEPT (\d{4})", offer.inner_text()).group(1)
    officer = page.locator('.phone[data-phone="officer"]').filter(
        has=page.locator(".bubble.in", has_text="ACCEPT")
    )
    send(officer, f"ACCEPT {code}")

    participant.locator(".bubble.in", has_text=re.compile("said yes and is on the way")).wait_for()
    page.screenshot(path=str(dev_server.shots / "simulator.png"), full_page=True)
    assert "+18165550101" not in page.locator("main").inner_text(), "staff numbers stay hidden"


def test_participant_calls_and_uses_the_keypad(dev_server, page):
    page.goto(dev_server.url + "/simulator")
    participant = page.locator('.phone[data-phone="participant"]')
    participant.locator("button.call").click()
    participant.locator(".bubble.call", has_text="911").first.wait_for()
    keypad = participant.locator(".keypad")
    keypad.wait_for()
    heard = participant.locator(".bubble.call").count()
    keypad.locator('button[data-key="1"]').click()
    participant.locator(".bubble.call").nth(heard).wait_for()  # what the next menu says
    participant.locator("button.hangup").click()
    participant.locator(".bubble.call", has_text="(call ended)").wait_for()
