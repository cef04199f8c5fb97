"""`hotline twilio configure` and `hotline doctor` against Prism serving Twilio's API description."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hotline import cli
from tests.support import hotline_config

pytestmark = pytest.mark.contract

ACCOUNT = "AC" + "0123456789abcdef" * 2
# The number Prism's example IncomingPhoneNumbers answer lists (its webhooks are all empty).
EXAMPLE_NUMBER = "+18089255327"


@pytest.fixture
def env(prism_url, empty_database_url, tmp_path, monkeypatch):
    settings = hotline_config(
        empty_database_url,
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_PHONE_NUMBER=EXAMPLE_NUMBER,
        TWILIO_API_BASE_URL=prism_url,
        HOTLINE_TRANSPORT="twilio",
    )
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(cli.main, ["db", "upgrade"]).exit_code == 0


def run(*args):
    return CliRunner().invoke(cli.main, list(args), catch_exceptions=False)


def test_configure_sets_every_webhook_through_the_rest_api(env):
    result = run("twilio", "configure")
    assert result.exit_code == 0, result.output
    for line in (
        "sms_url: (none) -> https://hotline.example.org/twilio/sms",
        "sms_fallback_url: (none) -> https://hotline.example.org/twilio/fallback/sms",
        "voice_url: (none) -> https://hotline.example.org/twilio/voice",
        "voice_fallback_url: (none) -> https://hotline.example.org/twilio/fallback/voice",
        "status_callback: (none) -> https://hotline.example.org/twilio/status",
    ):
        assert line in result.output
    assert "5 setting(s) changed." in result.output


def test_configure_names_a_number_the_account_does_not_have(env, monkeypatch):
    monkeypatch.setenv("TWILIO_PHONE_NUMBER", "+18165550000")
    result = run("twilio", "configure")
    assert result.exit_code != 0
    assert "TWILIO_PHONE_NUMBER is not a number of this Twilio account" in result.output


def test_doctor_names_each_problem_and_fails(env):
    result = run("doctor")
    assert result.exit_code == 1
    output = result.output
    assert "ok   twilio account: status active" in output
    assert "FAIL twilio webhooks: sms_url is ''" in output and "hotline twilio configure" in output
    assert "ok   database:" in output and "ok   migrations:" in output
    assert "FAIL program file:" in output and "reviewed = true" in output
    assert "FAIL public url:" in output
