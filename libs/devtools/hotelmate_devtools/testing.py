"""pytest plugin: every test run gets fresh databases and its own queue names.

Loaded by the root ``pytest.ini``. At configure time it picks the servers (the local PostgreSQL
and RabbitMQ when they answer, else testcontainers where Docker runs) and sets ``HOTELMATE_*``
environment variables so every service settings object and every child process sees the run's
own database prefix and bus namespace. At the end it drops those databases and queues.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotelmate_platform.settings import PlatformSettings

from .preflight import unreachable
from .cleanup import remove_run
from .system import Layout, System

RUN_ID = secrets.token_hex(3)
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
    if "HOTELMATE_TEST_RUN" in os.environ:  # a child pytest of ours: keep the parent's names
        return
    os.environ["HOTELMATE_TEST_RUN"] = RUN_ID
    os.environ["HOTELMATE_DB_PREFIX"] = f"hmt_{RUN_ID}_"
    os.environ["HOTELMATE_BUS_NAMESPACE"] = f"hmt_{RUN_ID}"
    os.environ.setdefault("HOTELMATE_ADMIN_EMAIL", "admin@hotelmate.test")
    os.environ.setdefault("HOTELMATE_ADMIN_PASSWORD", "admin-password-for-tests")
    os.environ.setdefault("HOTELMATE_JWT_SECRET", secrets.token_hex(32))
    os.environ.setdefault("HOTELMATE_ENV", "development")  # production refuses the test admin password
    os.environ.setdefault("HOTELMATE_SERVICE_SECRET", secrets.token_hex(32))
    os.environ.setdefault("HOTELMATE_BOOKING_MAX_UNPAID_PER_EMAIL", "0")  # tests book many times as one guest
    os.environ.setdefault("HOTELMATE_BOOKING_MAX_UNPAID_PER_ADDRESS", "0")  # from one address
    os.environ.setdefault("HOTELMATE_MAIL_NEW_ADDRESSES_PER_HOTEL_PER_HOUR", "0")  # with many new guests
    if unreachable():
        try:
            _start_containers()
        except Exception as exc:  # noqa: BLE001 - no Docker either: tests that need no server still run
            _NO_SERVERS.append(f"{type(exc).__name__}: {exc}")


def pytest_unconfigure(config: pytest.Config) -> None:
    if os.environ.get("HOTELMATE_TEST_RUN") != RUN_ID:
        return
    try:
        if not _NO_SERVERS:  # nothing was created where no server answered
            remove_run(PlatformSettings())
    finally:
        for container in _containers:
            container.stop()


@pytest.fixture(scope="session")
def platform_settings() -> PlatformSettings:
    """The run's settings (database prefix and bus namespace are this run's own)."""
    return PlatformSettings()


# Systems share the run's databases and queues, so one suite's processes would compete for another
# suite's messages: each system is stopped as soon as the tests move to another folder.
_systems: list[tuple[Path, System]] = []
_current_folder: list[Path] = [Path()]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    folder = item.path.parent
    if folder != _current_folder[0]:
        _current_folder[0] = folder
        for owner, system in list(_systems):
            if owner != folder:
                system.stop()
                _systems.remove((owner, system))


@pytest.fixture(scope="session")
def system_factory() -> Iterator[callable]:
    """Start processes of the system on free ports: ``system = system_factory(["inventory"])``.
    They run until the tests leave the folder that started them (or the run ends)."""

    def start(names, env: dict[str, str] | None = None) -> System:
        system = System(Layout.random_ports(env), echo=bool(os.environ.get("HOTELMATE_TEST_ECHO")))
        _systems.append((_current_folder[0], system))
        system.start(names)
        return system

    yield start
    for _, system in _systems:
        system.stop()
    _systems.clear()


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--import-mode=importlib names a test module after its package: two test packages of the same name
    (two ``integration/__init__.py``, say) would silently run one file's tests twice and the other's never."""
    for item in items:
        module = getattr(item, "module", None)
        where = getattr(module, "__file__", None)
        if where and Path(where).resolve() != Path(item.path).resolve():
            raise pytest.UsageError(f"{item.path} was imported as {module.__name__} ({where}): "
                                    "give one of the two test packages another name")


from .waiting import eventually  # noqa: E402,F401  (the one poll-until helper, importable from here too)
