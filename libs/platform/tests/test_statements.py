"""Hot statements run on the driver (statements.Statement) on a real PostgreSQL: they join the caller's
transaction, take JSON values, and fail with SQLAlchemy's errors, a dead connection replaced."""

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB

from hotelmate_platform.db import _libpq_url
from hotelmate_platform.statements import Statement, together
from hotelmate_platform.faults import is_infrastructure_error

NOTES = sa.Table("notes", sa.MetaData(), sa.Column("id", sa.Text, primary_key=True), sa.Column("body", JSONB))
ADD = Statement(sa.insert(NOTES).inline().values(id=sa.bindparam("id"), body=sa.bindparam("body")))
READ = Statement(sa.select(NOTES).where(NOTES.c.id == sa.bindparam("id")))
SEAL = Statement(sa.update(NOTES).where(NOTES.c.id == sa.bindparam("id")).values(body={"sealed": True}))


@pytest.fixture
async def db(kit_database):
    return await kit_database("statements_kit", "DROP TABLE IF EXISTS notes",
                              "CREATE TABLE notes (id text PRIMARY KEY, body jsonb)", pool_size=1)


async def test_a_statement_joins_the_callers_transaction(db):
    async with db.unit_of_work() as uow:
        await ADD.run(uow.session, {"id": "kept", "body": {"nights": [1, 2]}})
    async with db.unit_of_work() as uow:
        await ADD.run(uow.session, [{"id": "a", "body": None}, {"id": "b", "body": {"x": 1}}])
        assert await READ.first(uow.session, {"id": "b"}) == {"id": "b", "body": {"x": 1}}
        await uow.rollback()
    async with db.reads() as conn:
        assert await READ.first(conn, {"id": "kept"}) == {"id": "kept", "body": {"nights": [1, 2]}}
        assert await READ.first(conn, {"id": "b"}) is None  # rolled back with the transaction
        assert await SEAL.run(conn, {"id": "kept"}) == 1  # a value written into the statement goes too
        assert await READ.all(conn, {"id": "kept"}) == [{"id": "kept", "body": {"sealed": True}}]


async def test_a_driver_error_is_sqlalchemys_and_a_dead_connection_is_replaced(db):
    async with db.unit_of_work() as uow:
        await ADD.run(uow.session, {"id": "twice", "body": None})
    with pytest.raises(sa_exc.IntegrityError):
        async with db.unit_of_work() as uow:
            await ADD.run(uow.session, {"id": "twice", "body": None})

    with pytest.raises(sa_exc.OperationalError) as raised:
        async with db.unit_of_work() as uow:  # the pool's one connection, killed from another one
            pid = (await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with await psycopg.AsyncConnection.connect(_libpq_url(db.url), autocommit=True) as killer:
                await killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
            await READ.first(uow.session, {"id": "twice"})
    assert raised.value.connection_invalidated and is_infrastructure_error(raised.value)
    async with db.reads() as conn:  # the next checkout gets a new connection that works
        assert await READ.first(conn, {"id": "twice"}) == {"id": "twice", "body": None}


async def test_writes_sent_later_commit_in_order_with_the_transaction(db):
    """``Statement.later`` queues a write in a unit of work: the statements that follow still see it
    (ours and SQLAlchemy's), it commits with the COMMIT, and a rollback drops it."""
    async with db.unit_of_work() as uow:
        await ADD.later(uow.session, {"id": "first", "body": {"n": 1}})
        assert await READ.first(uow.session, {"id": "first"}) == {"id": "first", "body": {"n": 1}}
        await SEAL.later(uow.session, {"id": "first"})
        seen = (await uow.session.execute(text("SELECT body FROM notes WHERE id = 'first'"))).scalar_one()
        assert seen == {"sealed": True}  # SQLAlchemy's own statements run after the queued ones
        await ADD.later(uow.session, [{"id": "second", "body": None}, {"id": "third", "body": None}])
        await SEAL.later(uow.session, {"id": "third"})  # after the insert it follows, as written
    async with db.unit_of_work() as uow:
        await ADD.later(uow.session, {"id": "dropped", "body": None})
        assert await READ.first(uow.session, {"id": "dropped"}) is not None
        await uow.rollback()
        await ADD.run(uow.session, {"id": "after the end", "body": None})  # a mistake: never committed
    with pytest.raises(RuntimeError):
        async with db.unit_of_work() as uow:
            await ADD.later(uow.session, {"id": "dropped too", "body": None})
            raise RuntimeError("the caller fails before the commit")
    async with db.reads() as conn:
        rows = (await conn.execute(text("SELECT id, body FROM notes ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [("first", {"sealed": True}), ("second", None), ("third", {"sealed": True})]
        await ADD.later(conn, {"id": "at once", "body": None})  # outside a unit of work: run now
        assert await READ.first(conn, {"id": "at once"}) == {"id": "at once", "body": None}


async def test_a_write_sent_later_that_fails_fails_the_commit_and_keeps_nothing(db):
    async with db.unit_of_work() as uow:
        await ADD.run(uow.session, {"id": "taken", "body": None})
    with pytest.raises(sa_exc.IntegrityError):
        async with db.unit_of_work() as uow:
            await ADD.later(uow.session, {"id": "new", "body": None})
            await ADD.later(uow.session, {"id": "taken", "body": None})  # a duplicate: fails at the COMMIT
    with pytest.raises(sa_exc.IntegrityError):
        async with db.unit_of_work() as uow:
            await ADD.later(uow.session, {"id": "taken", "body": None})  # ... or at the next statement
            await READ.first(uow.session, {"id": "taken"})
    async with db.unit_of_work() as uow:  # the connection is fine afterwards
        assert await READ.first(uow.session, {"id": "new"}) is None
        await ADD.later(uow.session, {"id": "new", "body": {"ok": True}})
    async with db.reads() as conn:
        assert await READ.first(conn, {"id": "new"}) == {"id": "new", "body": {"ok": True}}


async def test_statements_run_together_in_order_each_seeing_the_ones_before(db):
    async with db.autocommit() as conn:
        added, read = await together(conn, (ADD, {"id": "pair", "body": {"n": 2}}), (READ, {"id": "pair"}))
        assert added.rowcount == 1 and await read.fetchall() == [{"id": "pair", "body": {"n": 2}}]
        with pytest.raises(sa_exc.IntegrityError):
            await together(conn, (SEAL, {"id": "pair"}), (ADD, {"id": "pair", "body": None}))
        # on an autocommit connection they are one transaction: the first did not stand either
        assert await READ.first(conn, {"id": "pair"}) == {"id": "pair", "body": {"n": 2}}
