"""Start-up fails at once, naming the setting, rather than failing every call later."""

import json

import pytest

from hotline import create_app
from hotline.plumbing.config import ConfigError
from tests.support import hotline_config


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
