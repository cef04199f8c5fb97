"""The `hotline` command: run, migrate, manage the roster, and talk to the hotline locally."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from cryptography.fernet import Fernet
from flask import Flask

from hotline.plumbing import jobs
from hotline.plumbing.config import ConfigError
from hotline.plumbing.runtime import Runtime


def build_app(development: bool = False) -> Flask:
    """Create the app for a command, turning a configuration error into a clear exit."""
    from hotline import create_app

    development = development and not os.environ.get("HOTLINE_ENV")
    try:
        return create_app({"HOTLINE_ENV": "development"} if development else None)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@contextmanager
def closing_database(app: Flask) -> Iterator[Runtime]:
    """Yield the app's runtime; its database connections close at the end."""
    from hotline.plumbing.runtime import runtime

    rt = runtime(app)
    try:
        yield rt
    finally:
        rt.db.dispose()


def command_runtime(development: bool = False):
    """Return a context giving the runtime a command works with."""
    return closing_database(build_app(development))


def in_unit_of_work(action: Callable):
    """Run an action in one transaction, commit it, and return its result."""
    with command_runtime() as rt, rt.db.unit_of_work() as session:
        result = action(session, rt)
        session.commit()
        return result


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Safe Passage hotline: SMS and voice hotline for police drug-amnesty programs."""


# -- running ---------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def dev(host: str, port: int) -> None:
    """Run web + worker with SQLite, the local transport and a demo roster."""
    from hotline import worker
    from hotline.plumbing import migrations
    from hotline.plumbing.runtime import runtime
    from hotline.services import roster

    os.environ["HOTLINE_ENV"] = "development"
    os.environ.setdefault("HOTLINE_TRANSPORT", "local")
    os.environ.setdefault("HOTLINE_PUBLIC_URL", f"http://{host}:{port}")
    app = build_app(development=True)
    rt = runtime(app)
    migrations.upgrade(rt.db)
    with rt.db.unit_of_work() as session:
        added = roster.seed_demo(session, rt)
        session.commit()
    if added:
        click.echo(f"Added a demo roster of {added} (fictional numbers, all on duty).")
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever,
        args=(rt,),
        kwargs={"poll_seconds": rt.config["HOTLINE_WORKER_POLL_SECONDS"], "stop_event": stop},
        daemon=True,
        name="hotline-worker",
    )
    thread.start()
    click.echo(f"Hotline listening on http://{host}:{port} (transport: {rt.config['HOTLINE_TRANSPORT']}).")
    click.echo("Talk to it as a participant in another terminal:  .venv/bin/hotline simulate")
    click.echo("Call it (keypad and speech) in another terminal:  .venv/bin/hotline call")
    click.echo("See what it would have sent:                      .venv/bin/hotline outbox")
    click.echo(f"Phone simulator (participant and officers):      http://{host}:{port}/simulator")
    click.echo(f"Sergeant's board (after `hotline users add`):    http://{host}:{port}/dashboard/")
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        stop.set()


@main.command("worker")
@click.option("--once", is_flag=True, help="One pass over due messages and deadlines, then exit.")
def worker_command(once: bool) -> None:
    """Send due outbox rows and fire due deadlines."""
    from hotline import worker

    with command_runtime() as rt:
        if once:
            counts = jobs.run_once(rt)
            click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()) or "nothing due")
            return
        worker.run_forever(rt, poll_seconds=rt.config["HOTLINE_WORKER_POLL_SECONDS"])


# -- database --------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (safe to run on each release)."""
    from hotline.plumbing import migrations

    with command_runtime() as rt:
        migrations.upgrade(rt.db)
        click.echo(f"Database at revision {migrations.current(rt.db)}.")


# -- roster ----------------------------------------------------------------------------------


@main.group()
def officers() -> None:
    """The roster of officers and sergeants."""


@officers.command("add")
@click.option("--name", required=True)
@click.option("--phone", required=True, help="E.164, e.g. +18165550123")
@click.option("--sergeant", is_flag=True, help="Gets every alert.")
@click.option("--shift", default=None, help="Regular shift in the program's time zone, e.g. 22:00-06:00.")
def officers_add(name: str, phone: str, sergeant: bool, shift: str | None) -> None:
    """Register an officer (or a sergeant)."""
    from hotline.services import roster

    try:
        officer = in_unit_of_work(
            lambda s, rt: roster.add_officer(s, rt, name=name, phone=phone, sergeant=sergeant, shift=shift)
        )
    except roster.RosterError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Added {'sergeant' if sergeant else 'officer'} {officer.name} (id {officer.id}), off duty.")


@officers.command("shift")
@click.argument("phone")
@click.argument("hours")
def officers_shift(phone: str, hours: str) -> None:
    """Set a regular shift (HOURS like 22:00-06:00, local time) or remove it (HOURS: none)."""
    from hotline.services import roster

    spec = None if hours.strip().lower() in ("none", "off", "-") else hours
    try:
        officer = in_unit_of_work(lambda s, rt: roster.set_shift(s, rt, phone, spec))
    except roster.RosterError as error:
        raise click.ClickException(str(error)) from None
    if spec is None:
        click.echo(f"{officer.name} has no regular shift now; duty changes only with ON and OFF.")
    else:
        click.echo(f"{officer.name} goes on duty at each shift start and off at each end ({spec.strip()}).")


@officers.command("list")
def officers_list() -> None:
    """Show the roster (numbers stay hidden)."""
    from hotline.services import roster

    people = in_unit_of_work(lambda s, rt: roster.everyone(s))
    if not people:
        click.echo("The roster is empty: add someone with `hotline officers add`.")
    for person in people:
        role = "sergeant" if person.is_sergeant else "officer"
        duty = "on duty" if person.on_duty else "off duty"
        state = "" if person.active else " (inactive)"
        click.echo(f"{person.id:>4}  {person.name:<24} {role:<9} {duty}{state}")


@officers.command("on")
@click.argument("phone")
def officers_on(phone: str) -> None:
    """Put an officer on duty (the same as texting ON)."""
    _set_duty(phone, True)


@officers.command("off")
@click.argument("phone")
def officers_off(phone: str) -> None:
    """Take an officer off duty (the same as texting OFF)."""
    _set_duty(phone, False)


def _set_duty(phone: str, on_duty: bool) -> None:
    from hotline.services import roster

    try:
        officer = in_unit_of_work(lambda s, rt: roster.set_duty(s, rt, phone, on_duty))
    except roster.RosterError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{officer.name} is now {'on' if on_duty else 'off'} duty.")


# -- local tools -----------------------------------------------------------------------------


@main.command()
@click.option("--limit", default=20, show_default=True, help="How many of the newest messages.")
def outbox(limit: int) -> None:
    """Show what the hotline sent or will send (texts are shown with the local transport only)."""
    from hotline.services import simulator

    with command_runtime() as rt, rt.db.reading() as session:
        show_text = rt.config["HOTLINE_TRANSPORT"] == "local"
        lines = simulator.outbox_lines(session, rt, limit=limit, show_text=show_text)
    for line in lines or ["The outbox is empty."]:
        click.echo(line)


@main.command()
@click.option("--from", "sender", default="+18165550199", show_default=True, help="Your pretend number.")
@click.option("--url", default=None, help="A running hotline (e.g. http://127.0.0.1:5000); else in-process.")
def simulate(sender: str, url: str | None) -> None:
    """Chat with the hotline as a participant, in this terminal."""
    from hotline.services import simulator

    app = build_app(development=True)
    with closing_database(app):
        chat = simulator.Phone(app, sender, base_url=url)
        click.echo(f"Texting the hotline as {sender}. Type a message; Ctrl-D to quit.")
        while True:
            try:
                text = input("you> ")
            except (EOFError, KeyboardInterrupt):
                click.echo()
                return
            try:
                replies = chat.send(text)
            except simulator.SimulatorError as error:
                click.echo(f"(!) {error}", err=True)
                continue
            for reply in replies:
                click.echo(f"hotline> {reply}")


@main.command("call")
@click.option("--from", "caller", default="+18165550199", show_default=True, help="Your pretend number.")
@click.option("--url", default=None, help="A running hotline (e.g. http://127.0.0.1:5000); else in-process.")
def call_command(caller: str, url: str | None) -> None:
    """Call the hotline in this terminal: press keys, speak, and hear what a caller would hear."""
    from hotline.services import call_simulator, simulator

    app = build_app(development=True)
    with closing_database(app):
        call = call_simulator.new_call(app, caller, base_url=url)
        try:
            call_simulator.converse(call, input, click.echo, show_input=not sys.stdin.isatty())
        except simulator.SimulatorError as error:
            raise click.ClickException(str(error)) from None


@main.group()
def flows() -> None:
    """The conversation flows."""


@flows.command("diagram")
def flows_diagram() -> None:
    """Print the intake flow as a Mermaid state diagram."""
    from flows import INTAKE
    from flows.diagram import mermaid

    click.echo(mermaid(INTAKE))


@main.group()
def keys() -> None:
    """Encryption keys for stored contact numbers and texts."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new key for HOTLINE_ENCRYPTION_KEYS (put it first to rotate)."""
    click.echo(Fernet.generate_key().decode())


@keys.command("rotate")
@click.option("--batch", default=500, show_default=True, help="Rows per transaction.")
def keys_rotate(batch: int) -> None:
    """Re-encrypt every stored sealed value under the first key (safe to repeat)."""
    from hotline.services import retention

    with command_runtime() as rt:
        counts = _with_database(lambda: retention.rotate_keys(rt, batch=max(1, batch)))
    click.echo(f"Re-encrypted {counts['resealed']}; {counts['current']} already under the first key.")
    if counts["unreadable"]:
        raise click.ClickException(
            f"{counts['unreadable']} value(s) no key in HOTLINE_ENCRYPTION_KEYS can read: "
            "keep every old key listed until this command reports none."
        )


@main.command()
def purge() -> None:
    """Erase now what is past the program's retention periods (the worker does it hourly)."""
    from hotline.services import retention

    with command_runtime() as rt:
        counts = _with_database(lambda: retention.purge_all(rt))
    for name, count in counts.items():
        click.echo(f"{name.replace('_', ' ')}: {count}")


def _with_database(action: Callable):
    """Run an action, turning a database failure into a clear exit (what was done is committed)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return action()
    except SQLAlchemyError as error:
        raise click.ClickException(
            f"database error ({type(error).__name__}): is DATABASE_URL right and `hotline db upgrade` done?"
        ) from None


@main.command()
def doctor() -> None:
    """Check settings, database, keys, Twilio and the public URL; exit non-zero on any problem."""
    from hotline.plumbing import doctor as checks

    try:
        app = build_app()
    except click.ClickException as error:
        click.echo(f"FAIL settings: {error.message}")
        raise SystemExit(1) from None
    with closing_database(app) as rt:
        findings = checks.examine(rt)
    for finding in findings:
        click.echo(finding.line())
    failed = [f for f in findings if not f.ok]
    click.echo(f"{len(findings) - len(failed)} ok, {len(failed)} to fix.")
    if failed:
        raise SystemExit(1)


@main.group()
def twilio() -> None:
    """The hotline number at Twilio."""


@twilio.command("configure")
def twilio_configure() -> None:
    """Point the number's SMS, voice, fallback and status webhooks here (safe to repeat)."""
    from hotline.plumbing import provisioning

    with command_runtime() as rt:
        try:
            changes = provisioning.configure(rt)
        except provisioning.ProvisioningError as error:
            raise click.ClickException(str(error)) from None
    for change in changes:
        click.echo(f"{change.setting}: {change.was or '(none)'} -> {change.wanted}")
    summary = f"{len(changes)} setting(s) changed." if changes else "Already pointing here; nothing changed."
    click.echo(summary)


# -- dashboard accounts and reports ---------------------------------------------------------


@main.group()
def users() -> None:
    """Dashboard accounts (sergeants dispatch; admins keep the roster, users and reports)."""


@users.command("add")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(["sergeant", "admin"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(username: str, role: str, password_stdin: bool) -> None:
    """Create a dashboard account (the password is asked for, or read from stdin)."""
    from hotline.web.dashboard import accounts
    from hotline.web.dashboard.audit import record

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    def add(session, rt):
        user = accounts.add_user(session, username=username, role=role, password=password)
        record(session, "cli", "user.add", target=f"user:{user.username}", detail=f"role:{role}")
        return user

    try:
        user = in_unit_of_work(add)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Added {user.role} {user.username}; sign in at /dashboard/login.")


@main.command()
@click.option("--year", required=True, type=click.IntRange(2000, 9999))
@click.option(
    "--format", "fmt", default="table", show_default=True, type=click.Choice(["table", "csv", "json"])
)
def report(year: int, fmt: str) -> None:
    """Print the de-identified funnel of a year by month (counts only)."""
    from hotline.services import report as funnel_report

    with command_runtime() as rt, rt.db.reading() as session:
        funnel = funnel_report.year_funnel(session, year)
    click.echo(funnel_report.render(funnel, fmt), nl=False)


def run() -> None:  # pragma: no cover - console entry
    sys.exit(main())
