"""Hot statements run on the driver (db.Statement) on a real PostgreSQL: they join the caller's
transaction, take JSON values, and fail with SQLAlchemy's errors, a dead connection replaced."""

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import JSONB

from hotelmate_platform.db import Statement, _libpq_url
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
