"""`hotline call`: a call played in the terminal through the real, signed webhooks."""

import pytest
from click.testing import CliRunner

from hotline import cli, create_app
from hotline.plumbing.runtime import runtime
from hotline.services import roster
from tests.support import hotline_config


@pytest.fixture
def env(database_url, tmp_path, monkeypatch):
    """Production-shaped settings in the environment, the tables made, and a sergeant on duty."""
    for name, value in hotline_config(database_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    app = create_app(environ=None)
    rt = runtime(app)
    rt.db.create_all()
    with rt.db.unit_of_work() as session:
        roster.add_officer(
            session, rt, name="Sgt. Rivera", phone="+18165550100", sergeant=True
        ).on_duty = True
        session.commit()
    rt.db.dispose()
    return database_url


def call(*keys: str, caller: str = "+18165557777") -> str:
    result = CliRunner().invoke(cli.main, ["call", "--from", caller], input="\n".join(keys) + "\n")
    assert result.exit_code == 0, result.output
    return result.output


def test_a_call_prints_what_the_caller_hears_and_the_keys_pressed(env):
    output = call("1", "1", "3", "0")
    assert "hotline> If this is an emergency, hang up and dial 911." in output
    assert "keys> 1" in output and "Warrants, press 3." in output
    assert "A warrant is not waived. If you have one, you will be arrested on it." in output
    assert "(you hung up)" in output, "the input ran out: the caller hung up"
    assert "5557777" not in output.split("as +18165557777")[1]


def test_a_call_to_an_officer_shows_the_whisper_and_each_ring(env):
    output = call("2", "3", "no-answer", "busy")
    assert "Le comunicamos con un oficial ahora." in output
    assert "(ringing Sgt. Rivera; their phone hears: Safe Passage caller, who speaks Spanish." in output
    assert "Oprima 1 para aceptar." in output
    assert "(ringing the desk;" in output
    assert "nadie pudo contestar" in output and "oprima 2" in output and "(you hung up)" in output


def test_a_ride_by_phone_in_the_terminal(env):
    output = call("1", "2", "1", "1", "2", "2", "1", "say the QuikTrip at 291 and 3rd Street", "1", "1")
    assert "Your request is sent." in output and "(the hotline hung up)" in output


def test_a_caller_who_presses_nothing_is_put_through_to_the_desk_in_the_terminal(env):
    output = call("", "", "", "", "", "", "no-answer", "")
    assert "For how the program works, press 1." in output, "silence at the language menu: English"
    assert "Let me put you through to the desk." in output and "(ringing the desk;" in output
    assert "To ask for a call back at this number, press 1." in output
    assert "could not go on with this call" not in output


def test_danger_words_said_in_the_terminal_are_answered_first(env):
    output = call("1", "2", "say I want to kill myself", "1")
    assert "call or text 988" in output and "We let the duty sergeant know" in output
    assert output.rindex("Are you safe right now?") > output.index("988"), "then back to the question"
