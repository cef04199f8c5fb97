"""The audit log of staff actions: one row per action, in the caller's transaction (ids and enums only).

Written by the dashboard, the `hotline` command and staff SMS commands alike; shown to admins.
A dashboard action records the client's address (as the trusted proxies gave it: ProxyFix).
"""

from __future__ import annotations

from datetime import datetime

from flask import has_request_context, request
from sqlmodel import Session

from models import AuditEntry
from models.clock import utcnow


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    target: str | None = None,
    detail: str | None = None,
    address: str | None = None,
    at: datetime | None = None,
) -> None:
    """Add an entry to the audit log in the caller's transaction (ids and enums only).

    `at`: when it happened, if not now (a staff text is dated by its arrival).
    """
    if address is None and has_request_context() and request.path.startswith("/dashboard/"):
        address = request.remote_addr  # a webhook's peer is Twilio (or the proxy): never recorded
    session.add(
        AuditEntry(
            at=at or utcnow(),
            actor=actor[:80],
            action=action[:40],
            target=target[:80] if target else None,
            detail=detail[:200] if detail else None,
            address=address[:64] if address else None,
        )
    )
