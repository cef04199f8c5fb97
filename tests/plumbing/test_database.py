"""The database layer: SQLite writers queue on a lock file; idle PostgreSQL connections are checked."""

import multiprocessing
import os
import signal
import threading
import time
from contextlib import contextmanager, suppress

import pytest
from sqlalchemy import exc, text
from sqlmodel import select

from hotline import create_app
from hotline.plumbing import db
from hotline.plumbing.db import Database, WriterQueue
from hotline.plumbing.runtime import runtime
from models import Conversation, DispatchEvent, InboundMessage
from models.clock import utcnow
from tests.calls import Caller
from tests.dispatch_helpers import CHEN, add_roster, code_for, placed_call, request_ride, the_dispatch
from tests.dispatch_helpers import text as text_hotline
from tests.services.test_relay import bridge_form, parse
from tests.support import PARTICIPANT, Twilio, hotline_config
from tests.web.test_status_callback import delivery, queue_sent_message, status

FORK = multiprocessing.get_context("fork")


def _hold(path: str, conn) -> None:
    with WriterQueue(path).turn():
        conn.send("held")
        conn.poll(30)  # until released, or the parent is gone


@contextmanager
def another_process_holding(path: str):
    """Yield (process, release) while a forked process holds the lock on `path`.

    The two talk over a pipe, never a shared lock or event: a holder killed while it held one
    would take it with it, and the parent would wait forever.
    """
    ours, theirs = FORK.Pipe()
    holder = FORK.Process(target=_hold, args=(path, theirs))
    holder.start()
    theirs.close()

    def release() -> None:
        with suppress(OSError):
            ours.send("go")

    try:
        assert ours.poll(10) and ours.recv() == "held"
        yield holder, release
    finally:
        release()
        holder.join(10)
        ours.close()


def test_a_writer_waits_for_another_process_and_goes_as_soon_as_it_is_done(tmp_path):
    path = str(tmp_path / "db-writer.lock")
    with another_process_holding(path) as (_holder, release):
        threading.Timer(0.3, release).start()
        start = time.monotonic()
        with WriterQueue(path).turn():
            waited = time.monotonic() - start
    assert 0.25 < waited < 2.0


def test_a_writer_killed_while_holding_the_lock_does_not_block_the_next(tmp_path):
    path = str(tmp_path / "db-writer.lock")
    with another_process_holding(path) as (holder, _release):
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(10)
        start = time.monotonic()
        with WriterQueue(path, timeout=5).turn():
            assert time.monotonic() - start < 1.0


def test_a_writer_gives_up_like_sqlite_when_the_lock_is_held_too_long(tmp_path):
    path = str(tmp_path / "db-writer.lock")
    locked = pytest.raises(exc.OperationalError, match="database is locked")
    with another_process_holding(path), locked, WriterQueue(path, 0.2).turn():
        pass


def test_the_queue_is_reentrant_within_a_thread_and_shared_between_threads(tmp_path):
    queue = WriterQueue(str(tmp_path / "db-writer.lock"), timeout=0.2)
    with queue.turn(), queue.turn():
        pass
    order = []
    with queue.turn():
        other = threading.Thread(target=lambda: order.append(_try(queue)))
        other.start()
        other.join()
    assert order == ["locked"], "another thread waits its turn"


def test_two_queues_on_one_file_in_one_thread_do_not_wait_for_each_other(tmp_path):
    path = str(tmp_path / "db-writer.lock")
    with WriterQueue(path, timeout=0.2).turn(), WriterQueue(path, timeout=0.2).turn():
        pass


def test_a_lock_file_that_cannot_be_opened_leaves_writers_to_sqlite(tmp_path, caplog):
    blocked = tmp_path / "db-writer.lock"
    blocked.mkdir()  # cannot be opened as a file, whoever runs this
    queue = WriterQueue(str(blocked), timeout=0.2)
    with queue.turn(), queue.turn():
        pass
    assert "waiting in SQLite instead" in caplog.text
    database = Database(f"sqlite:///{tmp_path}/db")
    database.create_all()
    with database.unit_of_work() as session:  # still works, through SQLite's own busy handler
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        session.commit()
    database.dispose()


def test_the_lock_file_takes_the_database_files_mode_and_owner(tmp_path):
    path = tmp_path / "hotline.sqlite3"
    path.touch()
    path.chmod(0o660)
    owner = 65534 if os.geteuid() == 0 else os.geteuid()  # root hands the file to the service's user
    os.chown(path, owner, -1)
    database = Database(f"sqlite:///{path}")
    with database.unit_of_work():
        pass
    lock = os.stat(f"{path}-writer.lock")
    umask = os.umask(0)
    os.umask(umask)
    assert lock.st_mode & 0o777 == 0o660 & ~umask
    assert lock.st_uid == owner
    database.dispose()


def _try(queue: WriterQueue) -> str:
    try:
        with queue.turn():
            return "went"
    except exc.OperationalError:
        return "locked"


def test_units_of_work_on_a_sqlite_file_take_turns_and_memory_needs_no_queue(tmp_path):
    on_file = Database(f"sqlite:///{tmp_path}/hotline.sqlite3")
    assert on_file.writers is not None and on_file.writers.path.endswith("hotline.sqlite3-writer.lock")
    assert Database("sqlite://").writers is None


@pytest.mark.postgres
def test_an_idle_connection_closed_by_the_server_is_replaced_before_use(postgres_url, monkeypatch):
    database = Database(postgres_url)
    try:
        with database.unit_of_work() as session:
            first = session.execute(text("SELECT pg_backend_pid()")).scalar()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
        admin = db.make_engine(postgres_url)  # a restart, as far as that connection knows
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        admin.dispose()
        with database.unit_of_work() as session:
            assert session.execute(text("SELECT pg_backend_pid()")).scalar() != first
        with database.driver() as connection:  # checked, and still free to read outside a transaction
            assert connection.execute("SELECT 1").fetchone()[0] == 1
    finally:
        database.dispose()


def restart(url: str) -> None:
    """Close every other connection to the database, as a restart of the server would."""
    admin = db.make_engine(url)
    with admin.connect() as connection:
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    admin.dispose()


@pytest.fixture
def on_postgres(postgres_url, monkeypatch):
    """An app on PostgreSQL whose pooled connections are not pinged: a restart finds them in use."""
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
    app = create_app(hotline_config(postgres_url, TESTING=True), environ={})
    rt = runtime(app)
    rt.db.create_all()
    yield app
    rt.db.dispose()


@pytest.mark.postgres
def test_a_text_arriving_just_after_a_database_restart_is_answered_as_usual(
    on_postgres, postgres_url, caplog
):
    rt = runtime(on_postgres)
    twilio = Twilio(on_postgres.test_client())
    welcome = twilio.text("hi")
    restart(postgres_url)
    assert twilio.text("MENU") == welcome, "the menu again, not the service-unavailable text"
    assert "trying once more" in caplog.text
    with rt.db.reading() as session:
        assert session.exec(select(Conversation)).one().version == 2


def test_the_drivers_own_errors_come_out_as_sqlalchemys(database_url):
    """The few statements run on the driver fail as a session's would: a repeated key is an
    IntegrityError (answered from the log), anything else a DBAPIError the webhook turns into
    the safe answer."""
    database = Database(database_url)
    database.create_all()
    try:
        insert = database.native("INSERT INTO inbound_message (sid, received_at) VALUES (:sid, :at)")
        at = database.to_driver(InboundMessage.__table__.c.received_at)(utcnow())
        with database.driver() as connection:
            connection.execute(insert, {"sid": "SM1", "at": at})
        with pytest.raises(exc.IntegrityError), database.driver() as connection:
            connection.execute(insert, {"sid": "SM1", "at": at})
        with pytest.raises(exc.DBAPIError) as failed, database.driver() as connection:
            connection.execute("SELECT * FROM no_such_table")
        assert not failed.value.connection_invalidated
        with database.reading() as session:  # the failures left nothing open behind them
            stored = session.exec(select(InboundMessage)).one()
        assert (stored.sid, stored.received_at) == (
            "SM1",
            database.from_driver(InboundMessage.__table__.c.received_at)(at),
        )
    finally:
        database.dispose()


@pytest.mark.postgres
def test_a_driver_connection_goes_back_to_the_pool_as_it_came(postgres_url, monkeypatch):
    """Lent in autocommit, it returns in transactions, as sessions expect; a dead one is dropped."""
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)  # no ping in between: the statement finds it dead
    database = Database(postgres_url)
    try:
        with database.driver() as connection:
            assert connection.autocommit
            pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        with database.unit_of_work() as session:
            assert session.execute(text("SELECT pg_backend_pid()")).scalar() == pid, "the same one, reused"
            session.execute(text("CREATE TEMP TABLE t (x int)"))
            session.rollback()  # undone: it ran in a transaction
            assert session.execute(text("SELECT to_regclass('pg_temp.t')")).scalar() is None
        admin = db.make_engine(postgres_url)
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        with pytest.raises(exc.DBAPIError) as lost, database.driver() as connection:
            connection.execute("SELECT 1")
        assert lost.value.connection_invalidated, "the webhook tries once more on a fresh connection"
        with database.driver() as connection:
            assert connection.execute("SELECT pg_backend_pid()").fetchone()[0] != pid
    finally:
        database.dispose()


@pytest.mark.postgres
def test_a_driver_connection_left_unfit_is_not_lent_again(postgres_url):
    """Closed under the block (by anything but a failing statement), it is dropped, not pooled."""
    database = Database(postgres_url)
    try:
        with database.driver() as connection:
            first = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
            connection.close()
        with database.unit_of_work() as session:
            assert session.execute(text("SELECT pg_backend_pid()")).scalar() != first
    finally:
        database.dispose()


@pytest.mark.postgres
def test_a_call_step_just_after_a_database_restart_goes_on_as_usual(on_postgres, postgres_url, caplog):
    rt = runtime(on_postgres)
    caller = Caller(Twilio(on_postgres.test_client()), rt)
    caller.start("1")
    restart(postgres_url)
    menu = caller.press("1")
    assert "press 6" in menu.text, "the information menu, not the safe goodbye"
    assert "trying once more" in caplog.text


@pytest.mark.postgres
def test_a_delivery_report_just_after_a_database_restart_is_recorded(on_postgres, postgres_url):
    rt = runtime(on_postgres)
    sid = queue_sent_message(rt)
    restart(postgres_url)
    assert status(Twilio(on_postgres.test_client()), sid, "delivered").status_code == 204
    assert delivery(rt) == ("delivered", None)


@pytest.mark.postgres
def test_a_bridged_call_just_after_a_database_restart_connects_and_its_end_is_recorded(
    on_postgres, postgres_url, caplog
):
    rt = runtime(on_postgres)
    add_roster(rt)
    request_ride(rt)
    text_hotline(rt, f"ACCEPT {code_for(rt, CHEN)}", CHEN)
    ride = the_dispatch(rt)
    text_hotline(rt, "CALL", CHEN)
    call_sid = placed_call(rt, ride.id)
    twilio = Twilio(on_postgres.test_client())
    restart(postgres_url)
    root = parse(twilio.post(f"/twilio/voice/bridge/{ride.id}", bridge_form(ride.id, call_sid=call_sid)))
    assert root.find("Dial").find("Number").text == PARTICIPANT, "connected, not told the call is closed"
    restart(postgres_url)
    missed = bridge_form(ride.id, DialCallStatus="no-answer", DialCallDuration="0")
    assert (
        "did not answer"
        in parse(twilio.post(f"/twilio/voice/bridge/{ride.id}/done", missed)).find("Say").text
    )
    with rt.db.reading() as session:
        kinds = [event.kind for event in session.exec(select(DispatchEvent)).all()]
    assert kinds.count("call_unanswered") == 1
    assert caplog.text.count("trying once more") == 2
