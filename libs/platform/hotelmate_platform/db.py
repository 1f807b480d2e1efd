"""Database plumbing: engines, the unit of work, creating databases and running migrations."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import sqlalchemy as sa
from psycopg.rows import RowFactory, dict_row
from psycopg.types.json import Jsonb
from sqlalchemy import event, make_url, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.util import await_only

from hotelmate_contracts import Message, wrap

from .logs import request_id_var

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
        event.listen(self.engine.sync_engine, "before_cursor_execute", _send_queued_first)
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


_DIALECT = PGDialect_psycopg()


class Statement:
    """A hot statement, compiled once and run on the psycopg connection under a SQLAlchemy one (in
    its transaction, if it has one); rows come back as dicts.

    SQLAlchemy's execution path (execution context, parameter processing, result metadata, the
    greenlet hop) cost more CPU than psycopg's own round trip: an inbox insert took 330 us with it
    and 181 us without, a booking's load 477 and 253. The statements every saga step runs go this
    way; the rest stay with SQLAlchemy. A driver error is raised as SQLAlchemy's (``IntegrityError``,
    ``OperationalError``, ...) so callers and :mod:`hotelmate_platform.faults` see the same errors
    either way, and a connection the error shows to be broken is invalidated, as SQLAlchemy does.
    The engine's ``before_cursor_execute`` listeners (statement counters) are told of it as well.
    """

    def __init__(self, statement: ClauseElement, *, rows: RowFactory = dict_row) -> None:
        """``rows``: how rows come back (dicts; ``namedtuple_row`` for code that reads ``row.column``)."""
        self._rows = rows
        compiled = statement.compile(dialect=_DIALECT)
        self.sql = str(compiled)
        binds = compiled.bind_names  # each bound parameter -> its name in the SQL
        self._json = frozenset(name for bind, name in binds.items() if isinstance(bind.type, sa.JSON))
        # Values written into the statement (``.values(status="SENT")``) travel as parameters too.
        self._given = {name: bind.value for bind, name in binds.items() if not bind.required}

    async def first(self, conn: AsyncConnection, params: dict) -> dict | None:
        """The first row, or None."""
        return await (await self._execute(conn, params)).fetchone()

    async def all(self, conn: AsyncConnection, params: dict) -> list[dict]:
        return await (await self._execute(conn, params)).fetchall()

    async def scalar(self, conn: AsyncConnection, params: dict) -> Any:
        """The first column of the first row (None without one)."""
        row = await (await self._execute(conn, params)).fetchone()
        return None if row is None else next(iter(row.values())) if isinstance(row, dict) else row[0]

    async def run(self, conn: AsyncConnection, params: dict | list[dict]) -> int:
        """Execute once, or once per set of ``params`` (one round trip: psycopg pipelines them);
        the number of rows it changed."""
        return (await self._execute(conn, params)).rowcount

    async def later(self, conn: AsyncConnection, params: dict | list[dict]) -> None:
        """Run this write, whose result nobody reads, with whatever goes to the database next on
        ``conn``: in a unit of work it is queued and sent in one round trip with the next statement
        or with the COMMIT (statements still run in the order written); elsewhere it runs now. An
        error it meets is raised there, and the transaction rolls back as for any failed write."""
        queue = _QUEUES.get(conn.sync_connection)
        if queue is None:
            await self._execute(conn, params)
        else:
            queue.writes.append((self, params))

    def _bound(self, params: dict) -> dict:
        if self._given:
            params = {**self._given, **params}
        if not self._json:
            return params
        return {k: Jsonb(v) if k in self._json and v is not None else v for k, v in params.items()}

    async def _execute(self, conn: AsyncConnection, params: dict | list[dict]) -> psycopg.AsyncCursor:
        driver = (await conn.get_raw_connection()).driver_connection
        cursor = driver.cursor(row_factory=self._rows)
        queue = _QUEUES.get(conn.sync_connection) if _QUEUES else None
        try:
            if queue is not None and queue.due:
                async with driver.pipeline():  # what is queued and this statement: one round trip
                    await queue.send(driver)
                    await self._send(conn, cursor, params)
            else:
                await self._send(conn, cursor, params)
        except psycopg.Error as exc:
            raise await _as_sqlalchemy_error(conn, driver, self.sql, exc) from exc
        return cursor

    async def _send(self, conn: AsyncConnection, cursor: psycopg.AsyncCursor, params: dict | list[dict]) -> None:
        sync = conn.sync_connection
        # Engine listeners see it too; the same test as SQLAlchemy's own before it dispatches (looking
        # the listeners up each time cost 2 % of inventory's CPU per quote).
        if sync is not None and (sync._has_events or sync.engine._has_events):
            sync.dispatch.before_cursor_execute(sync, cursor, self.sql, params, None, isinstance(params, list))
        if isinstance(params, list) and len(params) != 1:
            await cursor.executemany(self.sql, [self._bound(p) for p in params])
        elif isinstance(params, list):
            await cursor.execute(self.sql, self._bound(params[0]))
        else:
            await cursor.execute(self.sql, self._bound(params))


async def together(conn: AsyncConnection, *runs: tuple[Statement, dict]) -> list[psycopg.AsyncCursor]:
    """Run each ``(statement, params)`` in order, all in one round trip (psycopg's pipeline mode);
    their cursors, to read rows from. Each statement still sees what the ones before it did (in read
    committed, each takes its own snapshot when it starts). On an autocommit connection they run as
    one transaction: if one fails, none of them stands (session-level advisory locks excepted)."""
    driver = (await conn.get_raw_connection()).driver_connection
    queue = _QUEUES.get(conn.sync_connection) if _QUEUES else None
    cursors = [driver.cursor(row_factory=statement._rows) for statement, _ in runs]
    try:
        async with driver.pipeline():
            if queue is not None and queue.due:
                await queue.send(driver)
            for cursor, (statement, params) in zip(cursors, runs):
                await statement._send(conn, cursor, params)
    except psycopg.Error as exc:
        raise await _as_sqlalchemy_error(conn, driver, " / ".join(s.sql for s, _ in runs), exc) from exc
    return cursors


class _WriteQueue:
    """What a unit of work has not sent yet on its connection: its ``BEGIN`` (until its first
    statement) and the writes :meth:`Statement.later` queued."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.begun = False
        self.writes: list[tuple[Statement, dict | list[dict]]] = []

    @property
    def due(self) -> bool:
        """Whether anything waits to go before the next statement (the ``BEGIN``, at least)."""
        return not self.begun or bool(self.writes)

    async def send(self, driver: psycopg.AsyncConnection) -> None:
        """Send what is queued (the caller has ``driver`` in pipeline mode: none waits for its answer)."""
        if not self.begun:
            self.begun = True
            await driver.cursor().execute(_BEGIN, prepare=False)
        writes, self.writes = self.writes, []
        for statement, params in writes:
            await statement._send(self.conn, driver.cursor(), params)

    async def send_alone(self) -> None:
        driver = (await self.conn.get_raw_connection()).driver_connection
        try:
            async with driver.pipeline():
                await self.send(driver)
        except psycopg.Error as exc:
            raise await _as_sqlalchemy_error(self.conn, driver, "(queued writes)", exc) from exc

    async def send_with_commit(self) -> None:
        if not self.writes:
            return  # nothing queued: SQLAlchemy's commit sends the COMMIT (if a BEGIN went at all)
        driver = (await self.conn.get_raw_connection()).driver_connection
        try:
            async with driver.pipeline():  # one Sync for all: the pipeline's own, at its end
                await self.send(driver)
                await driver.cursor().execute("COMMIT", prepare=False)
        except psycopg.Error as exc:
            raise await _as_sqlalchemy_error(self.conn, driver, "COMMIT", exc) from exc


# A unit of work's connection is in autocommit for the driver, which then sends no BEGIN of its own
# (it would wait for its answer before the first statement); the unit of work sends this one with its
# first statement instead, and its COMMIT or ROLLBACK ends it.
_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED"

# The queue of each unit of work in progress, by its (sync) connection.
_QUEUES: dict[Any, _WriteQueue] = {}


def _send_queued_first(sync_connection, cursor, statement, parameters, context, executemany) -> None:
    """Before a statement SQLAlchemy runs itself, the writes queued on its connection go first."""
    queue = _QUEUES.get(sync_connection) if _QUEUES else None
    if queue is not None and queue.due:
        await_only(queue.send_alone())


async def _as_sqlalchemy_error(conn: AsyncConnection, driver: psycopg.AsyncConnection, sql: str,
                               exc: psycopg.Error) -> sa_exc.DBAPIError:
    """The error SQLAlchemy would raise for ``exc`` (so callers and faults.py see the same errors
    either way); a connection the error shows to be broken is invalidated, as SQLAlchemy does."""
    broken = driver.closed or driver.broken  # what SQLAlchemy's psycopg dialect calls a disconnect
    if broken:
        await conn.invalidate()
    return sa_exc.DBAPIError.instance(sql, None, exc, psycopg.Error, hide_parameters=True,
                                      connection_invalidated=broken, dialect=conn.dialect)


class ColumnStatements:
    """One :class:`Statement` per set of columns (the columns an update changes), made by
    ``build(columns)`` on first use: a handful in all, each compiled once. ``family[changes]`` takes
    any iterable of column names (a dict of changes: its keys)."""

    def __init__(self, build: Callable[[tuple[str, ...]], ClauseElement]) -> None:
        self._build = build
        self._made: dict[tuple[str, ...], Statement] = {}

    def __getitem__(self, columns: Iterable[str]) -> Statement:
        key = tuple(sorted(columns))
        statement = self._made.get(key)
        if statement is None:
            statement = self._made[key] = Statement(self._build(key))
        return statement


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
        # first statement (see _BEGIN); SQLAlchemy's commit and rollback still end it.
        self.session = await self.db._autocommit.connect().start()
        try:
            await self.session.begin()
        except BaseException:
            await self.session.close()
            raise
        self._queue = _QUEUES[self.session.sync_connection] = _WriteQueue(self.session)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None and not self._done:
                await self.commit()
            elif not self._done:
                self._queue.writes.clear()
                await self.session.rollback()
        finally:
            self._stop_queueing()
            await self.session.close()

    def _stop_queueing(self) -> None:
        if _QUEUES.get(self.session.sync_connection) is self._queue:
            del _QUEUES[self.session.sync_connection]

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
        await self._queue.send_with_commit()
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
