"""Alembic, driven from the app's own settings (no alembic.ini to keep in step)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import models
from hotline.plumbing.db import Database

SCRIPTS = Path(models.__file__).resolve().parent / "migrations"


def alembic_config(db: Database) -> Config:
    """Return an Alembic config for this database."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Apply every migration up to the revision."""
    config = alembic_config(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current(db: Database) -> str | None:
    """Return the database's migration revision (None: never migrated)."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head(db: Database) -> str | None:
    """Return the newest migration revision shipped with this code."""
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()
