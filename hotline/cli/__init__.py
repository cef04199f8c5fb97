"""The `hotline` command: run, migrate, manage the roster, and talk to the hotline locally."""

from __future__ import annotations

import sys

import click

from hotline.cli import accounts, operations, roster, running


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Safe Passage hotline: SMS and voice hotline for police drug-amnesty programs."""


for command in (
    running.dev,
    running.worker_command,
    running.outbox,
    running.simulate,
    running.call_command,
    operations.db,
    roster.officers,
    accounts.users,
    operations.twilio,
    operations.doctor,
    operations.keys,
    operations.purge,
    operations.report,
    operations.flows,
):
    main.add_command(command)


def run() -> None:  # pragma: no cover - console entry
    sys.exit(main())
