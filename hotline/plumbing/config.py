"""Settings from the environment (12-factor), checked once at start-up."""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

from hotline.plumbing.privacy import is_plain_number

#: Environment names that deployments rely on (DESIGN.md section 6).
SETTINGS = (
    "HOTLINE_ENV",
    "DATABASE_URL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_PHONE_NUMBER",
    "TWILIO_STAFF_NUMBER",
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
    "HOTLINE_TRUSTED_PROXIES",
)

DEFAULT_PROGRAM = Path(__file__).parent.with_name("program.toml")
DEV_PUBLIC_URL = "http://127.0.0.1:5000"
DEV_PHONE_NUMBER = "+15005550006"
#: The secret key signs sessions and keys every pseudonym: at least this many bytes.
MIN_SECRET_BYTES = 32
#: Hosts a plain-http public URL may name in production: this machine only (local testing).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: Settings a `.env` file may never give: whether this is development is the real environment's say.
NEVER_FROM_DOTENV = frozenset({"HOTLINE_ENV"})


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
    # Whether DATABASE_URL was given: without it a production start says which database it uses.
    config["HOTLINE_DATABASE_DEFAULT"] = not config["DATABASE_URL"]
    if not config["DATABASE_URL"]:
        private_folder(Path(instance_path))
        config["DATABASE_URL"] = f"sqlite:///{Path(instance_path) / 'hotline.sqlite3'}"
    config["HOTLINE_PROGRAM"] = config["HOTLINE_PROGRAM"] or str(DEFAULT_PROGRAM)
    if not config["HOTLINE_TRANSPORT"]:
        has_twilio = config["TWILIO_ACCOUNT_SID"] and config["TWILIO_AUTH_TOKEN"]
        config["HOTLINE_TRANSPORT"] = "twilio" if has_twilio else "local"
    config["HOTLINE_WORKER_POLL_SECONDS"] = float(config["HOTLINE_WORKER_POLL_SECONDS"] or 1.0)
    config["HOTLINE_TRUSTED_PROXIES"] = trusted_proxies(config["HOTLINE_TRUSTED_PROXIES"])
    config["HOTLINE_WORKER_WAKEUP"] = _switch("HOTLINE_WORKER_WAKEUP", config["HOTLINE_WORKER_WAKEUP"], True)
    check(config)
    return config


def trusted_proxies(value) -> int:
    """Return how many proxies in front of the web process to believe X-Forwarded-For from (default 0)."""
    text = str(value if value is not None else "0").strip() or "0"
    if not text.isdigit() or int(text) > 5:
        raise ConfigError(
            "HOTLINE_TRUSTED_PROXIES must be the number of proxies in front of gunicorn "
            "(0 when clients connect directly, 1 behind nginx or a platform's router)."
        )
    return int(text)


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
    staff_number = config.get("TWILIO_STAFF_NUMBER")
    if staff_number and not is_plain_number(str(staff_number)):
        raise ConfigError("TWILIO_STAFF_NUMBER must be a number in E.164 form, like +18165550100.")
    url = str(config["HOTLINE_PUBLIC_URL"])
    if not url.startswith(("https://", "http://")):
        raise ConfigError("HOTLINE_PUBLIC_URL must start with https:// (Twilio calls it).")
    if config.get("HOTLINE_ENV") == "production":
        _check_production(config, url)
    for key in str(config["HOTLINE_ENCRYPTION_KEYS"]).split(","):
        try:
            Fernet(key.strip())
        except ValueError:
            raise ConfigError(
                "HOTLINE_ENCRYPTION_KEYS must be comma-separated Fernet keys; "
                "make one with `hotline keys generate`."
            ) from None


def _check_production(config: Mapping, url: str) -> None:
    """Refuse what a live hotline must not run with: a short secret, plain http to another host."""
    if len(str(config["HOTLINE_SECRET_KEY"]).encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"HOTLINE_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes (it signs sessions and keys "
            'every pseudonym); make one with `python -c "import secrets; print(secrets.token_urlsafe(32))"`.'
        )
    if url.startswith("http://") and (urlsplit(url).hostname or "") not in LOOPBACK_HOSTS:
        raise ConfigError(
            "HOTLINE_PUBLIC_URL must start with https:// in production (sessions need Secure cookies); "
            "plain http:// is allowed for 127.0.0.1, localhost and ::1 only."
        )


def read_dotenv(path: Path) -> dict[str, str]:
    """Return the settings of a `.env` file (development commands only), never HOTLINE_ENV."""
    from dotenv import dotenv_values

    if not path.is_file():
        return {}
    return {
        name: value
        for name, value in dotenv_values(path).items()
        if value is not None and name not in NEVER_FROM_DOTENV
    }


def private_folder(path: Path) -> None:
    """Make the instance folder (secrets, the SQLite database) if need be, for its owner only.

    One made before loses any access for others (a group a deployment shares it with keeps its).
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o007:
            path.chmod(mode & ~0o007)
    except OSError:
        pass  # read-only or another owner's: what needs the folder says what is wrong with it


def _fill_development(config: dict, instance: Path) -> None:
    """Fill secrets a development hotline needs, generated once and kept in the instance folder."""
    private_folder(instance)
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
