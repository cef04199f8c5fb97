"""Every dashboard page at desk size and at phone size (390 x 844): nothing scrolls sideways,
axe-core finds no serious or critical violation, a skip link comes first, and the keyboard reaches
every control.
"""

from __future__ import annotations

import pytest

from models.clock import utcnow
from tests.browser.conftest import PHONE
from tests.browser.test_board import seed_history, seed_open_request, sign_in, text_hotline
from tests.browser.test_board_at_night import ARMED_RIDE, new_ref
from tests.dashboard_support import add_accounts, add_roster

pytestmark = pytest.mark.browser

SERGEANT_PAGES = [
    "/dashboard/board",
    "/dashboard/dispatch/{ref}",
    "/dashboard/dispatch/{closed}",
    "/dashboard/flow",
]
ADMIN_PAGES = [
    "/dashboard/reports",
    "/dashboard/roster",
    "/dashboard/users",
    "/dashboard/audit",
    "/dashboard/flow",
]
#: What a keyboard must reach: every visible control.
CONTROLS = "a[href], button, select, textarea, input:not([type=hidden]), summary, [tabindex='0']"


def seed(server, *, ride: bool = True) -> dict[str, str]:
    """A shift in progress: flagged, unanswered and accepted requests, a closed one, some history."""
    rt = server.rt
    add_accounts(rt)
    add_roster(rt)
    seed_history(rt, utcnow())
    ref = ""
    if ride:
        for body in ARMED_RIDE:
            text_hotline(server, body)
        ref = new_ref(rt)
    seed_open_request(rt, status="accepted", minutes_ago=23, officer="Ofc. Okafor")
    seed_open_request(rt, status="no_officer", minutes_ago=9)
    closed = seed_open_request(rt, status="completed", minutes_ago=90, officer="Ofc. Smith")
    return {"ref": ref, "closed": closed}


def axe_problems(page, axe: str) -> list[str]:
    """Run axe-core on the page; return its serious and critical violations, one line each."""
    page.evaluate(axe)  # through the debugging protocol: the page's CSP allows no inline script
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def keyboard_misses(page) -> list[str]:
    """Tab through the page; return the visible controls the keyboard never reached."""
    page.evaluate(
        f"""() => document.querySelectorAll("{CONTROLS}").forEach((e, i) => e.dataset.kbd = String(i))"""
    )
    reached = set()
    page.locator("body").focus()
    for _ in range(400):
        page.keyboard.press("Tab")
        mark = page.evaluate("() => document.activeElement && document.activeElement.dataset.kbd")
        if mark in reached:
            break
        if mark is not None:
            reached.add(mark)
    return page.evaluate(
        """(reached) => {
          // A control inside a closed <details> shows (and is reached) once its summary opens it.
          const folded = (e) => {
            const d = e.closest('details:not([open])');
            return d !== null && e !== d.querySelector(':scope > summary');
          };
          return Array.from(document.querySelectorAll('[data-kbd]'))
            .filter((e) => !reached.includes(e.dataset.kbd) && e.getClientRects().length
                     && getComputedStyle(e).visibility !== 'hidden' && !folded(e))
            .map((e) => e.outerHTML.slice(0, 90));
        }""",
        sorted(reached),
    )


def check(page, path: str, axe: str, width: int) -> list[str]:
    """Return what is wrong with one page at one size."""
    problems = []
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    if scroll > width:
        problems.append(f"{path}: {scroll} px wide at {width} px")
    problems += [f"{path} at {width} px: {p}" for p in axe_problems(page, axe)]
    first = page.evaluate("() => document.querySelector('body a, body button').className")
    if first != "skip":
        problems.append(f"{path}: the first control is not the skip link")
    problems += [f"{path} at {width} px: keyboard never reaches {m}" for m in keyboard_misses(page)]
    return problems


@pytest.mark.parametrize("size", ["desk", "phone"])
def test_every_dashboard_page_fits_passes_axe_and_works_by_keyboard(server, browser, axe, size, tmp_path):
    refs = seed(server)
    viewport = PHONE if size == "phone" else {"width": 1280, "height": 860}
    extra = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2} if size == "phone" else {}
    context = browser.new_context(viewport=viewport, **extra)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = []
    page.goto(server.url + "/dashboard/login")
    problems += check(page, "/dashboard/login", axe, viewport["width"])
    for username, pages in (("rivera", SERGEANT_PAGES), ("adams", ADMIN_PAGES)):
        sign_in(page, server, username)
        page.wait_for_selector("nav")
        for path in pages:
            page.goto(server.url + path.format(**refs))
            problems += check(page, path, axe, viewport["width"])
            name = path.format(**refs).strip("/").replace("/", "-")
            page.screenshot(path=str(tmp_path / f"{size}-{username}-{name}.png"), full_page=True)
        page.click("text=Sign out")
        page.wait_for_selector("input[name=username]")
    context.close()
    assert problems == [], "\n".join(problems)


def test_the_skip_link_is_the_first_tab_and_jumps_to_the_page(server, page):
    add_accounts(server.rt)
    sign_in(page, server, "rivera")
    page.wait_for_selector("#board")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    assert page.locator(".skip").is_visible(), "it shows when focused"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def test_phone_screenshots_of_the_board_and_a_request(server, phone):
    refs = seed(server, ride=False)
    sign_in(phone, server, "rivera")
    phone.wait_for_selector("#board")
    for body in ARMED_RIDE:
        text_hotline(server, body)
    refs["ref"] = new_ref(server.rt)
    phone.wait_for_selector(f'#rows tr[data-ref="{refs["ref"]}"]')
    phone.wait_for_selector("#new-banner:not([hidden])")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    row = phone.locator(f'#rows tr[data-ref="{refs["ref"]}"]')
    assert row.locator(".flag.weapons").is_visible() and row.locator("[data-label=Deadline]").is_visible()
    phone.screenshot(path=str(server.shots / "board-phone.png"), full_page=True)
    phone.goto(f"{server.url}/dashboard/dispatch/{refs['ref']}")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=str(server.shots / "request-phone.png"), full_page=True)
