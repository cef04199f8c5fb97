"""`hotline users`: dashboard accounts (add, list, reset a password, change a role)."""

from __future__ import annotations

import sys

import click

from hotline.cli.common import in_unit_of_work
from models.user import ROLES


@click.group()
def users() -> None:
    """Dashboard accounts (sergeants dispatch; admins keep the roster, users and reports; both do both)."""


def _read_password(password_stdin: bool, prompt: str = "Password") -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=True)


def _run(action):
    """Run an account change in one transaction, turning a refusal into a clear exit."""
    from hotline.web.dashboard import accounts

    try:
        return in_unit_of_work(action)
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from None


def _existing(session, username: str):
    from hotline.web.dashboard import accounts

    user = accounts.find_user(session, username, lock=True)
    if user is None:
        raise accounts.AccountError(f"There is no user called {username.strip().lower()}.")
    return user


@users.command("add")
@click.option("--username", required=True)
@click.option(
    "--role", required=True, type=click.Choice(ROLES), help="both: a sergeant who is also an admin."
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(username: str, role: str, password_stdin: bool) -> None:
    """Create a dashboard account (the password is asked for, or read from stdin)."""
    from hotline.plumbing.audit import record
    from hotline.web.dashboard import accounts

    password = _read_password(password_stdin)

    def add(session, rt):
        user = accounts.add_user(session, username=username, role=role, password=password)
        record(session, "cli", "user.add", target=f"user:{user.username}", detail=f"role:{role}")
        return user

    user = _run(add)
    click.echo(f"Added {user.role} {user.username}; sign in at /dashboard/login.")


@users.command("list")
def users_list() -> None:
    """Show every account: name, role, state, last sign-in (never a password or its hash)."""
    from hotline.web.dashboard import accounts

    people = in_unit_of_work(lambda session, rt: accounts.all_users(session))
    if not people:
        click.echo("No dashboard accounts yet: add one with `hotline users add`.")
    for user in people:
        state = "active" if user.active else "deactivated"
        last = f"{user.last_login_at:%Y-%m-%d %H:%M} UTC" if user.last_login_at else "never signed in"
        failed = f", {user.failed_logins} failed sign-ins since" if user.failed_logins else ""
        click.echo(f"{user.username:<24} {user.role:<9} {state:<12} {last}{failed}")


@users.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def users_reset_password(username: str, password_stdin: bool) -> None:
    """Give an account a new password; its open sessions end at once."""
    from hotline.plumbing.audit import record
    from hotline.web.dashboard import accounts

    password = _read_password(password_stdin, "New password")

    def reset(session, rt):
        user = _existing(session, username)
        accounts.set_password(user, password)
        session.add(user)
        record(session, "cli", "user.reset_password", target=f"user:{user.username}")
        return user

    user = _run(reset)
    click.echo(f"{user.username} has a new password; their open sessions have ended.")


@users.command("role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
def users_role(username: str, role: str) -> None:
    """Change what an account may do: sergeant, admin or both."""
    from hotline.plumbing.audit import record
    from hotline.web.dashboard import accounts

    def change(session, rt):
        user = _existing(session, username)
        before = user.role
        accounts.set_role(user, role)
        session.add(user)
        record(session, "cli", "user.role", target=f"user:{user.username}", detail=f"role:{before}->{role}")
        return user

    user = _run(change)
    click.echo(f"{user.username} is now {user.role}.")
