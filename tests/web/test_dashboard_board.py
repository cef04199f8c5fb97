"""The board and a request's page in words a sergeant reads at 3 a.m.: flags, danger alerts, who is
free, the offer and its deadline, the cancel text, and an audit log and timeline without codes.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from flows import INTAKE
from hotline.web.dashboard import board_view, words
from models import AuditEntry, Dispatch, Officer
from tests.dashboard_support import PLACE, RIDE, add_accounts, add_roster, latest_ref, sign_in, token
from tests.support import PARTICIPANT

ARMED = [*RIDE[:5], "yes", "not sure", *RIDE[7:]]
OTHER = "+18165550177"
#: Codes the database keeps that staff should never have to read.
CODES = re.compile(r"dispatch\.[a-z_]+|officer:\d+|outcome:[a-z]+|user:[a-z]+|offer_expired|no_officer\b")


@pytest.fixture
def staff(rt):
    add_accounts(rt)
    return add_roster(rt)


def armed_ride(twilio, rt) -> str:
    for text in ARMED:
        twilio.text(text)
    return latest_ref(rt)


def test_board_rows_flag_weapons_warrant_and_a_spanish_speaker(client, rt, twilio, staff):
    ref = armed_ride(twilio, rt)
    for text in ["hola", "2", "si", "si", "no", "no", "no", "HQ", "si", "SI"]:
        twilio.text(text, sender=OTHER)
    spanish = latest_ref(rt)
    sign_in(client, "rivera")
    rows = {r["ref"]: r for r in client.get("/dashboard/board.json").get_json()["dispatches"]}
    assert [f["label"] for f in rows[ref]["flags"]] == ["Weapons: yes", "Warrant: not sure"]
    assert rows[ref]["language"] == "English"
    assert [f["name"] for f in rows[spanish]["flags"]] == ["language"]
    assert rows[spanish]["language"] == "Spanish"
    board = client.get("/dashboard/board").get_data(as_text=True)
    assert 'class="flag weapons">Weapons: yes' in board and 'class="flag language">Spanish' in board


def test_danger_words_reach_the_board_without_what_was_written_or_where(client, rt, twilio, staff):
    ref = armed_ride(twilio, rt)
    twilio.text("he's not breathing")  # during the request
    twilio.text("I want to kill myself", sender=OTHER)  # nobody's request
    sign_in(client, "rivera")
    data = client.get("/dashboard/board.json").get_json()
    [row] = data["dispatches"]
    assert row["ref"] == ref and {"name": "alert", "label": "Emergency"} in row["flags"]
    dangers = sorted(a["danger"] for a in data["alerts"])
    assert dangers == ["Emergency", "Suicidal words"]
    assert all(a["danger"] for a in data["alerts"]), "only danger alerts: the others can carry a place"
    body = client.get("/dashboard/board.json").get_data(as_text=True) + client.get(
        "/dashboard/board"
    ).get_data(as_text=True)
    for secret in (PLACE, "QuikTrip", "not breathing", "kill myself", PARTICIPANT[-7:], OTHER[-7:]):
        assert secret not in body, secret


def test_every_danger_text_is_recognised_and_nothing_else_is():
    from hotline.plumbing import staff

    for key, reason in board_view.DANGER_TEXTS.items():
        sample = re.sub(r"\{[a-z_]+\}", "X", staff.texts()[key])
        assert board_view.danger_of(sample) == reason, key
    for key in ("echo_place_changed", "outbox_stuck", "wrong_codes", "staff_stopped"):
        if key in staff.texts():
            assert board_view.danger_of(re.sub(r"\{[a-z_]+\}", "X", staff.texts()[key])) is None, key


def test_sergeant_puts_an_officer_off_duty_from_the_board_audited_and_admins_cannot(app, client, rt, staff):
    chen = staff["Ofc. Chen"]
    sign_in(client, "rivera")
    response = client.post(
        f"/dashboard/board/duty/{chen}", data={"csrf_token": token(client), "on_duty": "0"}
    )
    assert response.status_code == 302
    with rt.db.reading() as session:
        assert session.get(Officer, chen).on_duty is False
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "roster.duty")).one()
    assert (entry.actor, entry.target, entry.detail) == ("user:rivera", f"officer:{chen}", "off")
    people = {p["name"]: p["status"] for p in client.get("/dashboard/board.json").get_json()["people"]}
    assert people["Ofc. Chen"] == "off duty" and people["Ofc. Smith"] == "on duty, free"

    admin = app.test_client()
    sign_in(admin, "adams")
    refused = admin.post(f"/dashboard/board/duty/{chen}", data={"csrf_token": token(admin), "on_duty": "1"})
    assert refused.status_code == 403
    no_token = client.post(f"/dashboard/board/duty/{chen}", data={"on_duty": "1"})
    assert no_token.status_code == 400
    with rt.db.reading() as session:
        assert session.get(Officer, chen).on_duty is False


def test_request_page_shows_the_offer_deadline_busy_officers_and_the_cancel_text(client, rt, twilio, staff):
    ref = armed_ride(twilio, rt)
    sign_in(client, "rivera")
    page = client.get(f"/dashboard/dispatch/{ref}").get_data(as_text=True)
    officer = re.search(r'id="officer">([^<]+)<', page).group(1)
    assert officer.startswith("offered to Ofc. ") and officer.endswith(", waiting for an answer")
    assert re.search(r'id="offer-deadline">\d{4}-\d\d-\d\d \d\d:\d\d C[SD]T;', page)
    assert re.search(rf">Ofc\. \w+: on duty, offered {ref}</option>", page)
    assert ">Ofc. Okafor: on duty, free</option>" in page or ">Ofc. Smith: on duty, free</option>" in page
    told = rt.catalog.render("status.cancelled", "en", {"ref": ref})
    assert f'<blockquote id="cancel-text">{told}</blockquote>' in page.replace("&#39;", "'")
    assert '<details class="confirm" id="cancel">' in page, "Cancel opens a confirmation first"


def test_a_spanish_speakers_cancel_text_is_shown_in_english_too(client, rt, twilio, staff):
    ref = armed_ride(twilio, rt)
    with rt.db.unit_of_work() as session:
        item = session.exec(select(Dispatch).where(Dispatch.ref == ref)).one()
        item.language = "es"
        session.add(item)
        session.commit()
    sign_in(client, "rivera")
    page = client.get(f"/dashboard/dispatch/{ref}").get_data(as_text=True).replace("&#39;", "'")
    spanish = rt.catalog.render("status.cancelled", "es", {"ref": ref})
    english = rt.catalog.render("status.cancelled", "en", {"ref": ref})
    assert f'<blockquote id="cancel-text">{spanish}</blockquote>' in page
    assert f"In English: &ldquo;{english}&rdquo;" in page, "the sergeant reads what it says"


def test_without_consent_the_cancel_confirmation_says_nobody_is_texted(client, rt, twilio, staff):
    for text in [*RIDE[:-2], "no", "YES"]:
        twilio.text(text)
    ref = latest_ref(rt)
    sign_in(client, "rivera")
    page = client.get(f"/dashboard/dispatch/{ref}").get_data(as_text=True)
    assert "cancel-text" not in page and "The participant is <strong>not</strong> texted" in page


def test_timeline_and_audit_log_read_as_sentences_with_names(app, client, rt, twilio, staff):
    ref = armed_ride(twilio, rt)
    sign_in(client, "rivera")
    csrf = token(client)
    client.get(f"/dashboard/dispatch/{ref}")
    client.post(
        f"/dashboard/dispatch/{ref}/assign", data={"csrf_token": csrf, "officer_id": staff["Ofc. Smith"]}
    )
    client.post(f"/dashboard/dispatch/{ref}/close", data={"csrf_token": csrf, "outcome": "out"})
    page = client.get(f"/dashboard/dispatch/{ref}").get_data(as_text=True)
    timeline = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', page, re.S).group(1)
    for sentence in (
        "The participant asked for this ride.",
        "Offered to Ofc. ",
        "rivera assigned it to Ofc. Smith.",
        "rivera closed it as completed.",
    ):
        assert sentence in timeline, sentence
    assert not CODES.search(timeline), CODES.search(timeline)

    admin = app.test_client()
    sign_in(admin, "adams")
    log = admin.get("/dashboard/audit").get_data(as_text=True)
    table = re.search(r"<tbody>(.*?)</tbody>", log, re.S).group(1)
    visible = re.sub(r'data-code="[^"]*"', "", table)
    for sentence in (
        f"Looked at the meeting place of request {ref}.",
        f"Assigned request {ref} to Ofc. Smith.",
        f"Closed request {ref} as completed: outpatient.",
    ):
        assert sentence in visible, sentence
    assert not CODES.search(visible), CODES.search(visible)


def test_every_audit_action_and_timeline_step_has_a_sentence():
    import pathlib

    source = "\n".join(p.read_text() for p in pathlib.Path("hotline").rglob("*.py"))
    actions = set(re.findall(r'record\(session, (?:actor\(\)|"cli"), f?"([a-z_.]+)', source))
    actions |= {
        "login",
        "login_wrong",
        "login_locked",
        "login_inactive",
        "roster.activate",
        "roster.deactivate",
    }
    actions |= {f"dispatch.{s}" for s in ("completed", "cancelled")}
    actions.discard("dispatch.")
    assert actions - set(words.AUDIT) == set()
    steps = set(re.findall(r'record\(session, (?:dispatch|request|found), "([a-z_]+)"', source))
    steps |= {"completed", "cancelled", "call_ended", "call_unanswered"}
    steps |= {f"alert_{r}" for r in ("emergency", "suicide", "unsafe")}
    assert steps - set(words.TIMELINE) == set()


def test_flow_page_says_in_words_what_the_participant_is_asked(client, rt, staff):
    sign_in(client, "rivera")
    page = client.get("/dashboard/flow").get_data(as_text=True).replace("&#39;", "'")
    assert 'id="in-words"' in page and 'id="diagram"' in page, "the words beside the developer's diagram"
    for state in INTAKE.states:
        assert f'id="step-{state}"' in page
    assert rt.catalog.render("ask_weapons", "en") in page
    assert "Any weapons with you?" in page
    words_part = page[page.index('id="in-words"') : page.index('id="diagram"')]
    assert "receive [" not in words_part and "is_yes" not in words_part
