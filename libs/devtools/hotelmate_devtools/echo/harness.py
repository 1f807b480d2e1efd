"""What the messaging tests share: echo worker processes, writing pings, reading their effects."""

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from hotelmate_devtools.waiting import eventually
from hotelmate_platform.db import Database

from hotelmate_devtools.echo.messages import Ping

ECHO = Path(__file__).resolve().parent


class Worker:
    def __init__(self, role: str, env: dict[str, str]) -> None:
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"echo-{role}-{os.getpid()}-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "w+")
        self.popen = subprocess.Popen([sys.executable, "-m", "hotelmate_devtools.echo.worker", role], env=env,
                                      stdout=self.log, stderr=subprocess.STDOUT, text=True)

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout: float = 20) -> "Worker":
        deadline = time.monotonic() + timeout
        while "ready" not in self.output():
            assert self.popen.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(10)
        self.log.close()


class Workers:
    """Echo worker processes started by one test (``workers("consumer")``), stopped together."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.started: list[Worker] = []

    def __call__(self, role: str, *, ready: bool = True, **extra_env: str) -> Worker:
        worker = Worker(role, {**self.env, **extra_env})
        self.started.append(worker)
        return worker.wait_ready() if ready else worker

    def stop(self) -> None:
        for worker in self.started:
            worker.stop()


def echo_env(database_url: str, amqp_url: str, namespace: str, **extra: str) -> dict[str, str]:
    """The environment of echo workers using these servers."""
    return {**os.environ, "ECHO_DATABASE_URL": database_url, "HOTELMATE_AMQP_URL": amqp_url,
            "HOTELMATE_BUS_NAMESPACE": namespace, **extra}


async def write_pings(db: Database, numbers, *, fail: bool = False) -> None:
    async with db.unit_of_work() as uow:
        for n in numbers:
            uow.publish(Ping(n=n, fail=fail))


async def effects(db: Database, numbers) -> dict[int, int]:
    async with db.sessions() as s:
        rows = await s.execute(text("SELECT n, count(*) FROM effects WHERE n = ANY(:ns) GROUP BY n"),
                               {"ns": list(numbers)})
        return dict(rows.all())


wait_until = eventually  # the suite's one poll-until helper (hotelmate_devtools.waiting)


async def pending_outbox(db: Database) -> int:
    async with db.sessions() as s:
        return (await s.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar_one()


