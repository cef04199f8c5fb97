"""The `hotline` command, as an operator types it."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from click.testing import CliRunner

from hotline import cli
from tests.support import REPO, hotline_config, require


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


def roster_ids(listing: str) -> dict[str, int]:
    """Map each name of `hotline officers list` to its id."""
    rows = [line.split(None, 1) for line in listing.splitlines() if line.strip()[:1].isdigit()]
    return {rest.split("  ")[0].strip(): int(number) for number, rest in rows}


def duty_of(name: str) -> str:
    (line,) = [line for line in run("officers", "list").output.splitlines() if f" {name} " in line]
    return "on duty" if "on duty" in line else "off duty"


def test_roster_commands_take_an_id_a_name_or_a_number(env):
    run("db", "upgrade")
    for name, phone in (("Ofc. Chen", "+18165550101"), ("Ofc. Okafor", "+18165550102")):
        assert run("officers", "add", "--name", name, "--phone", phone).exit_code == 0
    ids = roster_ids(run("officers", "list").output)
    assert set(ids) == {"Ofc. Chen", "Ofc. Okafor"}

    by_id = run("officers", "on", str(ids["Ofc. Chen"]))
    assert by_id.exit_code == 0 and f"Ofc. Chen (id {ids['Ofc. Chen']}) is now on duty" in by_id.output
    assert duty_of("Ofc. Chen") == "on duty"
    assert run("officers", "off", "chen").exit_code == 0 and duty_of("Ofc. Chen") == "off duty"
    assert run("officers", "on", "Ofc. Okafor").exit_code == 0 and duty_of("Ofc. Okafor") == "on duty"
    assert (
        run("officers", "off", f"#{ids['Ofc. Okafor']}").exit_code == 0
        and duty_of("Ofc. Okafor") == "off duty"
    )
    assert run("officers", "on", "816-555-0101").exit_code == 0 and duty_of("Ofc. Chen") == "on duty"
    shift = run("officers", "shift", "Okafor", "22:00-06:00")
    assert shift.exit_code == 0 and "Ofc. Okafor goes on duty" in shift.output
    assert run("officers", "shift", str(ids["Ofc. Okafor"]), "none").exit_code == 0


def test_an_ambiguous_or_unknown_name_is_refused_with_the_ids(env):
    run("db", "upgrade")
    run("officers", "add", "--name", "Ofc. Smith", "--phone", "+18165550103")
    run("officers", "add", "--name", "Det. Smith", "--phone", "+18165550104")
    ids = roster_ids(run("officers", "list").output)
    both = run("officers", "on", "Smith")
    assert both.exit_code != 0
    assert f"Ofc. Smith (id {ids['Ofc. Smith']})" in both.output
    assert f"Det. Smith (id {ids['Det. Smith']})" in both.output and "give the id" in both.output
    assert duty_of("Ofc. Smith") == duty_of("Det. Smith") == "off duty", "nobody was changed"
    assert run("officers", "shift", "smith", "07:00-15:00").exit_code != 0
    assert run("officers", "on", "Det. Smith").exit_code == 0, "the whole name tells them apart"
    unknown = run("officers", "off", "Jones")
    assert unknown.exit_code != 0 and "officers list" in unknown.output
    assert run("officers", "on", "999").exit_code != 0


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


# -- `hotline dev --port` and `make run PORT=...` ------------------------------------------------


def dev_process(tmp_path, *args: str) -> subprocess.Popen:
    """Start `hotline dev` as a person would, in an empty folder with its own SQLite file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "TWILIO_", "DATABASE_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}", PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-c", "from hotline.cli import main; main()", "dev", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_dev_on_a_taken_port_says_so_in_one_line_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = dev_process(tmp_path, "--port", str(port))
        output, _ = process.communicate(timeout=60)
    assert process.returncode != 0
    assert output.strip().count("\n") == 0, output
    assert f"port {port} on 127.0.0.1 is in use" in output
    assert "make run PORT=" in output and "--port" in output
    for started in ("listening", "worker", "roster", "Traceback"):
        assert started not in output, started
    assert not (tmp_path / "dev.sqlite3").exists(), "nothing was written"


def test_dev_listens_on_the_port_it_is_given(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = dev_process(tmp_path, "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "hotline dev did not start"
                time.sleep(0.2)
        assert answer.json()["status"] == "ok"
        assert requests.get(f"http://127.0.0.1:{port}/simulator", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert f"Hotline listening on http://127.0.0.1:{port}" in output
    assert "Added a demo roster of 4" in output


@pytest.mark.parametrize(
    ("given", "command"), [("", "hotline dev\n"), ("PORT=5123", "hotline dev --port 5123\n")]
)
def test_make_run_passes_the_port(given, command):
    require(shutil.which("make") is not None, "make is not installed")
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "run", *([given] if given else [])],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PORT"},
    )
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.endswith(command), dry.stdout
