"""Database engine and units of work: SQLite for development, PostgreSQL in production."""

from __future__ import annotations

import fcntl
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar

from sqlalchemy import Column, Engine, create_engine, event, exc, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel

from hotline.plumbing.wakeup import watch

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000
# A pooled PostgreSQL connection idle this long is pinged before use (a restart may have closed
# it); connections in steady use skip the round trip, which was one in nine of an SMS turn's.
PING_AFTER_IDLE_S = 1.0


def normalise_url(url: str) -> str:
    """Point plain PostgreSQL URLs (as PaaS hosts give them) at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine: Engine) -> bool:
    """Tell whether the engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """Create an engine with the concurrency settings each database needs."""
    url = normalise_url(url)
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_size=5, max_overflow=5)
        _ping_when_idle(engine)
        return engine
    memory = url in ("sqlite://", "sqlite:///:memory:")
    path = None if memory else sqlite_file(url)
    if path is not None:
        make_private(path)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        poolclass=StaticPool if memory else None,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # pysqlite would start transactions lazily (and deferred); take control of BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        if path is not None:
            for companion in (path, path + "-wal", path + "-shm"):
                _owner_only(companion)

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # A deferred transaction that later writes fails at once, ignoring busy_timeout;
        # IMMEDIATE takes the write lock up front and waits for it instead.
        if connection.get_execution_options().get("sqlite_deferred"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection that has sat idle before handing it out; replace it if dead."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)  # outside any transaction, as pool_pre_ping does
        except Exception as error:
            # The pool discards this connection and checks out a fresh one.
            raise exc.DisconnectionError("idle connection closed by the server") from error


class WriterQueue:
    """Writers to one SQLite file wait their turn on a kernel lock beside it.

    SQLite's own busy handler sleeps 1, 2, 5 … 100 ms between tries, so under load a waiting
    writer idles long after the lock is free. A lock file wakes the next writer within 2 ms of
    the holder's unit of work ending, and the kernel drops it if the holder dies. Re-entrant
    per thread. After `timeout` seconds the writer gives up as SQLite would ("database is
    locked"). A lock file that cannot be opened (a read-only folder, another owner) costs
    only the speed: writers then wait in SQLite's busy handler as before.
    """

    _held = threading.local()  # per thread: lock file path -> depth, shared by every instance

    def __init__(self, path: str, timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000, *, like: str | None = None):
        self.path = path
        self.timeout = timeout
        self.like = like  # the database file, whose mode and owner the lock file takes
        self._warned = False

    @contextmanager
    def turn(self) -> Iterator[None]:
        held = self._held.__dict__.setdefault("depths", {})
        if held.get(self.path, 0):
            held[self.path] += 1
            try:
                yield
            finally:
                held[self.path] -= 1
            return
        fd = self._open()
        if fd is None:
            yield
            return
        try:
            self._acquire(fd)
            held[self.path] = 1
            try:
                yield
            finally:
                held[self.path] = 0
        finally:
            os.close(fd)  # releases the lock

    def _open(self) -> int | None:
        try:
            stat = os.stat(self.like) if self.like else None
        except OSError:
            stat = None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, stat.st_mode & 0o666 if stat else 0o600)
        except OSError as error:
            if not self._warned:
                self._warned = True
                log.warning(
                    "SQLite writer lock file unusable (%s); waiting in SQLite instead", error.strerror
                )
            return None
        if stat is not None and os.geteuid() == 0 and os.fstat(fd).st_uid != stat.st_uid:
            # Made by root (a CLI command run as root): hand it to the service that owns the database.
            os.fchown(fd, stat.st_uid, stat.st_gid)
        return fd

    def _acquire(self, fd: int) -> None:
        deadline = time.monotonic() + self.timeout
        pause = 0.0002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise exc.OperationalError(
                        "BEGIN IMMEDIATE", {}, TimeoutError("database is locked")
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.002)


#: Who may read a SQLite database and its companions (-wal, -shm): the service account alone.
PRIVATE_FILE = 0o600


def make_private(path: str) -> None:
    """Create the SQLite file readable by its owner only before SQLite does (it would follow the umask).

    SQLite gives the -wal and -shm files the database file's mode; on each new connection they,
    and a database made world-readable before, lose any access for others (a group a deployment
    shares the file with keeps its access).
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    except OSError:
        return  # SQLite reports what is wrong with the path when it opens it
    os.close(fd)
    _owner_only(path)


def _owner_only(path: str) -> None:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o007:
            os.chmod(path, mode & ~0o007)
    except OSError:
        pass  # absent (no WAL yet), or another owner's: nothing this process may change


def sqlite_file(url: str) -> str | None:
    """Return the file of a SQLite URL (None: in memory, or not SQLite)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def database_in_use(config: Mapping[str, Any]) -> str:
    """Name the database a process uses, without its password: what the start-up log and doctor say."""
    url = make_url(normalise_url(config["DATABASE_URL"]))
    where = sqlite_file(str(url)) or url.render_as_string(hide_password=True)
    origin = "from DATABASE_URL" if not config.get("HOTLINE_DATABASE_DEFAULT") else "DATABASE_URL not set"
    return f"{where} ({origin})"


T = TypeVar("T")


def once_more_if_dropped(work: Callable[[], T], what: str) -> T:
    """Run a unit of work; once more if the database dropped the connection it ran on (a restart).

    By then the pool has dropped that connection and the work was rolled back, or it committed
    and the second run finds it done (every webhook's work is kept once per Twilio SID): either
    way it happens once. `what` names it in the log (SIDs only).
    """
    try:
        return work()
    except exc.DBAPIError as error:
        if not error.connection_invalidated:
            raise
        log.warning("database connection lost %s; trying once more", what)
        return work()


_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def _same(value: Any) -> Any:
    return value


class Database:
    """The app's engine and the units of work built on it."""

    def __init__(self, url: str):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.bell = watch(self.engine)  # new outbox rows and timers wake the worker at commit
        path = sqlite_file(self.url)
        self.writers = WriterQueue(path + "-writer.lock", like=path) if path else None
        self._columns: dict[Column, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {}
        self._native: dict[str, str] = {}

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """Open a session for a read-modify-write; the caller commits once, errors roll back."""
        with self.writer_turn(), Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise

    def writer_turn(self):
        """Wait for this process's turn to write to the SQLite file (nothing to wait for elsewhere)."""
        return self.writers.turn() if self.writers is not None else nullcontext()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """Open a session for reads only (no write lock on SQLite)."""
        engine = self.engine.execution_options(sqlite_deferred=True)
        with Session(engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def driver(self) -> Iterator[Any]:
        """Lend a pooled connection of the driver itself, each statement committing by itself.

        For the few statements on every text's path, where the ORM and the SQL layer cost ten
        times what the database does. Write SQL with `:name` parameters and pass it through
        `native()`; values through `to_driver()`. The driver's errors come out as SQLAlchemy's
        (a broken connection invalidated and marked so), as they would from a session.
        """
        dialect = self.engine.dialect
        pooled = connection = None
        lost = False
        try:
            pooled = self.engine.raw_connection()
            connection = pooled.driver_connection
            if not self.is_sqlite:
                connection.autocommit = True
            yield connection
        except dialect.loaded_dbapi.Error as error:
            lost = connection is not None and dialect.is_disconnect(error, connection, None)
            if lost:
                pooled.invalidate(error)
            raise exc.DBAPIError.instance(
                None, None, error, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
            ) from error
        finally:
            if pooled is not None:
                if not lost and not self.is_sqlite:
                    try:
                        connection.autocommit = False  # as the pool lends it to sessions
                    except dialect.loaded_dbapi.Error as error:
                        pooled.invalidate(error)  # closed, or stopped mid-statement: not fit to lend
                pooled.close()  # back to the pool

    def native(self, sql: str) -> str:
        """Return SQL written with `:name` parameters in the driver's own style."""
        if self.is_sqlite:
            return sql
        found = self._native.get(sql)
        if found is None:
            found = self._native[sql] = _NAMED.sub(r"%(\1)s", sql)
        return found

    def to_driver(self, column: Column) -> Callable[[Any], Any]:
        """Return how a value of `column` goes to the driver, stored as the ORM stores it."""
        return self._processors(column)[0]

    def from_driver(self, column: Column) -> Callable[[Any], Any]:
        """Return how a value of `column` read through the driver becomes what the ORM gives."""
        return self._processors(column)[1]

    def _processors(self, column: Column) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
        found = self._columns.get(column)
        if found is None:
            dialect = self.engine.dialect
            kind = column.type.dialect_impl(dialect)
            bind = kind.bind_processor(dialect) or _same
            found = self._columns[column] = (bind, kind.result_processor(dialect, None) or _same)
        return found

    def create_all(self) -> None:
        """Create every table directly (tests and throwaway databases; deployments migrate)."""
        import models

        models.metadata.create_all(self.engine)

    def dispose(self) -> None:
        """Drop pooled connections (after a fork, or at shutdown)."""
        self.engine.dispose()


def insert_once(session: Session, row: SQLModel, dedupe_key: str | None) -> Any | None:
    """Insert a row unless one with its dedupe key exists; return the stored row, else None.

    INSERT ... ON CONFLICT DO NOTHING rather than check-then-insert: two transactions racing
    with the same key on PostgreSQL both pass a check, and the loser would then fail its whole
    unit of work on the unique constraint. Here the loser waits for the winner and gets None.
    """
    model = type(row)
    if dedupe_key is None:
        session.add(row)
        session.flush()
        return row
    values = row.model_dump(exclude={"id"})
    values["dedupe_key"] = dedupe_key
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(model)
    )
    return session.scalars(statement).one_or_none()
