"""Error pages and the account page in a real browser, on a 390 px phone: styled, no sideways scroll."""

from __future__ import annotations

import pytest

from tests.dashboard_support import PASSWORD, add_accounts

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def fits(page) -> None:
    """Check the page is styled by the site's CSS and fits the phone's width."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    brand = page.evaluate("getComputedStyle(document.querySelector('.top')).backgroundColor")
    assert brand == "rgb(31, 78, 121)", "the site's stylesheet is applied"


def test_error_pages_fit_a_phone_and_lead_back(server, phone):
    add_accounts(server.rt)
    response = phone.goto(server.url + "/dashboard/no-such-page")
    assert response.status == 404
    fits(phone)
    assert phone.locator("h1").inner_text() == "There is nothing here"
    phone.click("text=Back to the board")
    assert phone.url.endswith("/dashboard/login")

    phone.fill("input[name=username]", "rivera")
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button[type=submit]")
    phone.wait_for_url("**/dashboard/board")
    response = phone.goto(server.url + "/dashboard/users")
    assert response.status == 403
    fits(phone)
    phone.click("text=Back to the board")
    phone.wait_for_url("**/dashboard/board")

    phone.goto(server.url + "/dashboard/account")
    fits(phone)
    assert phone.locator("input[name=current_password]").is_visible()
