"""pytest plugin: every test run gets fresh databases and its own queue names.

Loaded by the root ``pytest.ini``. At configure time it picks the servers (the local PostgreSQL
and RabbitMQ when they answer, else testcontainers where Docker runs) and sets ``HOTELMATE_*``
environment variables so every service settings object and every child process sees the run's
own database prefix and bus namespace. At the end it drops those databases and queues.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hotelmate_platform.settings import PlatformSettings

from .preflight import unreachable
from .cleanup import delete_namespace_queues, remove_run
from .system import Layout, System

RUN_ID = secrets.token_hex(3)
_OWN_RUN: list[str] = []  # the run this process named (none in a child pytest)
_containers: list = []
# Set when neither the local servers nor Docker answered: unit tests (no database, no broker) run
# all the same, and a test that needs a server fails on its own connection error.
_NO_SERVERS: list[str] = []


def _start_containers() -> None:
    """Docker fallback: a throwaway PostgreSQL and RabbitMQ for this run."""
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    pg = PostgresContainer("postgres:16", username="postgres", password="postgres", driver="psycopg")
    mq = RabbitMqContainer("rabbitmq:3.13")
    pg.start()
    mq.start()
    _containers.extend([pg, mq])
    os.environ["HOTELMATE_POSTGRES_URL"] = (
        f"postgresql+psycopg://postgres:postgres@{pg.get_container_host_ip()}:{pg.get_exposed_port(5432)}"
    )
    os.environ["HOTELMATE_AMQP_URL"] = f"amqp://guest:guest@{mq.get_container_host_ip()}:{mq.get_exposed_port(5672)}/"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long: takes a minute or more (its work unit is handed out first)")
    worker = getattr(config, "workerinput", {}).get("workerid")  # set in a pytest-xdist worker
    if worker is None and "HOTELMATE_TEST_RUN" in os.environ:  # a child pytest of ours: keep the parent's names
        return
    # An xdist worker is a run of its own inside its controller's run (hmt_<run>_gw0_...): its systems
    # never read another worker's queues, and the controller's clean-up still matches its databases.
    run = f"{os.environ['HOTELMATE_TEST_RUN']}_{worker}" if worker else RUN_ID
    _OWN_RUN.append(run)
    os.environ["HOTELMATE_TEST_RUN"] = run
    os.environ["HOTELMATE_DB_PREFIX"] = f"hmt_{run}_"
    os.environ["HOTELMATE_BUS_NAMESPACE"] = f"hmt_{run}"
    # Two (or three) workers' systems at once must fit PostgreSQL's default 100 connections (5 processes each).
    os.environ.setdefault("HOTELMATE_DB_POOL_SIZE", "6")
    os.environ.setdefault("HOTELMATE_ADMIN_EMAIL", "admin@hotelmate.test")
    os.environ.setdefault("HOTELMATE_ADMIN_PASSWORD", "admin-password-for-tests")
    os.environ.setdefault("HOTELMATE_JWT_SECRET", secrets.token_hex(32))
    os.environ.setdefault("HOTELMATE_ENV", "development")  # production refuses the test admin password
    os.environ.setdefault("HOTELMATE_SERVICE_SECRET", secrets.token_hex(32))
    os.environ.setdefault("HOTELMATE_BOOKING_MAX_UNPAID_PER_EMAIL", "0")  # tests book many times as one guest
    os.environ.setdefault("HOTELMATE_BOOKING_MAX_UNPAID_PER_ADDRESS", "0")  # from one address
    os.environ.setdefault("HOTELMATE_MAIL_NEW_ADDRESSES_PER_HOTEL_PER_HOUR", "0")  # with many new guests
    if unreachable():
        if worker is not None:  # the controller found no server and no Docker either
            _NO_SERVERS.append("no server answers")
            return
        try:
            _start_containers()
        except Exception as exc:  # noqa: BLE001 - no Docker either: tests that need no server still run
            _NO_SERVERS.append(f"{type(exc).__name__}: {exc}")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not _OWN_RUN:
        return
    try:
        if not _NO_SERVERS:  # nothing was created where no server answered
            _delete_unit_queues()
            run = f"hmt_{_OWN_RUN[0]}"
            remove_run(PlatformSettings(db_prefix=f"{run}_", bus_namespace=run))
    finally:
        for container in _containers:
            container.stop()


@pytest.fixture(scope="session")
def platform_settings() -> PlatformSettings:
    """The settings of the running work unit (its own database prefix and bus namespace)."""
    return PlatformSettings()


# Each work unit (a test module, or a folder whose conftest shares a session fixture) runs on
# databases of its own, named at its first test, so no unit reads another's rows, whichever ran
# before it on the same worker. When a unit ends, so do the systems it started and what its conftest
# set up for the session (an app consuming the bus in-process, a bus probe), and the
# ``platform_settings`` it was given, and its queues are deleted: each unit has its own bus
# namespace too, so the next unit meets no message of the last (a unit's booking ids start again at
# BK-<year>-000001). At most one unit's queues exist per worker at a time.
_systems: list[System] = []
_current_unit: list[str] = [""]
_unit_fixtures: list[tuple[pytest.FixtureDef, pytest.FixtureRequest]] = []
_unit_namespace: list[str] = []
_UNIT = pytest.StashKey[str]()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest):
    result = yield
    if fixturedef.scope == "session" and (fixturedef.baseid or fixturedef.argname == "platform_settings"):
        _unit_fixtures.append((fixturedef, request))  # a conftest's (not a plugin's), or the unit's names
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    unit = item.stash.get(_UNIT, "") or _work_unit(item)
    if unit == _current_unit[0]:
        return
    _current_unit[0] = unit
    while _systems:
        _systems.pop().stop()
    while _unit_fixtures:  # dependents first
        fixturedef, request = _unit_fixtures.pop()
        fixturedef.finish(request)
    if _OWN_RUN and not _NO_SERVERS:
        _delete_unit_queues()
        names = f"hmt_{_OWN_RUN[0]}_{hashlib.sha1(unit.encode()).hexdigest()[:6]}"
        os.environ["HOTELMATE_DB_PREFIX"] = f"{names}_"
        os.environ["HOTELMATE_BUS_NAMESPACE"] = names
        _unit_namespace.append(names)


def _delete_unit_queues() -> None:
    """Delete the queues of the unit that ended (at most one unit's queues exist at a time)."""
    while _unit_namespace:
        settings = PlatformSettings(bus_namespace=_unit_namespace.pop())
        with ThreadPoolExecutor(1) as thread:  # its own event loop, not the tests' session loop
            thread.submit(asyncio.run, delete_namespace_queues(settings)).result()


@pytest.fixture(scope="session")
def system_factory() -> Iterator[callable]:
    """Start processes of the system on free ports: ``system = system_factory(["inventory"])``.
    They run until their work unit ends (or the run does)."""

    def start(names, env: dict[str, str] | None = None) -> System:
        system = System(Layout.random_ports(env), echo=bool(os.environ.get("HOTELMATE_TEST_ECHO")))
        _systems.append(system)
        system.start(names)
        return system

    yield start
    while _systems:
        _systems.pop().stop()


def system_fixture(names: list[str], env: dict[str, str] | None = None, *, name: str = "system"):
    """A module's ``system`` fixture: ``system = system_fixture(["booking", "gateway"], env={...})``.
    Its processes stop when the module ends, so they never compete for the run's queues with the
    processes of the next module in the same folder."""

    @pytest.fixture(scope="module", name=name)
    def system(system_factory) -> Iterator[System]:
        started = system_factory(names, env=env)
        yield started
        started.stop()

    return system


@pytest.fixture(scope="module")
def private_broker():
    """A RabbitMQ node of the module's own, which its tests may stop and start (see ``chaos``)."""
    from .chaos import private_rabbitmq, rabbitmq_available

    if not rabbitmq_available():
        pytest.skip("rabbitmq-server is not installed here")
    with private_rabbitmq() as broker:
        yield broker


@pytest.fixture(scope="module")
def private_database():
    """A PostgreSQL cluster of the module's own, which its tests may stop and start (see ``chaos``)."""
    from .chaos import postgres_available, private_postgres

    if not postgres_available():
        pytest.skip("PostgreSQL server binaries are not installed here")
    with private_postgres() as cluster:
        yield cluster


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's worker reads the xdist_group marks we add
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--import-mode=importlib names a test module after its package: two test packages of the same name
    (two ``integration/__init__.py``, say) would silently run one file's tests twice and the other's never."""
    _hand_out_long_work_first(items)
    for item in items:
        module = getattr(item, "module", None)
        where = getattr(module, "__file__", None)
        if where and Path(where).resolve() != Path(item.path).resolve():
            raise pytest.UsageError(f"{item.path} was imported as {module.__name__} ({where}): "
                                    "give one of the two test packages another name")


def pytest_collection_finish(session: pytest.Session) -> None:
    """In a pytest-xdist worker with ``--dist loadgroup``, every test must carry its unit as the group
    suffix of its node id (``...::test@unit``): that is all the controller groups by. pytest 9.2 keeps
    node ids elsewhere and pytest-xdist 3.8's suffix is then silently lost (pytest-xdist issue 1386),
    which spreads a unit over the workers; fail the run instead of running it that way."""
    if getattr(session.config.option, "loadgroup", False) and any("@" not in item.nodeid for item in session.items):
        raise pytest.UsageError("pytest-xdist --dist loadgroup does not group the tests with this pytest "
                                "(see constraints.txt): the work units would be split across workers")


# Fixtures that start processes or servers: a work unit using one takes seconds at least.
_STARTS_PROCESSES = {"system_factory", "private_broker", "private_database", "redis_app"}


def _hand_out_long_work_first(items: list[pytest.Item]) -> None:
    """Group the tests into work units and order them longest first: a unit with a test marked
    ``long`` (a minute or more), then units that start processes, then the rest. pytest-xdist
    (``--dist loadgroup --no-loadscope-reorder``) hands the units out in that order, so the run does
    not end with one worker on a two-minute test while the other idles."""
    units: dict[str, int] = {}
    for item in items:
        unit = item.stash[_UNIT] = _work_unit(item)
        item.add_marker(pytest.mark.xdist_group(unit))
        if item.get_closest_marker("long"):
            weight = 0
        elif _STARTS_PROCESSES & set(getattr(item, "fixturenames", ())):
            weight = 1
        else:
            weight = 2
        units[unit] = min(weight, units.get(unit, 2))
    items.sort(key=lambda item: units[item.stash[_UNIT]])


def _work_unit(item: pytest.Item) -> str:
    """What one pytest-xdist worker runs from start to end (``--dist loadgroup``): a test module, or
    a whole folder whose conftest shares a session fixture (a started system, say), since a system
    is stopped when its worker's tests leave the folder that started it."""
    fixtures = getattr(item, "_fixtureinfo", None)
    shared = sorted(
        (d.baseid for defs in (fixtures.name2fixturedefs.values() if fixtures else ()) for d in defs
         if d.scope == "session" and d.baseid),
        key=len,
    )
    return shared[0] if shared else item.nodeid.split("::")[0]


from .waiting import eventually  # noqa: E402,F401  (the one poll-until helper, importable from here too)
