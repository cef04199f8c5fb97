"""Helpers for dashboard tests: accounts, signing in with the form's CSRF token, a ride request."""

from __future__ import annotations

import re

from sqlmodel import select

from hotline.services import roster
from hotline.web.dashboard import accounts
from models import Dispatch

PASSWORD = "correct horse battery staple"
#: The texts of a whole English ride request meeting at a place (tests/flows EN_RIDE).
RIDE = ["hi", "2", "yes", "yep", "no", "no", "no", "QuikTrip, 291 & 3rd St", "yes", "YES"]
PLACE = "QuikTrip, 291 & 3rd St"


def add_accounts(rt) -> None:
    """Create a sergeant (rivera) and an admin (adams)."""
    with rt.db.unit_of_work() as session:
        accounts.add_user(session, username="rivera", role="sergeant", password=PASSWORD)
        accounts.add_user(session, username="adams", role="admin", password=PASSWORD)
        session.commit()


def add_roster(rt) -> dict[str, int]:
    """Add the demo roster (a sergeant and three officers, all on duty); return ids by name."""
    with rt.db.unit_of_work() as session:
        roster.seed_demo(session, rt)
        session.commit()
        return {o.name: o.id for o in roster.everyone(session)}


def csrf_from(html: str) -> str:
    """Return the CSRF token a page's forms carry."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    """Sign in through the form, as a browser does; return the response."""
    token = csrf_from(client.get("/dashboard/login").get_data(as_text=True))
    return client.post(
        "/dashboard/login", data={"csrf_token": token, "username": username, "password": password}
    )


def token(client) -> str:
    """Return the signed-in session's CSRF token (from any dashboard page)."""
    return csrf_from(client.get("/dashboard/flow").get_data(as_text=True))


def request_ride(twilio, sender: str) -> str:
    """Text a whole ride request through the signed webhook; return its reference."""
    for text in RIDE:
        twilio.text(text, sender=sender)
    return latest_ref(twilio_rt(twilio))


def twilio_rt(twilio):
    from hotline.plumbing.runtime import runtime

    return runtime(twilio.client.application)


def latest_ref(rt) -> str:
    """Return the reference of the newest request."""
    with rt.db.reading() as session:
        return session.exec(select(Dispatch.ref).order_by(Dispatch.id.desc())).first()
