"""What every `hotline` command shares: the app, its database, one transaction, clear exits."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask

from hotline.plumbing.config import ConfigError, read_dotenv
from hotline.plumbing.runtime import Runtime


def build_app(development: bool = False) -> Flask:
    """Create the app for a command, turning a configuration error into a clear exit.

    `development`: a development command (dev, simulate, call). Only these read a `.env` file
    in the working folder (the real environment wins), and they are development unless the real
    environment says HOTLINE_ENV. A `.env` never sets HOTLINE_ENV: a file left in a production
    folder must not turn a live hotline into a development one.
    """
    from hotline import create_app

    environ: dict[str, str] = dict(os.environ)
    if development:
        environ = read_dotenv(Path.cwd() / ".env") | environ
    development = development and not os.environ.get("HOTLINE_ENV")
    try:
        return create_app({"HOTLINE_ENV": "development"} if development else None, environ=environ)
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


def with_database(action: Callable):
    """Run an action, turning a database failure into a clear exit (what was done is committed)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return action()
    except SQLAlchemyError as error:
        raise click.ClickException(
            f"database error ({type(error).__name__}): is DATABASE_URL right and `hotline db upgrade` done?"
        ) from None
