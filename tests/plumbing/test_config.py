"""Start-up fails at once, naming the setting, rather than failing every call later."""

import base64
import json
import logging
import os
import sqlite3
import stat

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from hotline import cli, create_app
from hotline.plumbing import doctor
from hotline.plumbing.config import DEFAULT_PROGRAM, SETTINGS, ConfigError
from hotline.plumbing.runtime import runtime
from tests.support import PUBLIC_URL, TEST_KEY, hotline_config


@pytest.mark.parametrize(
    "missing", ["HOTLINE_SECRET_KEY", "TWILIO_AUTH_TOKEN", "HOTLINE_PUBLIC_URL", "HOTLINE_ENCRYPTION_KEYS"]
)
def test_production_start_without_a_setting_names_it(missing, tmp_path):
    config = hotline_config(f"sqlite:///{tmp_path}/h.sqlite3")
    config[missing] = None
    with pytest.raises(ConfigError, match=missing):
        create_app(config, environ={})


def test_production_is_the_default_and_needs_everything():
    with pytest.raises(ConfigError) as error:
        create_app(environ={})
    for name in ("HOTLINE_SECRET_KEY", "TWILIO_AUTH_TOKEN", "HOTLINE_PUBLIC_URL"):
        assert name in str(error.value)


def test_twilio_transport_needs_account_and_number(tmp_path):
    config = hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_TRANSPORT="twilio")
    with pytest.raises(ConfigError, match="TWILIO_ACCOUNT_SID.*TWILIO_PHONE_NUMBER|TWILIO_ACCOUNT_SID"):
        create_app(config | {"TWILIO_PHONE_NUMBER": None}, environ={})


def test_bad_encryption_key_is_named(tmp_path):
    config = hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_ENCRYPTION_KEYS="not-a-key")
    with pytest.raises(ConfigError, match="HOTLINE_ENCRYPTION_KEYS"):
        create_app(config, environ={})


def test_settings_come_from_the_environment(tmp_path):
    environ = {k: v for k, v in hotline_config(f"sqlite:///{tmp_path}/h.sqlite3").items()}
    app = create_app(environ=environ)
    assert app.config["HOTLINE_PUBLIC_URL"] == environ["HOTLINE_PUBLIC_URL"]
    assert app.config["HOTLINE_TRANSPORT"] == "local"


def test_development_generates_and_keeps_its_secrets(tmp_path):
    instance = str(tmp_path / "instance")
    first = create_app({"HOTLINE_ENV": "development"}, environ={}, instance_path=instance)
    second = create_app({"HOTLINE_ENV": "development"}, environ={}, instance_path=instance)
    for name in ("HOTLINE_SECRET_KEY", "TWILIO_AUTH_TOKEN", "HOTLINE_ENCRYPTION_KEYS"):
        assert first.config[name] and first.config[name] == second.config[name]
    kept = tmp_path / "instance" / "dev-secrets.json"
    assert json.loads(kept.read_text())["TWILIO_AUTH_TOKEN"] == first.config["TWILIO_AUTH_TOKEN"]
    assert kept.stat().st_mode & 0o077 == 0, "only the owner may read the development secrets"
    assert first.config["HOTLINE_TRANSPORT"] == "local"
    assert first.config["DATABASE_URL"] == f"sqlite:///{instance}/hotline.sqlite3"


def test_unknown_environment_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="HOTLINE_ENV"):
        create_app(hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_ENV="staging"), environ={})


def test_program_with_a_voice_the_hotline_does_not_allow_fails_at_start(tmp_path):
    from hotline.plumbing.config import DEFAULT_PROGRAM

    program = tmp_path / "program.toml"
    program.write_text(DEFAULT_PROGRAM.read_text().replace('voice = "Polly.Lupe"', 'voice = "Polly.Nobody"'))
    config = hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_PROGRAM=str(program))
    with pytest.raises(ConfigError, match="voice"):
        create_app(config, environ={})


def test_missing_program_file_is_named(tmp_path):
    config = hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_PROGRAM=str(tmp_path / "none.toml"))
    with pytest.raises(ConfigError, match="HOTLINE_PROGRAM"):
        create_app(config, environ={})


@pytest.mark.parametrize("number", ["8165550199", "+1 816 555 0199", "staff"])
def test_a_staff_number_not_in_e164_form_is_named(tmp_path, number):
    config = hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", TWILIO_STAFF_NUMBER=number)
    with pytest.raises(ConfigError, match="TWILIO_STAFF_NUMBER"):
        create_app(config, environ={})


def test_the_staff_number_is_read_from_the_environment(tmp_path):
    from hotline.plumbing.runtime import runtime

    config = hotline_config(f"sqlite:///{tmp_path}/h.sqlite3")
    app = create_app(config, environ={"TWILIO_STAFF_NUMBER": "+18165550199"})
    assert runtime(app).staff_number == "+18165550199"
    same = create_app(config | {"TWILIO_STAFF_NUMBER": config["TWILIO_PHONE_NUMBER"]}, environ={})
    assert runtime(same).staff_number is None, "the hotline number is no staff number"


# -- a careless deployment ---------------------------------------------------------------------


def production_environment(monkeypatch, tmp_path, **changes):
    """Put production settings in the real environment (without HOTLINE_ENV) and work in tmp_path."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    settings = {**hotline_config(f"sqlite:///{tmp_path}/h.sqlite3"), "HOTLINE_ENV": None, **changes}
    for name, value in settings.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)


def test_a_dotenv_file_never_turns_a_production_start_into_development(monkeypatch, tmp_path):
    production_environment(monkeypatch, tmp_path)
    (tmp_path / ".env").write_text("HOTLINE_ENV=development\n")

    app = create_app(instance_path=str(tmp_path / "instance"))  # what wsgi.py does under gunicorn

    assert app.config["HOTLINE_ENV"] == "production"
    client = app.test_client()
    assert client.get("/simulator").status_code == 404
    assert client.get("/simulator/inbox", query_string={"officer_id": 1}).status_code == 404
    assert client.post("/simulator/text", json={"officer_id": 1, "body": "OFF"}).status_code == 404


def test_a_production_process_reads_no_dotenv_file(monkeypatch, tmp_path):
    production_environment(monkeypatch, tmp_path, HOTLINE_SECRET_KEY=None)
    (tmp_path / ".env").write_text(f"HOTLINE_SECRET_KEY={'k' * 40}\n")
    with pytest.raises(ConfigError, match="HOTLINE_SECRET_KEY"):
        create_app(instance_path=str(tmp_path / "instance"))


@pytest.mark.parametrize(
    "command", [["db", "upgrade"], ["worker", "--once"], ["doctor"], ["officers", "list"]]
)
def test_production_commands_read_no_dotenv_file(monkeypatch, tmp_path, command):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("HOTLINE_ENV=development\n")
    result = CliRunner().invoke(cli.main, command)
    assert result.exit_code != 0 and "HOTLINE_SECRET_KEY" in result.output


def test_development_commands_read_dotenv_but_not_hotline_env(monkeypatch, tmp_path):
    from hotline.cli.common import build_app

    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    program = tmp_path / "program.toml"
    program.write_text(DEFAULT_PROGRAM.read_text())
    (tmp_path / ".env").write_text(f"HOTLINE_ENV=production\nHOTLINE_PROGRAM={program}\n")

    app = build_app(development=True)

    assert app.config["HOTLINE_ENV"] == "development", "a .env file never decides the mode"
    assert app.config["HOTLINE_PROGRAM"] == str(program), "the other settings of .env are read"
    assert "simulator" in app.blueprints


def test_the_real_environment_wins_over_a_development_command(monkeypatch, tmp_path):
    from hotline.cli.common import build_app

    production_environment(monkeypatch, tmp_path, HOTLINE_ENV="production")
    (tmp_path / ".env").write_text("HOTLINE_PUBLIC_URL=http://elsewhere.example.org\n")
    app = build_app(development=True)
    assert app.config["HOTLINE_ENV"] == "production" and "simulator" not in app.blueprints
    assert app.config["HOTLINE_PUBLIC_URL"] == PUBLIC_URL


@pytest.mark.parametrize("secret", ["x", "test-secret-key", "k" * 31, "é" * 15])
def test_production_refuses_a_short_secret_key(tmp_path, secret):
    config = hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_SECRET_KEY=secret)
    with pytest.raises(ConfigError, match="HOTLINE_SECRET_KEY.*32 bytes"):
        create_app(config, environ={})


def test_development_keeps_a_short_secret_of_its_own_choosing(tmp_path):
    config = {"HOTLINE_ENV": "development", "HOTLINE_SECRET_KEY": "x"}
    app = create_app(config, environ={}, instance_path=str(tmp_path / "instance"))
    assert app.config["HOTLINE_SECRET_KEY"] == "x"


@pytest.mark.parametrize(
    "url", ["http://hotline.example.org", "http://10.0.0.5:8000", "http://127.0.0.1.example.org"]
)
def test_production_refuses_a_public_url_that_is_not_https(tmp_path, url):
    config = hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_PUBLIC_URL=url)
    with pytest.raises(ConfigError, match="HOTLINE_PUBLIC_URL.*https"):
        create_app(config, environ={})


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:5000", "http://[::1]:8000"])
def test_production_allows_plain_http_on_this_machine(tmp_path, url):
    app = create_app(hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_PUBLIC_URL=url), environ={})
    assert app.config["HOTLINE_PUBLIC_URL"] == url


@pytest.mark.parametrize(
    "keys",
    [
        "not-a-key",
        "",
        base64.urlsafe_b64encode(b"k" * 16).decode(),  # base64, but not 32 bytes
        f"{TEST_KEY},not-a-key",
    ],
)
def test_production_refuses_an_encryption_key_that_is_not_one(tmp_path, keys):
    config = hotline_config(f"sqlite:///{tmp_path}/h.sqlite3", HOTLINE_ENCRYPTION_KEYS=keys)
    with pytest.raises(ConfigError, match="HOTLINE_ENCRYPTION_KEYS"):
        create_app(config, environ={})


def test_production_without_database_url_says_which_database_it_uses(tmp_path, caplog):
    instance = tmp_path / "instance"
    with caplog.at_level(logging.WARNING, logger="hotline"):
        app = create_app(hotline_config(None), environ={}, instance_path=str(instance))
    said = [r.getMessage() for r in caplog.records if "DATABASE_URL" in r.getMessage()]
    assert said and str(instance / "hotline.sqlite3") in said[0] and "not set" in said[0]
    rt = runtime(app)
    rt.db.create_all()
    (finding,) = [f for f in doctor.examine(rt, get=lambda url: (200, "{}")) if f.name == "database"]
    assert not finding.ok and str(instance / "hotline.sqlite3") in finding.detail
    assert "DATABASE_URL" in finding.line()
    rt.db.dispose()


def test_production_with_database_url_logs_nothing_about_it(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="hotline"):
        create_app(hotline_config(f"sqlite:///{tmp_path}/h.sqlite3"), environ={})
    assert not [r for r in caplog.records if "DATABASE_URL" in r.getMessage()]


# -- files -------------------------------------------------------------------------------------


def test_the_instance_folder_and_the_sqlite_files_are_the_owners_alone(tmp_path):
    instance = tmp_path / "instance"
    old = os.umask(0o022)  # the usual umask: files world-readable unless made otherwise
    try:
        app = create_app({"HOTLINE_ENV": "development"}, environ={}, instance_path=str(instance))
        rt = runtime(app)
        rt.db.create_all()
        with rt.db.unit_of_work() as session:
            session.exec(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
            session.commit()
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in instance.iterdir()}
        rt.db.dispose()
    finally:
        os.umask(old)
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    for name in ("hotline.sqlite3", "hotline.sqlite3-wal", "hotline.sqlite3-shm"):
        assert files.get(name) == 0o600, (name, files)
    assert all(mode & 0o077 == 0 for mode in files.values()), files


def test_a_world_readable_database_and_instance_folder_are_closed_to_others(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    database = instance / "hotline.sqlite3"
    sqlite3.connect(database).close()
    database.chmod(0o644)
    app = create_app({"HOTLINE_ENV": "development"}, environ={}, instance_path=str(instance))
    rt = runtime(app)
    with rt.db.unit_of_work() as session:
        session.exec(text("CREATE TABLE probe (x INTEGER)"))
        session.commit()
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in instance.iterdir()}
    rt.db.dispose()
    assert stat.S_IMODE(instance.stat().st_mode) == 0o750
    for name in ("hotline.sqlite3", "hotline.sqlite3-wal", "hotline.sqlite3-shm"):
        assert modes[name] == 0o640, (name, modes)
