"""`hotline doctor` names every problem of a deployment and how to fix it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from hotline import cli
from hotline.plumbing import doctor, outbox, provisioning
from hotline.plumbing.transport import NumberSettings
from hotline.services import roster
from models.clock import utcnow
from tests.support import REPO, hotline_config


class FakeTwilioApi:
    """A Twilio account with one number, as the REST API would describe it."""

    def __init__(self, number: NumberSettings | None, status: str = "active"):
        self.number, self.status, self.updates = number, status, []

    def account_status(self):
        return self.status

    def find_number(self, phone):
        return self.number if self.number and self.number.phone_number == phone else None

    def configure_number(self, sid, urls):
        self.updates.append(dict(urls))
        self.number = NumberSettings(**{**self.number.__dict__, **urls})


def names(findings, ok):
    return {f.name for f in findings if f.ok is ok}


@pytest.fixture
def api(rt, monkeypatch):
    fake = FakeTwilioApi(NumberSettings(sid="PN" + "a" * 32, phone_number=rt.config["TWILIO_PHONE_NUMBER"]))
    monkeypatch.setattr(provisioning, "twilio_api", lambda _rt: fake)
    return fake


def healthy(url):
    return 200, json.dumps({"status": "ok"})


def test_configure_is_idempotent(rt, api):
    first = provisioning.configure(rt)
    assert {c.setting for c in first} == set(provisioning.ROUTES)
    assert provisioning.configure(rt) == []
    assert len(api.updates) == 1


def test_configure_doctor_and_the_app_agree_on_every_webhook(app, rt, api):
    """What `twilio configure` sets is what `doctor` checks, and each is a route the app answers."""
    posted = {rule.rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())}
    older = {path for paths in provisioning.OLDER_ROUTES.values() for path in paths}
    assert set(provisioning.ROUTES.values()) | older <= posted
    provisioning.configure(rt)
    assert api.number.status_callback == rt.public_url("/twilio/status")
    (webhooks,) = [f for f in doctor.examine(rt, get=healthy) if f.name == "twilio webhooks"]
    assert webhooks.ok and webhooks.detail == "webhooks point here"


def test_a_number_set_by_hand_to_the_older_status_path_passes_and_is_moved(rt, api):
    provisioning.configure(rt)
    api.number = NumberSettings(
        **{**api.number.__dict__, "status_callback": rt.public_url("/twilio/voice/status")}
    )
    (webhooks,) = [f for f in doctor.examine(rt, get=healthy) if f.name == "twilio webhooks"]
    assert webhooks.ok and "/twilio/voice/status, still answered" in webhooks.detail
    assert [c.setting for c in provisioning.configure(rt)] == ["status_callback"]
    assert api.number.status_callback == rt.public_url("/twilio/status")


def test_a_status_callback_elsewhere_fails_the_doctor(rt, api):
    provisioning.configure(rt)
    api.number = NumberSettings(
        **{**api.number.__dict__, "status_callback": "https://old.example.org/status"}
    )
    (webhooks,) = [f for f in doctor.examine(rt, get=healthy) if f.name == "twilio webhooks"]
    assert not webhooks.ok and "status_callback is 'https://old.example.org/status'" in webhooks.detail


@pytest.mark.parametrize("doc", ["README.md", "docs/voice.md", "docs/deploy.md"])
def test_the_docs_give_the_status_path_that_configure_sets(doc):
    text = (REPO / doc).read_text()
    told = [line for line in text.splitlines() if "Call status changes" in line]
    assert told, f"{doc} names the number's call status setting"
    for line in told:
        assert provisioning.ROUTES["status_callback"] in line and "/twilio/voice/status" not in line, line


def test_a_configured_deployment_only_lacks_what_needs_review(rt, api, monkeypatch):
    provisioning.configure(rt)
    rt.config["HOTLINE_TRANSPORT"] = "twilio"
    from hotline.plumbing import migrations

    monkeypatch.setattr(migrations, "current", migrations.head)
    findings = doctor.examine(rt, get=healthy)
    assert names(findings, False) == {"program file"}, [f.line() for f in findings if not f.ok]


def test_each_broken_part_is_named(rt, api, monkeypatch):
    api.status = "suspended"
    with rt.db.unit_of_work() as session:
        roster.add_officer(session, rt, name="Ofc. Chen", phone="+18165550101")
        outbox.enqueue(
            session,
            rt,
            to="+18165550101",
            body="x",
            audience="staff",
            purpose="alert",
            due_at=utcnow() - timedelta(hours=1),
        )
        session.commit()
    findings = doctor.examine(rt, get=lambda url: (502, ""))
    failed = names(findings, False)
    assert {"twilio account", "twilio webhooks", "public url", "outbox", "transport", "migrations"} <= failed
    assert all(f.fix for f in findings if not f.ok), "every problem says how to fix it"


def test_unreadable_sealed_numbers_point_at_a_missing_key(rt, api):
    with rt.db.unit_of_work() as session:
        officer = roster.add_officer(session, rt, name="Ofc. Chen", phone="+18165550101")
        officer.phone_sealed = "gAAAA-sealed-with-a-key-that-is-gone"
        session.commit()
    finding = next(f for f in doctor.examine(rt, get=healthy) if f.name == "encryption keys")
    assert not finding.ok and "0 of 1" in finding.detail


def test_plain_http_public_url_is_refused(rt, api):
    rt.config["HOTLINE_PUBLIC_URL"] = "http://hotline.example.org"
    finding = next(f for f in doctor.examine(rt, get=healthy) if f.name == "public url")
    assert not finding.ok and "not HTTPS" in finding.detail


def test_doctor_command_fails_naming_missing_settings(monkeypatch, tmp_path):
    for name in ("HOTLINE_SECRET_KEY", "TWILIO_AUTH_TOKEN", "HOTLINE_PUBLIC_URL", "HOTLINE_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["doctor"])
    assert result.exit_code == 1
    assert "FAIL settings" in result.output and "HOTLINE_SECRET_KEY" in result.output


def test_doctor_command_exit_code_follows_the_findings(empty_database_url, monkeypatch, tmp_path):
    for name, value in hotline_config(empty_database_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli.main, ["doctor"])
    assert result.exit_code == 1
    assert "FAIL migrations" in result.output and "hotline db upgrade" in result.output


# -- the staff number ------------------------------------------------------------------------------

STAFF_LINE = "+18165550199"


class TwoNumbers(FakeTwilioApi):
    """A Twilio account with the hotline number and, maybe, the staff number."""

    def __init__(self, *numbers: NumberSettings):
        super().__init__(None)
        self.numbers = {number.sid: number for number in numbers}
        self.updated: list[str] = []

    def find_number(self, phone):
        return next((n for n in self.numbers.values() if n.phone_number == phone), None)

    def configure_number(self, sid, urls):
        self.updated.append(sid)
        self.numbers[sid] = NumberSettings(**{**self.numbers[sid].__dict__, **urls})


@pytest.fixture
def staff_api(rt, monkeypatch):
    rt.config["TWILIO_STAFF_NUMBER"] = STAFF_LINE
    fake = TwoNumbers(
        NumberSettings(sid="PN" + "a" * 32, phone_number=rt.config["TWILIO_PHONE_NUMBER"]),
        NumberSettings(sid="PN" + "b" * 32, phone_number=STAFF_LINE),
    )
    monkeypatch.setattr(provisioning, "twilio_api", lambda _rt: fake)
    return fake


def by_name(findings) -> dict:
    return {f.name: f for f in findings}


def test_configure_points_both_numbers_here(rt, staff_api):
    changes = provisioning.configure(rt)

    assert {(c.number, c.setting) for c in changes} == {
        (number, setting)
        for number in ("TWILIO_PHONE_NUMBER", "TWILIO_STAFF_NUMBER")
        for setting in provisioning.ROUTES
    }
    wanted = provisioning.wanted_webhooks(rt)
    assert all(
        getattr(number, setting) == url
        for number in staff_api.numbers.values()
        for setting, url in wanted.items()
    )
    assert provisioning.configure(rt) == [] and len(staff_api.updated) == 2


def test_doctor_checks_the_staff_number_webhooks(rt, staff_api):
    findings = by_name(doctor.examine(rt, get=healthy))
    assert not findings["twilio staff webhooks"].ok
    assert "run `hotline twilio configure`" in findings["twilio staff webhooks"].line()

    provisioning.configure(rt)
    findings = by_name(doctor.examine(rt, get=healthy))
    assert findings["twilio staff number"].ok and findings["twilio staff webhooks"].ok
    assert findings["twilio webhooks"].ok


def test_a_staff_number_the_account_lacks_is_named_and_nothing_is_changed(rt, staff_api):
    staff_api.numbers.popitem()
    finding = by_name(doctor.examine(rt, get=healthy))["twilio staff number"]
    assert not finding.ok and "TWILIO_STAFF_NUMBER is not a number of this Twilio account" in finding.detail

    with pytest.raises(provisioning.ProvisioningError, match="TWILIO_STAFF_NUMBER"):
        provisioning.configure(rt)
    assert staff_api.updated == [], "the hotline number is left as it was too"


def test_a_staff_number_that_is_the_hotline_number_is_refused(rt, staff_api):
    rt.config["TWILIO_STAFF_NUMBER"] = rt.config["TWILIO_PHONE_NUMBER"]
    finding = by_name(doctor.examine(rt, get=healthy))["twilio staff number"]
    assert not finding.ok and "is the hotline number" in finding.detail

    with pytest.raises(provisioning.ProvisioningError, match="is the hotline number"):
        provisioning.configure(rt)


def test_without_a_staff_number_the_doctor_says_nothing_of_one(rt, api):
    assert not any("staff" in f.name for f in doctor.examine(rt, get=healthy))


def test_a_short_secret_key_is_named(rt, api):
    rt.config["HOTLINE_SECRET_KEY"] = "x" * 12
    finding = next(f for f in doctor.examine(rt, get=healthy) if f.name == "secret key")
    assert not finding.ok and "12 bytes" in finding.detail and "32" in finding.fix


def test_sqlite_files_open_to_others_are_named(tmp_path):
    import os

    from hotline import create_app
    from hotline.plumbing.runtime import runtime

    path = tmp_path / "h.sqlite3"
    app = create_app(hotline_config(f"sqlite:///{path}"), environ={})
    rt = runtime(app)
    rt.db.create_all()
    (finding,) = [f for f in doctor.examine(rt, get=healthy) if f.name == "database files"]
    assert finding.ok, finding.line()
    os.chmod(path, 0o644)
    (finding,) = [f for f in doctor.examine(rt, get=healthy) if f.name == "database files"]
    assert not finding.ok and str(path) in finding.detail and "chmod" in finding.fix
    rt.db.dispose()
