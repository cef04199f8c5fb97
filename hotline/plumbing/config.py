"""Settings from the environment (12-factor), checked once at start-up."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet

#: Environment names that deployments rely on (DESIGN.md section 6).
SETTINGS = (
    "HOTLINE_ENV",
    "DATABASE_URL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_PHONE_NUMBER",
    "TWILIO_API_BASE_URL",
    "HOTLINE_PUBLIC_URL",
    "HOTLINE_SECRET_KEY",
    "HOTLINE_ENCRYPTION_KEYS",
    "HOTLINE_PROGRAM",
    "HOTLINE_TRANSPORT",
    "HOTLINE_WORKER_POLL_SECONDS",
    "HOTLINE_WORKER_WAKEUP",
    "HOTLINE_METRICS_TOKEN",
    "HOTLINE_RATE_LIMIT_STORAGE",
)

DEFAULT_PROGRAM = Path(__file__).parent.with_name("program.toml")
DEV_PUBLIC_URL = "http://127.0.0.1:5000"
DEV_PHONE_NUMBER = "+15005550006"


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message names it and says how to fix it."""


def load(environ: Mapping[str, str], instance_path: str, overrides: Mapping | None) -> dict:
    """Return the hotline settings from the environment, overrides winning."""
    config = {name: environ.get(name) or None for name in SETTINGS}
    config.update(overrides or {})
    config["HOTLINE_ENV"] = config["HOTLINE_ENV"] or "production"
    if config["HOTLINE_ENV"] not in ("production", "development"):
        raise ConfigError("HOTLINE_ENV must be 'production' or 'development'.")
    if config["HOTLINE_ENV"] == "development":
        _fill_development(config, Path(instance_path))
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{Path(instance_path) / 'hotline.sqlite3'}"
    config["HOTLINE_PROGRAM"] = config["HOTLINE_PROGRAM"] or str(DEFAULT_PROGRAM)
    if not config["HOTLINE_TRANSPORT"]:
        has_twilio = config["TWILIO_ACCOUNT_SID"] and config["TWILIO_AUTH_TOKEN"]
        config["HOTLINE_TRANSPORT"] = "twilio" if has_twilio else "local"
    config["HOTLINE_WORKER_POLL_SECONDS"] = float(config["HOTLINE_WORKER_POLL_SECONDS"] or 1.0)
    config["HOTLINE_WORKER_WAKEUP"] = _switch("HOTLINE_WORKER_WAKEUP", config["HOTLINE_WORKER_WAKEUP"], True)
    check(config)
    return config


def _switch(name: str, value: object, default: bool) -> bool:
    """Read an on/off setting (on, off, true, false, 1, 0; unset: the default)."""
    if value is None or isinstance(value, bool):
        return default if value is None else value
    word = str(value).strip().lower()
    if word in ("on", "true", "1", "yes"):
        return True
    if word in ("off", "false", "0", "no"):
        return False
    raise ConfigError(f"{name} must be 'on' or 'off'.")


def check(config: Mapping) -> None:
    """Raise ConfigError naming every missing or malformed setting."""
    required = ["HOTLINE_SECRET_KEY", "TWILIO_AUTH_TOKEN", "HOTLINE_PUBLIC_URL"]
    required.append("HOTLINE_ENCRYPTION_KEYS")
    if config["HOTLINE_TRANSPORT"] == "twilio":
        required += ["TWILIO_ACCOUNT_SID", "TWILIO_PHONE_NUMBER"]
    elif config["HOTLINE_TRANSPORT"] != "local":
        raise ConfigError("HOTLINE_TRANSPORT must be 'twilio' or 'local'.")
    missing = [name for name in required if not config.get(name)]
    if missing:
        raise ConfigError(
            "Missing setting(s): "
            + ", ".join(missing)
            + ". Set them in the environment (see README, 'Deploying'), "
            "or run `hotline dev` for a local development hotline."
        )
    url = str(config["HOTLINE_PUBLIC_URL"])
    if not url.startswith(("https://", "http://")):
        raise ConfigError("HOTLINE_PUBLIC_URL must start with https:// (Twilio calls it).")
    for key in str(config["HOTLINE_ENCRYPTION_KEYS"]).split(","):
        try:
            Fernet(key.strip())
        except ValueError:
            raise ConfigError(
                "HOTLINE_ENCRYPTION_KEYS must be comma-separated Fernet keys; "
                "make one with `hotline keys generate`."
            ) from None


def _fill_development(config: dict, instance: Path) -> None:
    """Fill secrets a development hotline needs, generated once and kept in the instance folder."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "dev-secrets.json"
    try:
        kept = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        kept = {
            "HOTLINE_SECRET_KEY": secrets.token_urlsafe(32),
            "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
            "HOTLINE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(kept, handle)
    for name, value in kept.items():
        config[name] = config.get(name) or value
    config["HOTLINE_PUBLIC_URL"] = config["HOTLINE_PUBLIC_URL"] or DEV_PUBLIC_URL
    config["TWILIO_PHONE_NUMBER"] = config["TWILIO_PHONE_NUMBER"] or DEV_PHONE_NUMBER
