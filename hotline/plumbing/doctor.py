"""`hotline doctor`: check a deployment end to end and say how to fix what is wrong."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from flows.texts import LONGEST_PARAMS
from hotline.plumbing import config, migrations, provisioning
from hotline.plumbing.db import database_in_use, sqlite_file
from hotline.plumbing.runtime import Runtime
from hotline.plumbing.transport import TransportError, TwilioTransport
from models import Officer, OutboxMessage
from models.clock import utcnow

# Long enough for a worker that polls every few seconds; longer means nobody is sending.
STUCK_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Finding:
    """One check: what was looked at, whether it is fine, and how to fix it if not."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"{mark} {self.name}: {self.detail}" + (
            "" if self.ok or not self.fix else f"\n     fix: {self.fix}"
        )


def fetch_health(url: str) -> tuple[int, str]:
    """GET a URL with a short timeout; return its status and body."""
    request = urllib.request.Request(url, headers={"User-Agent": "hotline-doctor"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(2000).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""


def examine(rt: Runtime, *, get: Callable[[str], tuple[int, str]] = fetch_health) -> list[Finding]:
    """Run every check; a check that cannot run reports why instead of stopping the others."""
    findings = [_mode(rt), _secret(rt), *_program(rt)]
    database = _database(rt)
    findings += database + _files(rt)
    if database[0].ok:
        findings += [_guarded("encryption keys", _keys, rt), _guarded("outbox", _outbox, rt)]
    findings += [_transport(rt), *_twilio(rt), _public_url(rt, get)]
    return findings


def _guarded(name: str, check: Callable[[Runtime], Finding], rt: Runtime) -> Finding:
    """Run a database check; missing tables are reported, not raised."""
    try:
        return check(rt)
    except SQLAlchemyError as error:
        return Finding(name, False, f"cannot read ({type(error).__name__})", "run `hotline db upgrade`")


def _mode(rt: Runtime) -> Finding:
    env = rt.config["HOTLINE_ENV"]
    return Finding(
        "settings",
        env == "production",
        f"HOTLINE_ENV={env}, public URL {rt.config['HOTLINE_PUBLIC_URL']}",
        "set HOTLINE_ENV=production on a live hotline (development invents its secrets)",
    )


def _secret(rt: Runtime) -> Finding:
    size = len(str(rt.config["HOTLINE_SECRET_KEY"]).encode())
    return Finding(
        "secret key",
        size >= config.MIN_SECRET_BYTES,
        f"HOTLINE_SECRET_KEY has {size} bytes",
        f"set a HOTLINE_SECRET_KEY of at least {config.MIN_SECRET_BYTES} bytes (it keys every pseudonym: "
        "only before the first participant)",
    )


def _program(rt: Runtime) -> list[Finding]:
    program = rt.program
    reviewed = Finding(
        "program file",
        program.reviewed,
        f"{program.name}, {program.department} ({rt.config['HOTLINE_PROGRAM']})",
        "have the department check every fact and text, then set reviewed = true under [program]",
    )
    problems = rt.catalog.problems(LONGEST_PARAMS)
    texts = Finding(
        "texts",
        not problems,
        "every text fits two SMS segments in every language" if not problems else "; ".join(problems[:5]),
        "shorten or fix the texts named (program file [texts.*] overrides)",
    )
    return [reviewed, texts]


def _database(rt: Runtime) -> list[Finding]:
    try:
        with rt.db.reading() as session:
            session.execute(text("SELECT 1"))
        current, head = migrations.current(rt.db), migrations.head(rt.db)
    except SQLAlchemyError as error:
        return [Finding("database", False, f"unreachable ({type(error).__name__})", "check DATABASE_URL")]
    where = database_in_use(rt.config)
    # A live hotline on the instance folder's SQLite file is a start without its settings.
    chosen = not (rt.config.get("HOTLINE_DATABASE_DEFAULT") and rt.config["HOTLINE_ENV"] == "production")
    return [
        Finding(
            "database",
            chosen,
            f"{rt.db.engine.dialect.name} answers: {where}",
            "set DATABASE_URL to the hotline's PostgreSQL database",
        ),
        Finding(
            "migrations", current == head, f"at {current}, code needs {head}", "run `hotline db upgrade`"
        ),
    ]


def _files(rt: Runtime) -> list[Finding]:
    """A SQLite database and its WAL files (and the instance folder holding them) are closed to others."""
    path = sqlite_file(rt.db.url)
    if path is None:
        return []
    names = [path, path + "-wal", path + "-shm"]
    if rt.config.get("HOTLINE_DATABASE_DEFAULT"):
        names.append(os.path.dirname(path))
    open_to_others = []
    for name in names:
        try:
            if os.stat(name).st_mode & 0o007:
                open_to_others.append(name)
        except OSError:
            continue  # no WAL yet
    detail = (
        "closed to other accounts" if not open_to_others else "open to others: " + ", ".join(open_to_others)
    )
    return [Finding("database files", not open_to_others, detail, "chmod o-rwx the files and folder named")]


def _keys(rt: Runtime) -> Finding:
    with rt.db.reading() as session:
        sealed = session.exec(select(Officer.phone_sealed).limit(50)).all()
    unreadable = sum(rt.vault.open(token) is None for token in sealed)
    return Finding(
        "encryption keys",
        unreadable == 0,
        f"{len(sealed) - unreadable} of {len(sealed)} sealed roster numbers readable",
        "put back the key that sealed them in HOTLINE_ENCRYPTION_KEYS (keep old keys after rotating)",
    )


def _outbox(rt: Runtime) -> Finding:
    with rt.db.reading() as session:
        oldest = session.exec(
            select(func.min(OutboxMessage.due_at)).where(OutboxMessage.status.in_(("pending", "sending")))
        ).one()
    stuck = oldest is not None and utcnow() - oldest > STUCK_AFTER
    detail = (
        "nothing waiting"
        if oldest is None
        else f"oldest due {max(0, int((utcnow() - oldest).total_seconds()))} s ago"
    )
    return Finding("outbox", not stuck, detail, "start the worker (`hotline worker`, Procfile `worker:`)")


def _transport(rt: Runtime) -> Finding:
    choice = rt.config["HOTLINE_TRANSPORT"]
    return Finding(
        "transport",
        choice == "twilio",
        f"HOTLINE_TRANSPORT={choice}",
        "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or HOTLINE_TRANSPORT=twilio): local sends nothing",
    )


def _twilio(rt: Runtime) -> list[Finding]:
    try:
        api = provisioning.twilio_api(rt)
        status = api.account_status()
    except provisioning.ProvisioningError as error:
        return [Finding("twilio account", False, str(error), "set the Twilio settings from the console")]
    except TransportError as error:
        if error.http_status is None:
            fix = "let this host reach Twilio's API over HTTPS (firewall, proxy, TWILIO_API_BASE_URL)"
            return [Finding("twilio account", False, f"unreachable ({error})", fix)]
        return [Finding("twilio account", False, f"refused ({error})", "check TWILIO_ACCOUNT_SID and TOKEN")]
    findings = [Finding("twilio account", status == "active", f"status {status}", "reactivate the account")]
    findings += _number(rt, api, provisioning.MAIN_SETTING, "twilio")
    if rt.config.get(provisioning.STAFF_SETTING):
        findings += _number(rt, api, provisioning.STAFF_SETTING, "twilio staff")
    return findings


def _number(rt: Runtime, api: TwilioTransport, setting: str, label: str) -> list[Finding]:
    """Check one of our numbers: on the account, webhooks pointing here; the staff one not the hotline's."""
    try:
        if setting == provisioning.STAFF_SETTING:
            provisioning.check_distinct(rt)
        number = provisioning.hotline_number(rt, api, setting)
    except provisioning.ProvisioningError as error:
        return [Finding(f"{label} number", False, str(error), f"fix {setting}")]
    except TransportError as error:
        return [Finding(f"{label} number", False, f"lookup failed ({error})", "check the Twilio settings")]
    findings = []
    if setting == provisioning.STAFF_SETTING:
        findings.append(Finding(f"{label} number", True, "on this account, apart from the hotline number"))
    changes = provisioning.differences(number, provisioning.wanted_webhooks(rt), setting)
    older = [c for c in changes if c.was in provisioning.older_urls(rt, c.setting)]
    wrong = [c for c in changes if c not in older]
    detail = "; ".join(f"{c.setting} is {c.was!r}" for c in wrong) or "webhooks point here" + "".join(
        f" ({c.setting} at the older {c.was}, still answered; `hotline twilio configure` moves it)"
        for c in older
    )
    findings.append(Finding(f"{label} webhooks", not wrong, detail, "run `hotline twilio configure`"))
    return findings


def _public_url(rt: Runtime, get: Callable[[str], tuple[int, str]]) -> Finding:
    url = rt.public_url("/healthz")
    if not url.startswith("https://"):
        return Finding(
            "public url", False, f"{url} is not HTTPS", "serve the hotline over HTTPS (docs/deploy.md)"
        )
    try:
        status, body = get(url)
    except (OSError, ValueError) as error:
        return Finding(
            "public url", False, f"{url} unreachable ({type(error).__name__})", "check DNS, TLS, proxy"
        )
    try:
        healthy = status == 200 and json.loads(body).get("status") == "ok"
    except ValueError:
        healthy = False
    return Finding(
        "public url", healthy, f"{url} answered {status}", "check the proxy passes /healthz to gunicorn"
    )
