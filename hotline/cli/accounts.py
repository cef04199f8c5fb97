"""`hotline users`: dashboard accounts."""

from __future__ import annotations

import sys

import click

from hotline.cli.common import in_unit_of_work


@click.group()
def users() -> None:
    """Dashboard accounts (sergeants dispatch; admins keep the roster, users and reports)."""


@users.command("add")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(["sergeant", "admin"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(username: str, role: str, password_stdin: bool) -> None:
    """Create a dashboard account (the password is asked for, or read from stdin)."""
    from hotline.plumbing.audit import record
    from hotline.web.dashboard import accounts

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
