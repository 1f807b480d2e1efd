"""Hot statements on the driver: :class:`Statement` (compiled once, run on the psycopg connection
under a SQLAlchemy one), :func:`together` (several in one round trip), and the queue through which a
unit of work sends its BEGIN and :meth:`Statement.later`'s writes with its next statement or its
COMMIT (psycopg's pipeline mode)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.rows import RowFactory, dict_row
from psycopg.types.json import Jsonb
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.util import await_only

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
        return (await together(conn, (self, params)))[0]

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


async def together(conn: AsyncConnection, *runs: tuple[Statement, dict | list[dict]]) -> list[psycopg.AsyncCursor]:
    """Run each ``(statement, params)`` in order, all in one round trip (psycopg's pipeline mode);
    their cursors, to read rows from. Each statement still sees what the ones before it did (in read
    committed, each takes its own snapshot when it starts). On an autocommit connection they run as
    one transaction: if one fails, none of them stands (session-level advisory locks excepted)."""
    driver = (await conn.get_raw_connection()).driver_connection
    queue = _QUEUES.get(conn.sync_connection) if _QUEUES else None
    queued = queue is not None and queue.due
    cursors = [driver.cursor(row_factory=statement._rows) for statement, _ in runs]
    try:
        if len(runs) == 1 and not queued:  # one statement alone: no pipeline
            await runs[0][0]._send(conn, cursors[0], runs[0][1])
        else:
            async with driver.pipeline():
                if queued:
                    await queue.send(driver)
                for cursor, (statement, params) in zip(cursors, runs):
                    await statement._send(conn, cursor, params)
    except psycopg.Error as exc:
        raise await _as_sqlalchemy_error(conn, driver, " / ".join(s.sql for s, _ in runs), exc) from exc
    return cursors


class WriteQueue:
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
            await driver.cursor().execute(BEGIN, prepare=False)
        writes, self.writes = self.writes, []
        for statement, params in writes:
            await statement._send(self.conn, driver.cursor(), params)

    async def flush(self, *, commit: bool = False) -> None:
        """Send what is queued now, in one round trip; with ``commit``, the COMMIT after it (when
        nothing is queued, SQLAlchemy's commit sends it instead, if a BEGIN went at all)."""
        if commit and not self.writes:
            return
        driver = (await self.conn.get_raw_connection()).driver_connection
        try:
            async with driver.pipeline():  # one Sync for all: the pipeline's own, at its end
                await self.send(driver)
                if commit:
                    await driver.cursor().execute("COMMIT", prepare=False)
        except psycopg.Error as exc:
            what = "COMMIT" if commit else "(queued writes)"
            raise await _as_sqlalchemy_error(self.conn, driver, what, exc) from exc


# A unit of work's connection is in autocommit for the driver, which then sends no BEGIN of its own
# (it would wait for its answer before the first statement); the unit of work sends this one with its
# first statement instead, and its COMMIT or ROLLBACK ends it.
BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED"

# The queue of each unit of work in progress, by its (sync) connection.
_QUEUES: dict[Any, WriteQueue] = {}


def start_queue(conn: AsyncConnection) -> WriteQueue:
    """Queue on ``conn`` (a unit of work's connection) from now on: its BEGIN, and Statement.later's writes."""
    queue = _QUEUES[conn.sync_connection] = WriteQueue(conn)
    return queue


def end_queue(queue: WriteQueue) -> None:
    if _QUEUES.get(queue.conn.sync_connection) is queue:
        del _QUEUES[queue.conn.sync_connection]


def send_queued_first(sync_connection, cursor, statement, parameters, context, executemany) -> None:
    """Before a statement SQLAlchemy runs itself, the writes queued on its connection go first."""
    queue = _QUEUES.get(sync_connection) if _QUEUES else None
    if queue is not None and queue.due:
        await_only(queue.flush())


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
