"""The `hotline` command, as an operator types it."""

import pytest
from click.testing import CliRunner

from hotline import cli
from tests.support import hotline_config


@pytest.fixture
def env(empty_database_url, tmp_path, monkeypatch):
    """Run commands against an empty database with production-shaped settings."""
    for name, value in hotline_config(empty_database_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return empty_database_url


def run(*args, input=None):
    return CliRunner().invoke(cli.main, list(args), input=input, catch_exceptions=False)


def test_every_command_has_help():
    for command in (
        ["--help"],
        ["db", "upgrade", "--help"],
        ["officers", "add", "--help"],
        ["worker", "--help"],
    ):
        result = run(*command)
        assert result.exit_code == 0 and "Usage" in result.output


def test_roster_commands(env):
    assert run("db", "upgrade").exit_code == 0
    result = run("officers", "add", "--name", "Ofc. Chen", "--phone", "+18165550101")
    assert result.exit_code == 0, result.output
    assert (
        run("officers", "add", "--name", "Sgt. Rivera", "--phone", "+18165550100", "--sergeant").exit_code
        == 0
    )
    assert run("officers", "on", "+18165550101").exit_code == 0
    listing = run("officers", "list").output
    assert "Ofc. Chen" in listing and "on duty" in listing and "sergeant" in listing
    assert "5550101" not in listing, "numbers stay hidden"


def test_roster_refuses_bad_numbers_and_duplicates(env):
    run("db", "upgrade")
    bad = run("officers", "add", "--name", "X", "--phone", "555-0101")
    assert bad.exit_code != 0 and "E.164" in bad.output
    run("officers", "add", "--name", "Ofc. Chen", "--phone", "+18165550101")
    again = run("officers", "add", "--name", "Other", "--phone", "+1 816 555 0101")
    assert again.exit_code != 0 and "already" in again.output
    assert run("officers", "on", "+18165550999").exit_code != 0


def test_missing_production_setting_exits_non_zero_naming_it(monkeypatch, tmp_path):
    for name in ("HOTLINE_SECRET_KEY", "TWILIO_AUTH_TOKEN", "HOTLINE_PUBLIC_URL", "HOTLINE_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    result = run("officers", "list")
    assert result.exit_code != 0 and "HOTLINE_SECRET_KEY" in result.output


def test_keys_generate_prints_a_usable_key():
    from cryptography.fernet import Fernet

    key = run("keys", "generate").output.strip()
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"x")) == b"x"


def test_flows_diagram_is_mermaid():
    output = run("flows", "diagram").output
    assert output.startswith("stateDiagram-v2")
    assert "welcome" in output


def test_simulate_holds_a_conversation_in_process(env):
    run("db", "upgrade")
    result = run("simulate", "--from", "+18165550177", input="hi\nHELP\n")
    assert result.exit_code == 0, result.output
    answers = result.output.split("hotline> ")[1:]
    assert len(answers) >= 2
    assert "Reply STOP to opt out" in answers[-1], "HELP is answered with the help text"
    assert "5550177" not in "".join(answers)


def test_outbox_shows_queued_texts(env):
    run("db", "upgrade")
    run("officers", "add", "--name", "Sgt. Rivera", "--phone", "+18165550100", "--sergeant")
    run("simulate", input="overdose\n")
    output = run("outbox").output
    assert "Sgt. Rivera" in output and "[alert]" in output and "911" in output
