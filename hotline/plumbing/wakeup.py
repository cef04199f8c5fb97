"""Waking the worker when there is work: the commit that adds an outbox row or a timer rings a bell.

The rows stay the truth; the bell only spares the wait. A bell that is never heard (the listening
connection dropped, a process that writes without these hooks) costs what the worker's regular
look every HOTLINE_WORKER_POLL_SECONDS costs, never a text or a deadline.

Ringing. Every session on a watched database notes when it adds an outbox row or a timer, or
moves one's due time (an ORM insert, a flush). On PostgreSQL the same transaction issues
`NOTIFY hotline_work`, which the server delivers at commit and drops on rollback. On SQLite the
commit sends one byte to the worker's socket beside the database file (`hotline.sqlite3-worker.sock`;
nothing happens when no worker listens). Either way it also sets the process's own event.
Redactions queued in bulk (outbox.enqueue_redactions) ring nothing:
they go out after everything else anyway.

Listening (`Waiter`, the worker loop's pause). PostgreSQL: a connection of the worker's own,
outside the pool, LISTENs; a dropped one is opened again a few seconds later and meanwhile the
worker polls. SQLite: the worker waits on its socket, and every LISTEN_SLICE_SECONDS (every
WATCH_SECONDS where it has no socket) asks SQLite whether anyone has committed since (`PRAGMA
data_version`, a look at shared memory); if so, it reads the newest ids and the earliest pending
due times (four lookups in indexes) and wakes when they changed: writers that ring no bell are
found that way.

Due times. Between passes the worker sleeps until the earliest pending row or timer falls due
(`pause_before_next`), never longer than the poll interval, so a deadline fires on time rather
than up to a poll interval late.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select as io_select
import socket
import threading
import time
import weakref
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, event, func, inspect
from sqlalchemy.orm import Session
from sqlmodel import select

from models import OutboxMessage, Timer
from models.clock import utcnow

log = logging.getLogger(__name__)

#: The PostgreSQL channel the worker listens on.
CHANNEL = "hotline_work"
#: SQLite: how often a waiting worker looks for new rows written by other processes.
WATCH_SECONDS = 0.02
#: PostgreSQL: longest single wait on the listening connection (the stop flag is checked between).
LISTEN_SLICE_SECONDS = 0.5
#: PostgreSQL: how long after losing the listening connection the worker tries another.
RELISTEN_SECONDS = 5.0
#: Rows whose arrival wakes the worker.
WATCHED = (OutboxMessage, Timer)
#: What SQLite's watch reads: it changes when a row is added or a pending due time moves.
SIGNATURE_SQL = (
    "SELECT (SELECT MAX(id) FROM outbox), (SELECT MAX(id) FROM timer),"
    " (SELECT MIN(due_at) FROM outbox WHERE status = 'pending'),"
    " (SELECT MIN(due_at) FROM timer WHERE status = 'pending')"
)

# `db` below is a hotline.plumbing.db.Database, which imports this module (hence Any).
_INFO_KEY = "hotline.wakeup"
_bells: weakref.WeakKeyDictionary[Engine, Bell] = weakref.WeakKeyDictionary()
_hooks_lock = threading.Lock()
_hooked = False


class Bell:
    """One database's bell in this process: PostgreSQL's NOTIFY, or SQLite's door, plus a local event."""

    def __init__(self, postgres: bool, door: str | None = None):
        self.postgres = postgres
        self.door = door  # SQLite: the socket the worker listens on, beside the database file
        self.rung = threading.Event()

    def ring(self) -> None:
        """Wake a worker in this process, and on SQLite one listening at the door."""
        self.rung.set()
        if self.door is None:
            return
        # A socket per ring (a few microseconds, on commits that add work only): nothing to
        # share between threads, nothing to leak, nothing inherited across gunicorn's fork.
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.setblocking(False)
            sender.sendto(b"!", self.door)  # no worker at the door, or a full queue: nothing to do


def watch(engine: Engine) -> Bell:
    """Have every session on this engine ring when it commits new work; return its bell."""
    global _hooked
    with _hooks_lock:
        if not _hooked:
            event.listen(Session, "after_flush", _after_flush)
            event.listen(Session, "do_orm_execute", _on_execute)
            event.listen(Session, "after_commit", _after_commit)
            event.listen(Session, "after_rollback", _after_rollback)
            _hooked = True
    bell = _bells.get(engine)
    if bell is None:
        file = engine.url.database if engine.dialect.name == "sqlite" else None
        door = file + "-worker.sock" if file and file != ":memory:" else None
        bell = _bells[engine] = Bell(postgres=engine.dialect.name == "postgresql", door=door)
    return bell


def _bell_of(session: Session) -> Bell | None:
    bind = session.bind
    return _bells.get(bind) if isinstance(bind, Engine) else None


def _note(session: Session, bell: Bell) -> None:
    """Remember to ring at commit; on PostgreSQL queue the NOTIFY in this transaction (once)."""
    if _INFO_KEY in session.info:
        return
    session.info[_INFO_KEY] = bell
    if bell.postgres:
        session.connection().exec_driver_sql(f"NOTIFY {CHANNEL}")


def _adds_work(session: Session) -> bool:
    if any(isinstance(row, WATCHED) for row in session.new):
        return True
    return any(
        isinstance(row, WATCHED) and inspect(row).attrs.due_at.history.has_changes() for row in session.dirty
    )


def _after_flush(session: Session, _context: Any) -> None:
    bell = _bell_of(session)
    if bell is not None and _INFO_KEY not in session.info and _adds_work(session):
        _note(session, bell)


def _on_execute(state: Any) -> None:
    # insert_once writes rows with INSERT ... ON CONFLICT, which never passes through a flush.
    if not state.is_insert or state.bind_mapper is None or state.bind_mapper.class_ not in WATCHED:
        return
    bell = _bell_of(state.session)
    if bell is not None:
        _note(state.session, bell)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the work is not visible to anyone yet
    bell = session.info.pop(_INFO_KEY, None)
    if bell is not None:
        bell.ring()


def _after_rollback(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_INFO_KEY, None)


def pause_before_next(db: Any, *, after: datetime, longest: float) -> float:
    """Return the seconds until the next row or timer pending after `after` falls due, at most `longest`.

    What fell due before `after` the pass just done has taken, or cannot take yet (the hourly
    cap, an unknown timer kind, a handler's back-off, another worker's claim): the regular poll
    looks at it again.
    """
    with db.reading() as session:
        outbox = session.exec(
            select(func.min(OutboxMessage.due_at)).where(
                OutboxMessage.status == "pending", OutboxMessage.due_at > after
            )
        ).one()
        timer = session.exec(
            select(func.min(Timer.due_at)).where(Timer.status == "pending", Timer.due_at > after)
        ).one()
    due = [moment for moment in (outbox, timer) if moment is not None]
    if not due:
        return longest
    # A millisecond late rather than early: a timer is fired only once its due time has passed.
    return max(0.0, min(longest, (min(due) - utcnow()).total_seconds() + 0.001))


class Waiter:
    """The worker loop's pause between passes, cut short when new work is committed."""

    def __init__(self, db: Any):
        self.db = db
        self._listener: Any = None  # PostgreSQL: the LISTEN connection; SQLite: the watch's
        self._listen_after = 0.0
        self._seen: tuple | None = None
        self._version: int | None = None
        self._door: socket.socket | None = None  # SQLite: where rung bells arrive
        self._door_inode: int | None = None
        self._door_tried = False

    def arm(self) -> None:
        """Start listening afresh: call before a pass, so work committed during it wakes the next wait."""
        self.db.bell.rung.clear()
        if self.db.is_sqlite:
            door = self._open_door()
            if door is not None:
                self._empty(door)
            self._seen = self._signature()
        else:
            self._drain()

    def wait(self, seconds: float, stop: threading.Event) -> bool:
        """Wait up to `seconds`; return True as soon as new work is committed (False: time up or stop)."""
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._heard(left):
                return True
        return False

    def close(self) -> None:
        """Close the listening (or watching) connection and the door, if open."""
        self._drop_connection()
        if self._door is not None:
            with contextlib.suppress(OSError):
                if os.stat(self.db.bell.door).st_ino == self._door_inode:  # not taken over since
                    os.unlink(self.db.bell.door)
            self._door.close()
            self._door = None

    def _drop_connection(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):  # closing a broken connection: nothing left to do
                self._listener.close()
            self._listener = None
            self._version = None

    # -- SQLite: the door, the local event, and a look at the newest rows -------------------------

    def _signature(self) -> tuple | None:
        try:
            watcher = self._watcher()
            # data_version changes only when another connection commits: an idle database costs
            # one look at SQLite's shared memory, and the four lookups run only after a commit.
            version = watcher.execute("PRAGMA data_version").fetchone()[0]
            if self._seen is not None and version == self._version:
                return self._seen
            self._version = version
            return tuple(watcher.execute(SIGNATURE_SQL).fetchone())
        except Exception as error:  # the database is away: the poll interval still bounds the wait
            log.debug("wake-up watch failed: %s", type(error).__name__)
            self._drop_connection()
            return self._seen

    def _open_door(self) -> socket.socket | None:
        """SQLite: listen on a socket beside the database file, where committing processes ring.

        One worker listens at a time: a second one takes the door over, and the first finds work
        by its watch instead. Where no socket can be made (a read-only folder, a path too long),
        the watch every WATCH_SECONDS does it all.
        """
        door = self.db.bell.door
        if self._door is not None or self._door_tried or door is None:
            return self._door
        self._door_tried = True
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(door)  # left by a worker that died
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            listener.bind(door)
            listener.setblocking(False)
        except OSError as error:
            log.warning("worker cannot listen beside the database (%s); watching it instead", error.strerror)
            return None
        self._door, self._door_inode = listener, os.stat(door).st_ino
        return listener

    @staticmethod
    def _empty(door: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while door.recv(64):
                pass

    def _watcher(self) -> Any:
        """SQLite: a connection of the watch's own, outside the pool (each look is one statement)."""
        if self._listener is None:
            dialect = self.db.engine.dialect
            args, kwargs = dialect.create_connect_args(self.db.engine.url)
            self._listener = dialect.loaded_dbapi.connect(*args, **{**kwargs, "isolation_level": None})
        return self._listener

    def _heard(self, left: float) -> bool:
        if self.db.is_sqlite:
            door = self._open_door()
            if door is not None:
                if io_select.select([door], [], [], min(left, LISTEN_SLICE_SECONDS))[0]:
                    self._empty(door)
                    return True
            elif self.db.bell.rung.wait(min(left, WATCH_SECONDS)):
                return True
            return self._signature() != self._seen
        listener = self._listen()
        if listener is None:
            return self.db.bell.rung.wait(min(left, LISTEN_SLICE_SECONDS))
        try:
            for _ in listener.notifies(timeout=min(left, LISTEN_SLICE_SECONDS), stop_after=1):
                return True
        except Exception as error:
            log.warning("worker stopped listening for work (%s); polling meanwhile", type(error).__name__)
            self._lost()
        return False

    # -- PostgreSQL: LISTEN on a connection of our own ------------------------------------------

    def _listen(self) -> Any:
        if self._listener is not None or time.monotonic() < self._listen_after:
            return self._listener
        dialect = self.db.engine.dialect
        try:
            args, kwargs = dialect.create_connect_args(self.db.engine.url)
            listener = dialect.loaded_dbapi.connect(*args, **kwargs)
            listener.autocommit = True
            listener.execute(f"LISTEN {CHANNEL}")
        except Exception as error:
            log.warning("worker cannot listen for work (%s); polling meanwhile", type(error).__name__)
            self._listen_after = time.monotonic() + RELISTEN_SECONDS
            return None
        self._listener = listener
        return listener

    def _drain(self) -> None:
        listener = self._listen()
        if listener is None:
            return
        try:
            for _ in listener.notifies(timeout=0):
                pass
        except Exception:
            self._lost()

    def _lost(self) -> None:
        self._drop_connection()
        self._listen_after = time.monotonic() + RELISTEN_SECONDS
