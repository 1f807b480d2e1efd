"""Fixtures of the messaging tests: the echo database and its workers.

``echo_url`` here is a database on the module's private PostgreSQL cluster; a module that uses the
shared server defines its own ``echo_url``."""

import pytest
from sqlalchemy import text

from hotelmate_devtools.echo.harness import ECHO
from hotelmate_platform.db import Database, ensure_database, prepare_database


@pytest.fixture(scope="module")
def echo_url(private_database) -> str:
    url = f"{private_database.url}/echo"
    prepare_database(url, ECHO / "migrations")
    return url


@pytest.fixture
async def db(echo_url):
    database = Database(echo_url, pool_size=2, max_overflow=2)
    yield database
    await database.dispose()


@pytest.fixture
async def kit_database(platform_settings):
    """``await kit_database(name, *sql, pool_size=n)``: a database of a kit's tests on the shared server
    (dropped with the run's other databases), set up by ``sql`` in one transaction (drop and create its
    table), disposed of after the test."""
    made: list[Database] = []

    async def make(name: str, *sql: str, pool_size: int) -> Database:
        url = platform_settings.database_url(name)
        ensure_database(url)
        database = Database(url, pool_size=pool_size, max_overflow=0)
        made.append(database)
        async with database.sessions() as session, session.begin():
            for statement in sql:
                await session.execute(text(statement))
        return database

    yield make
    for database in made:
        await database.dispose()
