"""A gateway process in front of four stand-in upstream processes, with low limits for the tests."""

from __future__ import annotations

import itertools
import os
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.runtime import SERVICES
from hotelmate_devtools.system import Process

HERE = Path(__file__).resolve().parent.parent
# Slow refills, so that a burst stays spent however slowly a loaded machine runs the test.
LIMITS = {
    "HOTELMATE_GATEWAY_TRUST_FORWARDED_FOR": "true",
    "HOTELMATE_GATEWAY_PUBLIC_BURST": "20",
    "HOTELMATE_GATEWAY_PUBLIC_RATE_PER_MINUTE": "6",
    "HOTELMATE_GATEWAY_STAFF_BURST": "150",
    "HOTELMATE_GATEWAY_STAFF_RATE_PER_MINUTE": "1",
    "HOTELMATE_GATEWAY_LOGIN_ACCOUNT_BURST": "3",
    "HOTELMATE_GATEWAY_LOGIN_ACCOUNT_PER_MINUTE": "1",
    "HOTELMATE_GATEWAY_LOGIN_ADDRESS_PER_MINUTE": "1",
    "HOTELMATE_GATEWAY_LOGIN_ADDRESS_BURST": "6",
    "HOTELMATE_GATEWAY_MAX_BODY_BYTES": "4096",
    "HOTELMATE_GATEWAY_UPSTREAM_TIMEOUT_SECONDS": "1",
    "HOTELMATE_GATEWAY_OPENAPI_CACHE_SECONDS": "0",
}
_addresses = itertools.count(1)


def new_address() -> str:
    """A fresh client address (the test gateway trusts X-Forwarded-For) so limits never leak between tests."""
    n = next(_addresses)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


class Standins:
    """One stand-in process per service, on the ports the gateway was told about."""

    def __init__(self, ports: dict[str, int]) -> None:
        self.ports = ports
        self.processes: dict[str, Process] = {}

    def start(self, name: str) -> None:
        env = {**os.environ, "STANDIN_NAME": name, "PYTHONUNBUFFERED": "1"}
        argv = [sys.executable, "-m", "uvicorn", "standin:app", "--app-dir", str(HERE), "--host", "127.0.0.1",
                "--port", str(self.ports[name]), "--no-access-log"]
        self.processes[name] = Process(f"standin-{name}", argv, env, echo=False)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.ports[name]}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"stand-in {name} did not start: {''.join(self.processes[name].lines[-20:])}")

    def stop(self, name: str) -> None:
        self.processes[name].stop()

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.stop()


@pytest.fixture(scope="session")
def standin_system(system_factory):
    system = system_factory(["gateway"], env=LIMITS)
    standins = Standins({s: system.layout.ports[s] for s in SERVICES})
    for name in SERVICES:
        standins.start(name)
    yield system, standins
    standins.stop_all()


@pytest.fixture(scope="session")
def gw(standin_system) -> httpx.Client:
    system, _ = standin_system
    with httpx.Client(base_url=system.layout.url("gateway"), timeout=10) as client:
        yield client


def login(client: httpx.Client, email: str, password: str) -> str:
    answer = client.post("/api/v1/auth/token", json={"email": email, "password": password},
                         headers={"X-Forwarded-For": new_address()})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


@pytest.fixture(scope="session")
def admin_token(gw) -> str:
    return login(gw, os.environ["HOTELMATE_ADMIN_EMAIL"], os.environ["HOTELMATE_ADMIN_PASSWORD"])


_accounts = itertools.count(1)


def make_staff(client: httpx.Client, admin_token: str, role: str, hotels=("h1",)) -> str:
    """Create an account with ``role`` on ``hotels`` and return a token for it."""
    email = f"{role.lower()}{next(_accounts)}-{os.getpid()}@hotelmate.test"
    created = client.post("/api/v1/admin/staff", headers={"Authorization": f"Bearer {admin_token}"},
                          json={"email": email, "password": "a-long-enough-password", "role": role,
                                "hotels": list(hotels)})
    assert created.status_code == 201, created.text
    return login(client, email, "a-long-enough-password")


@pytest.fixture(scope="session")
def tokens(gw, admin_token) -> dict[str, str]:
    return {
        "ADMIN": admin_token,
        "MANAGER": make_staff(gw, admin_token, "MANAGER"),
        "RECEPTIONIST": make_staff(gw, admin_token, "RECEPTIONIST"),
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def address():
    """``address()`` gives a fresh client address."""
    return new_address


@pytest.fixture(scope="session")
def staff_factory(gw, admin_token):
    """``staff_factory(role, hotels)`` creates an account and returns its token."""
    return lambda role, hotels=("h1",): make_staff(gw, admin_token, role, hotels)
