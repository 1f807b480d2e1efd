"""Fixtures of the messaging tests: the echo database and its workers.

``echo_url`` here is a database on the module's private PostgreSQL cluster; a module that uses the
shared server defines its own ``echo_url``."""

import pytest

from hotelmate_devtools.echo.harness import ECHO
from hotelmate_platform.db import Database, prepare_database


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
