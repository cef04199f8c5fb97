"""A WSGI entry for fault tests: the hotline app, whose commits wait while a flag file exists.

The test creates the flag, sends a request, and learns from `<flag>.inside` which gunicorn
worker is now inside a transaction (writes done, commit not yet sent) so it can kill it there.
Production code is untouched: the hold is a SQLAlchemy event listener added here only.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

from wsgi import app  # noqa: F401 - gunicorn serves this module's `app`

FLAG = Path(os.environ["FAULT_FLAG"])
HOLD_SECONDS = 10.0


@event.listens_for(Engine, "commit")
def hold(_connection) -> None:
    """Wait before committing while the flag exists (the test kills us meanwhile)."""
    if not FLAG.exists():
        return
    FLAG.with_suffix(".inside").write_text(str(os.getpid()))
    deadline = time.monotonic() + HOLD_SECONDS
    while FLAG.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
