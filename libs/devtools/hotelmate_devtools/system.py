"""Start the whole system (or part of it) as separate processes with prefixed logs.

Used by ``make run`` (``python -m hotelmate_devtools run``) and by the end-to-end tests, so both
start exactly the same processes the same way. Each process's output also goes to its own file,
``<log_dir>/<name>.log`` (a restart appends), which the ``logtails`` pytest plugin prints the end of
when a test using the system fails.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

log = logging.getLogger(__name__)

SERVICES = ("inventory", "booking", "payments", "notifications")
DEFAULT_PORTS = {
    "gateway": 8000, "inventory": 8001, "booking": 8002, "payments": 8003, "notifications": 8004,
    "stripe-emulator": 12111, "smtp-sink": 1025, "smtp-sink-web": 8025,
}
WEBHOOK_SECRET = "whsec_hotelmate_dev"
# uvloop's event loop and httptools' HTTP parser (uvicorn's fastest; named, so a missing one fails loudly).
SERVE_OPTIONS = ("--loop", "uvloop", "--http", "httptools")


def bench_environment(prefix: str) -> None:
    """Environment for a benchmark run of its own: its databases and bus namespace (named after
    ``prefix`` and this process), a known admin, and the gateway's rate limits out of the way."""
    pid = os.getpid()
    os.environ.setdefault("HOTELMATE_DB_PREFIX", f"{prefix}_{pid}_")
    os.environ.setdefault("HOTELMATE_BUS_NAMESPACE", f"{prefix}{pid}")
    os.environ.setdefault("HOTELMATE_ADMIN_EMAIL", "admin@hotelmate.test")
    os.environ.setdefault("HOTELMATE_ADMIN_PASSWORD", "admin-password-for-bench")
    os.environ.setdefault("HOTELMATE_JWT_SECRET", os.urandom(32).hex())
    os.environ.setdefault("HOTELMATE_ENV", "development")
    os.environ.setdefault("HOTELMATE_SERVICE_SECRET", os.urandom(32).hex())
    os.environ.setdefault("HOTELMATE_BOOKING_MAX_UNPAID_PER_EMAIL", "0")  # simulated guests share emails
    os.environ.setdefault("HOTELMATE_BOOKING_MAX_UNPAID_PER_ADDRESS", "0")  # and one address
    os.environ.setdefault("HOTELMATE_MAIL_NEW_ADDRESSES_PER_HOTEL_PER_HOUR", "0")  # many of them new
    for audience in ("PUBLIC", "STAFF"):
        os.environ.setdefault(f"HOTELMATE_GATEWAY_{audience}_RATE_PER_MINUTE", "100000000")
        os.environ.setdefault(f"HOTELMATE_GATEWAY_{audience}_BURST", "1000000")


# Ports of servers this machine may (re)start later: never handed out even while they are free.
_KNOWN_SERVER_PORTS = {15672, 15692, 25672, 27017}


def _ephemeral_ports() -> tuple[int, int]:
    """The kernel's range for the local end of outgoing connections (Linux; its default elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port free now, below the kernel's ephemeral range: a port the kernel hands out itself (bind to
    port 0) can be taken by any outgoing connection between this check and the server's bind, and then
    a test's server fails to start (seen once in six loaded runs: a private PostgreSQL that could not
    bind). Below that range only an explicit bind can take it."""
    low, _ = _ephemeral_ports()
    first = 10000 if low > 12000 else 1024
    for _ in range(200):
        port = random.randrange(first, low)
        if port in _KNOWN_SERVER_PORTS:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # a crowded range: let the kernel choose
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Layout:
    """Which port each process listens on, and the environment every process shares."""

    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def random_ports(cls, env: Mapping[str, str] | None = None) -> "Layout":
        return cls(ports={name: free_port() for name in DEFAULT_PORTS}, env=dict(env or {}))

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def shared_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        env.setdefault("HOTELMATE_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
        env.setdefault("HOTELMATE_ENV", "development")  # a developer's machine: shipped secrets allowed
        env.update(
            {
                **{f"HOTELMATE_{svc.upper()}_URL": self.url(svc) for svc in SERVICES},
                "HOTELMATE_PUBLIC_BASE_URL": self.url("gateway"),
                "HOTELMATE_STRIPE_API_BASE": self.url("stripe-emulator"),
                "HOTELMATE_SMTP_HOST": "127.0.0.1",
                "HOTELMATE_SMTP_PORT": str(self.ports["smtp-sink"]),
                "STRIPE_EMULATOR_PORT": str(self.ports["stripe-emulator"]),
                "STRIPE_EMULATOR_WEBHOOK_URL": f"{self.url('payments')}/webhooks/stripe",
                "STRIPE_EMULATOR_WEBHOOK_SECRET": env["HOTELMATE_STRIPE_WEBHOOK_SECRET"],
                "STRIPE_EMULATOR_WEBHOOK_EVENTS": ",".join(webhook_events()),
                "SMTP_SINK_PORT": str(self.ports["smtp-sink"]),
                "SMTP_SINK_WEB_PORT": str(self.ports["smtp-sink-web"]),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def command(self, name: str) -> list[str]:
        py = sys.executable
        if name == "stripe-emulator":
            return [py, "-m", "stripe_emulator"]
        if name == "smtp-sink":
            return [py, "-m", "hotelmate_devtools.smtp_sink"]
        module = "gateway.app:app" if name == "gateway" else f"{name}.app:app"
        return [py, "-m", "uvicorn", module, "--host", "127.0.0.1", "--port", str(self.ports[name]), *SERVE_OPTIONS,
                "--no-access-log", "--timeout-graceful-shutdown", "5", "--timeout-keep-alive", "15"]


def webhook_events() -> list[str]:
    """The events payments' webhook endpoint is enabled for: the ones it acts on (as an operator sets
    the endpoint up in Stripe, deploy/README.md); Stripe sends the others (``charge.succeeded``, ...) to
    no one, and neither does the emulator."""
    from payments.webhooks import HANDLED

    return sorted(HANDLED)


class Process:
    """One child process whose output lines are printed with a ``name |`` prefix."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], *, echo: bool = True,
                 log_path: Path | None = None) -> None:
        self.name = name
        self.lines: list[str] = []
        self._log = open(log_path, "a", buffering=1) if log_path is not None else None
        self.popen = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            start_new_session=True,
        )
        self._echo = echo
        self._interrupted = False
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines = self.lines[-2000:] + [line]
            if self._log is not None:
                self._log.write(line)
            if self._echo:
                sys.stdout.write(f"{self.name:>14} | {line}")
                sys.stdout.flush()
        if self._log is not None:
            self._log.close()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def interrupt(self) -> None:
        """SIGINT, once: the process shuts down gracefully (a second SIGINT would make uvicorn quit at once)."""
        if self.alive() and not self._interrupted:
            self._interrupted = True
            self.popen.send_signal(signal.SIGINT)

    def stop(self, timeout: float = 10) -> None:
        self.interrupt()
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def kill(self) -> None:
        """SIGKILL: what a crash looks like."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


class System:
    """A set of started processes, stopped together; each logs to ``log_dir`` (a new temporary
    directory unless given)."""

    instances: "weakref.WeakSet[System]" = weakref.WeakSet()  # read by the logtails plugin

    def __init__(self, layout: Layout, *, echo: bool = True, log_dir: str | Path | None = None) -> None:
        self.layout = layout
        self.echo = echo
        self.processes: dict[str, Process] = {}
        self.log_dir = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="hotelmate-logs-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        System.instances.add(self)

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, names: Iterable[str], *, timeout: float = 60) -> None:
        names = list(names)
        env = self.layout.shared_env()
        for name in names:
            self.processes[name] = Process(name, self.layout.command(name), env, echo=self.echo,
                                           log_path=self.log_path(name))
        for name in names:
            self.wait_ready(name, timeout=timeout)

    def restart(self, name: str, *, timeout: float = 60) -> None:
        self.processes[name].stop()
        self.processes[name] = Process(name, self.layout.command(name), self.layout.shared_env(), echo=self.echo,
                                       log_path=self.log_path(name))
        self.wait_ready(name, timeout=timeout)

    def wait_ready(self, name: str, *, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        process = self.processes[name]
        while time.monotonic() < deadline:
            if not process.alive():
                raise RuntimeError(f"{name} exited with {process.popen.returncode}:\n{''.join(process.lines[-40:])}")
            if self._ready(name):
                return
            time.sleep(0.2)
        raise RuntimeError(f"{name} not ready after {timeout}s:\n{''.join(process.lines[-40:])}")

    def _ready(self, name: str) -> bool:
        port = self.layout.ports[name]
        if name == "smtp-sink":
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0
        path = "/_emulator/health" if name == "stripe-emulator" else "/readyz"
        try:
            return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """Every process shuts down at once (each one's graceful shutdown takes about half a second)."""
        processes = list(reversed(self.processes.values()))
        for process in processes:
            process.interrupt()
        for process in processes:
            process.stop()
        self.processes.clear()
