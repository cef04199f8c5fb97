"""Operations: migrations, keys, retention, the doctor, the Twilio number, the flows and the report."""

from __future__ import annotations

import click
from cryptography.fernet import Fernet

from hotline.cli.common import build_app, closing_database, command_runtime, with_database


@click.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (safe to run on each release)."""
    from hotline.plumbing import migrations

    with command_runtime() as rt:
        migrations.upgrade(rt.db)
        click.echo(f"Database at revision {migrations.current(rt.db)}.")


@click.group()
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
        counts = with_database(lambda: retention.rotate_keys(rt, batch=max(1, batch)))
    click.echo(f"Re-encrypted {counts['resealed']}; {counts['current']} already under the first key.")
    if counts["unreadable"]:
        raise click.ClickException(
            f"{counts['unreadable']} value(s) no key in HOTLINE_ENCRYPTION_KEYS can read: "
            "keep every old key listed until this command reports none."
        )


@click.command()
def purge() -> None:
    """Erase now what is past the program's retention periods (the worker does it hourly)."""
    from hotline.services import retention

    with command_runtime() as rt:
        counts = with_database(lambda: retention.purge_all(rt))
    for name, count in counts.items():
        click.echo(f"{name.replace('_', ' ')}: {count}")


@click.command()
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


@click.group()
def twilio() -> None:
    """The hotline number (and the staff number) at Twilio."""


@twilio.command("configure")
def twilio_configure() -> None:
    """Point each number's SMS, voice, fallback and status webhooks here (safe to repeat)."""
    from hotline.plumbing import provisioning

    with command_runtime() as rt:
        try:
            changes = provisioning.configure(rt)
        except provisioning.ProvisioningError as error:
            raise click.ClickException(str(error)) from None
    several = len(provisioning.our_numbers(rt)) > 1
    for change in changes:
        where = f"{change.number} " if several else ""
        click.echo(f"{where}{change.setting}: {change.was or '(none)'} -> {change.wanted}")
    summary = f"{len(changes)} setting(s) changed." if changes else "Already pointing here; nothing changed."
    click.echo(summary)


@click.group()
def flows() -> None:
    """The conversation flows."""


@flows.command("diagram")
def flows_diagram() -> None:
    """Print the intake flow as a Mermaid state diagram."""
    from flows import INTAKE
    from flows.diagram import mermaid

    click.echo(mermaid(INTAKE))


@click.command()
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
