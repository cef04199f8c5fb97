"""The services one hotline process shares: database, keys, program, texts, transport."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from hotline.plumbing.db import Database
from hotline.plumbing.privacy import Pseudonyms, Vault
from hotline.plumbing.program import Program

if TYPE_CHECKING:
    from flows.texts import Catalog


@dataclass
class Runtime:
    """Everything a request or a worker pass needs besides its own data."""

    config: Mapping[str, Any]
    db: Database
    vault: Vault
    pseudonyms: Pseudonyms
    program: Program
    catalog: Catalog
    transport: Any  # hotline.plumbing.transport.Transport

    @property
    def hotline_number(self) -> str:
        return self.config["TWILIO_PHONE_NUMBER"]

    @property
    def staff_number(self) -> str | None:
        """Return the number staff text and are texted from, or None when the hotline has one number."""
        number = self.config.get("TWILIO_STAFF_NUMBER")
        return number if number and number != self.config.get("TWILIO_PHONE_NUMBER") else None

    def public_url(self, path: str) -> str:
        """Return the absolute URL Twilio uses for a path of ours."""
        return self.config["HOTLINE_PUBLIC_URL"].rstrip("/") + path


def runtime(app: Flask | None = None) -> Runtime:
    """Return the runtime of the given (or current) app."""
    return (app or current_app).extensions["hotline"]
