"""Private servers for chaos tests: a RabbitMQ node, a PostgreSQL cluster and a Redis of a test's own.

The shared servers (5432, 5672) are used by everyone at once and must never be stopped. A test
that restarts the broker or stops the database starts its own instance here, in a temporary
directory, on free ports, and always removes it (``with private_rabbitmq() as broker: ...``).
Redis is only an option of inventory's (its catalogue cache): its tests always start their own.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .system import free_port

T = TypeVar("T")

RABBITMQ_SBIN = next(iter(sorted(glob.glob("/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin"))), "/usr/lib/rabbitmq/bin")
POSTGRES_BIN = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), "/usr/lib/postgresql/bin")


def rabbitmq_available() -> bool:
    return Path(RABBITMQ_SBIN, "rabbitmq-server").exists()


def postgres_available() -> bool:
    return Path(POSTGRES_BIN, "initdb").exists()


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


@dataclass
class PrivateRabbitMQ:
    """A RabbitMQ node of one test: ``stop_app``/``start_app`` restart it like an operator would."""

    node: str
    port: int
    dist_port: int
    home: Path

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.home),  # the Erlang cookie lives here, shared by server and CLI
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.home / "log"),
            "RABBITMQ_PID_FILE": str(self.home / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.home / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.home / "advanced.config"),
        }

    def ctl(self, *args: str, timeout: float = 120) -> str:
        """Run ``rabbitmqctl -n <node> args``; raises with the output when it fails."""
        result = subprocess.run(
            [f"{RABBITMQ_SBIN}/rabbitmqctl", "-n", self.node, *args],
            env=self.env(), capture_output=True, text=True, timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stdout}{result.stderr}")
        return result.stdout

    def start(self) -> None:
        (self.home / "enabled_plugins").write_text("[].\n")  # no management plugin: no clash on 15672
        subprocess.run([f"{RABBITMQ_SBIN}/rabbitmq-server", "-detached"], env=self.env(), check=True, timeout=60)
        self._await_startup()

    def _await_startup(self, timeout: float = 120) -> None:
        # ``-detached`` returns before the node is known to epmd, and await_startup fails at once on
        # a node it cannot reach: ask again until the node answers.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.ctl("await_startup", "--timeout", str(int(timeout)), timeout=timeout + 30)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stop_app(self) -> None:
        self.ctl("stop_app")

    def start_app(self) -> None:
        self.ctl("start_app")
        self._await_startup()

    def consumers(self, queue: str) -> int:
        """How many consumers the broker counts on ``queue`` (0 when it does not exist)."""
        for line in self.ctl("list_queues", "name", "consumers", "--no-table-headers", "--quiet").splitlines():
            name, _, count = line.rpartition("\t")
            if name == queue:
                return int(count)
        return 0

    def shutdown(self) -> None:
        """Stop the whole node (the Erlang VM too); never raises."""
        try:
            self.ctl("shutdown", timeout=60)
        except Exception:  # noqa: BLE001 - fall back to the pid file
            pid_file = self.home / "pid"
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text().strip()), 9)
                except (ValueError, OSError):
                    pass


@contextmanager
def _in_a_temporary_directory(prefix: str, make: Callable[[Path], T], start: Callable[[T], None],
                              stop: Callable[[T], None]) -> Iterator[T]:
    """``make(home)`` a server living in a fresh temporary directory, ``start`` it; on exit ``stop``
    it and remove the directory, whatever happened."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    server = make(home)
    try:
        start(server)
        yield server
    finally:
        stop(server)
        shutil.rmtree(home, ignore_errors=True)


def private_rabbitmq() -> AbstractContextManager[PrivateRabbitMQ]:
    """A fresh RabbitMQ node in a temporary directory; shut down and removed on exit."""
    return _in_a_temporary_directory(
        "hmt-rabbitmq-", lambda home: PrivateRabbitMQ(node=f"hmt-chaos-{secrets.token_hex(4)}@localhost",
                                                      port=free_port(), dist_port=free_port(), home=home),
        PrivateRabbitMQ.start, PrivateRabbitMQ.shutdown)


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of one test, trust authentication, listening on 127.0.0.1:<port>."""

    port: int
    home: Path

    @property
    def url(self) -> str:
        """The server URL in the form ``HOTELMATE_POSTGRES_URL`` takes (no database)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **self._as_owner())
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}")

    def _as_owner(self) -> dict:
        # PostgreSQL refuses to run as root: run it as the owner of the data directory.
        if os.geteuid() == 0:
            return {"user": "postgres"}
        return {}

    def start(self) -> None:
        try:
            self._run(f"{POSTGRES_BIN}/pg_ctl", "-D", str(self.home / "data"), "-l", str(self.home / "log"),
                      "-o", f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off", "-w", "start")
        except RuntimeError as failed:  # the server's own words, before its directory goes
            log = self.home / "log"
            tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-20:]) if log.exists() else ""
            raise RuntimeError(f"{failed}\n--- {log} ---\n{tail}") from None

    def stop(self) -> None:
        self._run(f"{POSTGRES_BIN}/pg_ctl", "-D", str(self.home / "data"), "-m", "fast", "-w", "stop")

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres", "postgres")
        self._run(f"{POSTGRES_BIN}/initdb", "-D", str(self.home / "data"), "-U", "postgres", "--auth=trust",
                  "--no-sync")

    def is_running(self) -> bool:
        return (self.home / "data" / "postmaster.pid").exists()

    def create(self) -> None:
        """A new cluster in its directory, started."""
        self.init()
        self.start()

    def stop_quietly(self) -> None:
        """Stop it if it runs; never raises (its directory goes anyway)."""
        try:
            if self.is_running():
                self.stop()
        except Exception:  # noqa: BLE001
            pass


def private_postgres() -> AbstractContextManager[PrivatePostgres]:
    """A fresh PostgreSQL cluster in a temporary directory; stopped and removed on exit."""
    return _in_a_temporary_directory("hmt-postgres-", lambda home: PrivatePostgres(port=free_port(), home=home),
                                     PrivatePostgres.create, PrivatePostgres.stop_quietly)


@dataclass
class PrivateRedis:
    """A Redis of one test, keeping nothing on disk: ``stop`` kills it (as a crash would), ``start``
    brings it back on the same port, empty."""

    port: int
    home: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.home), "--logfile", str(self.home / "log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(self._answers, timeout=30):
            self.stop()
            raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def private_redis() -> AbstractContextManager[PrivateRedis]:
    """A fresh Redis in a temporary directory; killed and removed on exit."""
    return _in_a_temporary_directory("hmt-redis-", lambda home: PrivateRedis(port=free_port(), home=home),
                                     PrivateRedis.start, PrivateRedis.stop)


def wait_for(check, timeout: float = 30.0, interval: float = 0.1):
    """Poll ``check()`` until it returns something true or ``timeout`` passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)
