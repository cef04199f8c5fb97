"""docs/privacy.md is what the program publishes: its promises name tests, its figures are the code's."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from hotline import cli, create_app
from hotline.plumbing import jobs
from hotline.plumbing.runtime import runtime
from tests.support import REPO, Twilio, hotline_config

PRIVACY = REPO / "docs" / "privacy.md"
PROMISE = re.compile(r"\*\*\((P\d+)\)")


def promises() -> list[str]:
    return PROMISE.findall(PRIVACY.read_text(encoding="utf-8"))


def referenced() -> set[str]:
    """Return the promises named by a test ("privacy.md P3", "privacy.md P1, P2 and P5")."""
    found = set()
    for path in (REPO / "tests").rglob("test_*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "privacy.md" in line:
                found |= set(re.findall(r"\bP\d+\b", line.split("privacy.md", 1)[1]))
    return found


def test_every_promise_is_held_by_a_test():
    assert promises() == [f"P{n}" for n in range(1, len(promises()) + 1)], "numbered in order, none twice"
    missing = set(promises()) - referenced()
    assert not missing, f"no test names privacy.md {sorted(missing)}"


def test_the_periods_it_states_are_the_program_files(rt):
    text = PRIVACY.read_text(encoding="utf-8")
    assert f"**{rt.program.message_days} days**" in text
    assert f"kept encrypted for {rt.program.message_days} days" in text
    assert rt.program.inbound_log_days <= rt.program.message_days, "replies never outlive messages"
    from hotline.services import retention

    assert retention.PURGE_EVERY.total_seconds() == 3600 and "every hour" in text


@pytest.mark.parametrize(
    "word", ["PRIVACY", "PRIVACIDAD", "DELETE", "BORRAR", "hotline purge", "keys rotate"]
)
def test_it_names_the_words_and_commands_that_exist(word):
    assert word in PRIVACY.read_text(encoding="utf-8")
    if word.isupper():
        from flows.intents import read_command

        assert read_command(word)[0] in ("privacy", "delete")


def test_no_command_shows_a_participants_number(database_url, monkeypatch, tmp_path):
    """privacy.md P6: the hotline has no way to export who texted (nor P2: staff never see the number)."""
    number = "+18165557888"
    config = hotline_config(database_url, HOTLINE_TRANSPORT="local")
    for name, value in config.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    app = create_app(config, environ={})
    rt = runtime(app)
    rt.db.create_all()
    try:
        run = CliRunner().invoke
        assert run(cli.main, ["officers", "add", "--name", "Sgt. R", "--phone", "+18165550100", "--sergeant"])
        twilio = Twilio(app.test_client())
        for body in ("hi", "2", "yes", "yes", "yes", "no", "not sure", "HQ", "yes", "yes"):
            twilio.text(body, sender=number)
        jobs.run_once(rt)
        shown = "".join(run(cli.main, args).output for args in (["outbox"], ["officers", "list"]))
    finally:
        rt.db.dispose()
    assert "SAFE PASSAGE" in shown, "the commands showed the traffic"
    assert "5557888" not in shown and "555-7888" not in shown
