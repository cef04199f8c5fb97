"""The phone simulator page (development only), driven the way its JavaScript drives it."""

from __future__ import annotations

import re

import pytest

from hotline import create_app
from hotline.plumbing.runtime import runtime
from tests.dashboard_support import RIDE, add_roster
from tests.support import FakeTransport, hotline_config


@pytest.fixture
def dev_app(database_url, tmp_path):
    config = hotline_config(database_url, TESTING=True, HOTLINE_ENV="development")
    app = create_app(config, transport=FakeTransport(), environ={}, instance_path=str(tmp_path / "instance"))
    runtime(app).db.create_all()
    yield app
    runtime(app).db.dispose()


def inbox(client, after=0, **who) -> tuple[list[str], int]:
    data = client.get("/simulator/inbox", query_string={**who, "after": after}).get_json()
    return [m["text"] for m in data["messages"]], data["last"]


def test_there_is_no_simulator_in_production(client):
    assert client.get("/simulator").status_code == 404
    assert client.post("/simulator/text", json={"body": "hi"}).status_code == 404


def test_a_ride_request_from_the_participant_phone_reaches_an_officer_who_accepts(dev_app):
    ids = add_roster(runtime(dev_app))
    client = dev_app.test_client()
    page = client.get("/simulator").get_data(as_text=True)
    assert "Ofc. Chen" in page and "Sgt. Rivera" in page
    assert "5550101" not in page, "staff numbers stay hidden even here"

    _, seen = inbox(client, number="+18165550199")
    replies = []
    for text in RIDE:
        answer = client.post("/simulator/text", json={"number": "+18165550199", "body": text}).get_json()
        assert answer["status"] == 200
        replies += answer["replies"]
    assert any("Request sent" in r for r in replies)

    chen = ids["Ofc. Chen"]
    offers, _ = inbox(client, officer_id=chen)
    offer = next(text for text in offers if "ACCEPT" in text)
    code = re.search(r"ACCEPT (\d{4})", offer).group(1)
    client.post("/simulator/text", json={"officer_id": chen, "body": f"ACCEPT {code}"})
    texts, _ = inbox(client, after=seen, number="+18165550199")
    assert any(re.search("said yes and is on the way", t) for t in texts), texts


def test_the_simulator_only_takes_json_and_real_numbers(dev_app):
    client = dev_app.test_client()
    assert client.post("/simulator/text", data={"body": "hi"}).status_code == 415
    assert client.post("/simulator/text", json={"number": "not a phone", "body": "hi"}).status_code == 400
    assert client.post("/simulator/text", json={"officer_id": 999, "body": "hi"}).status_code == 404


def test_a_call_from_the_participant_phone_hears_the_menu_and_can_press_keys(dev_app):
    client = dev_app.test_client()
    first = client.post("/simulator/call", json={"number": "+18165550199"}).get_json()
    assert first["say"] and "911" in " ".join(first["say"])
    assert not first["ended"] and first["action"].startswith("/twilio/voice")
    second = client.post(
        "/simulator/call",
        json={
            "number": "+18165550199",
            "call_sid": first["call_sid"],
            "action": first["action"],
            "digits": "1",
        },
    ).get_json()
    assert second["say"] and second["call_sid"] == first["call_sid"]


def test_a_call_cannot_be_pointed_outside_the_webhooks(dev_app):
    client = dev_app.test_client()
    response = client.post(
        "/simulator/call", json={"number": "+18165550199", "action": "/dashboard/users/add"}
    )
    assert response.status_code == 400
