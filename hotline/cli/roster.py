"""`hotline officers`: the roster of officers and sergeants."""

from __future__ import annotations

import click

from hotline.cli.common import in_unit_of_work


@click.group()
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
@click.argument("officer")
@click.argument("hours")
def officers_shift(officer: str, hours: str) -> None:
    """Set OFFICER's regular shift (HOURS like 22:00-06:00, local time) or remove it (HOURS: none).

    OFFICER is a roster id or a name, as `hotline officers list` shows them, or a phone number.
    """
    from hotline.services import roster

    spec = None if hours.strip().lower() in ("none", "off", "-") else hours
    try:
        person = in_unit_of_work(lambda s, rt: roster.set_shift(s, rt, officer, spec))
    except roster.RosterError as error:
        raise click.ClickException(str(error)) from None
    if spec is None:
        click.echo(f"{person.name} has no regular shift now; duty changes only with ON and OFF.")
    else:
        click.echo(f"{person.name} goes on duty at each shift start and off at each end ({spec.strip()}).")


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
@click.argument("officer")
def officers_on(officer: str) -> None:
    """Put OFFICER on duty (the same as texting ON): a roster id, a name or a phone number."""
    _set_duty(officer, True)


@officers.command("off")
@click.argument("officer")
def officers_off(officer: str) -> None:
    """Take OFFICER off duty (the same as texting OFF): a roster id, a name or a phone number."""
    _set_duty(officer, False)


def _set_duty(who: str, on_duty: bool) -> None:
    from hotline.services import roster

    try:
        officer = in_unit_of_work(lambda s, rt: roster.set_duty(s, rt, who, on_duty))
    except roster.RosterError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{officer.name} (id {officer.id}) is now {'on' if on_duty else 'off'} duty.")
