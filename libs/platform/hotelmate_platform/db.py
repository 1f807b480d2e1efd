"""Database plumbing: engines, the unit of work, creating databases and running migrations."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from sqlalchemy import event, make_url, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from hotelmate_contracts import Message, wrap

from .logs import request_id_var
from .statements import end_queue, send_queued_first, start_queue

if TYPE_CHECKING:
    from hotelmate_contracts import Envelope

log = logging.getLogger(__name__)


class Database:
    """One service's database: a pool, a session factory, and a signal the outbox relay waits on."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 20, pool_timeout: float = 30) -> None:
        self.url = url
        self.engine = create_async_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout,
            hide_parameters=True,  # SQL errors must not echo guest data or tokens into logs
        )
        _ping_when_idle(self.engine.sync_engine)
        event.listen(self.engine.sync_engine, "before_cursor_execute", send_queued_first)
        # ``async with db.sessions() as session, session.begin():`` — a Core connection, not an ORM
        # session: we map no classes, only tables, and the ORM session's bookkeeping around each
        # statement and transaction cost about half again as much CPU (``execute``, ``begin``,
        # ``commit`` and ``rollback`` take and return the same).
        self.sessions: Callable[[], AsyncConnection] = self.engine.connect
        # For reads that need no transaction (one statement, or statements that need not agree): each
        # statement stands alone, which saves the BEGIN and ROLLBACK round trips around it.
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.reads: Callable[[], AsyncConnection] = self._autocommit.connect
        # The same for a write that is one statement (atomic on its own): no BEGIN and COMMIT round trips.
        self.autocommit: Callable[[], AsyncConnection] = self._autocommit.connect
        self.outbox_signal = asyncio.Event()
        self._signals: dict[str, asyncio.Event] = {}

    def signal(self, name: str) -> asyncio.Event:
        """This process's wake-up event ``name`` (e.g. a worker's "work is due"): set after a commit
        that called :meth:`UnitOfWork.wake` with it, so the worker starts at once instead of at its
        next poll. Only a hint: the work itself is found in the database, the poll stays as a net."""
        return self._signals.setdefault(name, asyncio.Event())

    def unit_of_work(self, *, correlation_id: str | None = None, causation_id: uuid.UUID | None = None) -> "UnitOfWork":
        return UnitOfWork(self, correlation_id=correlation_id, causation_id=causation_id)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


PING_IDLE_SECONDS = 1.0


def _ping_when_idle(engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, but only for a connection that sat in the pool over
    :data:`PING_IDLE_SECONDS`: after a database restart (which takes longer) every connection is
    still checked before use and a dead one replaced, while under load, where a connection comes
    back within milliseconds, the extra round trip per request is gone (it was a tenth of
    inventory's CPU at 100 clients, and as much PostgreSQL work as the query itself). A connection
    that fails while in use is invalidated with every older one in its pool, as before."""

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info["hotelmate.returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection, record, proxy) -> None:
        returned_at = record.info.get("hotelmate.returned_at")
        if returned_at is None or time.monotonic() - returned_at <= PING_IDLE_SECONDS:
            return  # just opened, or back from a request a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool discards it and hands out another (or a new) connection
            raise DisconnectionError(f"connection lost while idle: {type(exc).__name__}") from None


class UnitOfWork:
    """One transaction: the aggregate's changes and the messages they cause commit together.

    ``async with db.unit_of_work() as uow:`` opens the transaction; ``uow.publish(msg)`` adds a
    message to the outbox; leaving the block commits (or rolls back on an exception). After a
    commit that wrote messages, the relay is woken so they go out at once.
    """

    def __init__(self, db: Database, *, correlation_id: str | None, causation_id: uuid.UUID | None) -> None:
        self.db = db
        self.correlation_id = correlation_id
        self.causation_id = causation_id
        self.session: AsyncConnection
        self._pending: list[Envelope] = []
        self._wake: set[str] = set()
        self._done = False

    async def __aenter__(self) -> "UnitOfWork":
        # Autocommit for the driver: the transaction's BEGIN is sent by the unit of work, with its
        # first statement (see statements.BEGIN); SQLAlchemy's commit and rollback still end it.
        self.session = await self.db._autocommit.connect().start()
        try:
            await self.session.begin()
        except BaseException:
            await self.session.close()
            raise
        self._queue = start_queue(self.session)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None and not self._done:
                await self.commit()
            elif not self._done:
                self._queue.writes.clear()
                await self.session.rollback()
        finally:
            end_queue(self._queue)
            await self.session.close()

    def publish(self, message: Message, *, correlation_id: str | None = None) -> "Envelope":
        """Queue ``message`` for the outbox of this transaction."""
        envelope = wrap(
            message,
            correlation_id=correlation_id or self.correlation_id,
            causation_id=self.causation_id,
            request_id=request_id_var.get(),
        )
        self._pending.append(envelope)
        return envelope

    def wake(self, signal: str) -> None:
        """Set the database's ``signal`` once this transaction has committed (never on a rollback)."""
        self._wake.add(signal)

    async def commit(self) -> None:
        from .messaging.outbox import write_outbox

        if self._pending:
            await write_outbox(self.session, self._pending)
        # The writes still queued (Statement.later; the outbox rows among them) go with the COMMIT:
        # one round trip. SQLAlchemy's commit then only closes its own transaction.
        await self._queue.flush(commit=True)
        await self.session.commit()
        self._queue.begun = False  # a statement run after this (a mistake) opens a transaction never committed
        self._done = True
        if self._pending:
            self.db.outbox_signal.set()
        for name in self._wake:
            self.db.signal(name).set()
        self._pending = []
        self._wake = set()

    async def rollback(self) -> None:
        self._queue.writes.clear()
        await self.session.rollback()
        self._queue.begun = False
        self._pending = []
        self._wake = set()
        self._done = True


def _libpq_url(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` if it does not exist. Returns True when it created it."""
    name = make_url(url).database
    with psycopg.connect(_libpq_url(url, "postgres"), autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        try:
            conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.errors.DuplicateDatabase:
            return False
    log.info("created database %s", name)
    return True


async def listen(url: str, channel: str, on_notify: Callable[[str], None],
                 on_listening: Callable[[], None] | None = None) -> None:
    """Call ``on_notify(payload)`` for each PostgreSQL NOTIFY on ``channel``, until cancelled or the
    connection fails (run it under :func:`hotelmate_platform.tasks.supervise`, which starts it again).
    ``on_listening()`` is called once LISTEN is in place: notifications sent while no connection
    listened are lost, so that is when a listener re-reads what it watches."""
    async with await psycopg.AsyncConnection.connect(_libpq_url(url), autocommit=True, connect_timeout=5) as conn:
        await conn.execute(f'LISTEN "{channel}"')
        if on_listening is not None:
            on_listening()
        async for notification in conn.notifies():
            on_notify(notification.payload)


def drop_database(url: str) -> None:
    """Drop the database named in ``url`` (tests clean up with this)."""
    name = make_url(url).database
    with psycopg.connect(_libpq_url(url, "postgres"), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_migrations(url: str, migrations_dir: Path) -> None:
    """Upgrade the database to head with Alembic; an advisory lock serialises replicas."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def prepare_database(url: str, migrations_dir: Path) -> None:
    """Create if missing, then migrate: what every service does at start."""
    ensure_database(url)
    run_migrations(url, migrations_dir)
