"""What ``make run`` does on a fresh machine: servers that answer, a development admin, a demo hotel.

- PostgreSQL: a configured server that answers always wins. Otherwise an embedded cluster from
  Debian's PostgreSQL binaries (``/usr/lib/postgresql/*/bin``, contrib's btree_gist included) with its
  data in ``.data/postgres``, on the configured port; started here, stopped when ``make run`` stops.
- RabbitMQ has no embedded form: a local node from the installed ``rabbitmq-server`` (data in
  ``.data/rabbitmq``), or the exact commands to get one.
- The development admin: credentials made once, printed once, kept in ``.data/admin.json``.
- The demo hotel ``demo``: room types, rooms, rates, a tax and a cancellation policy, through the API.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import make_url

from hotelmate_platform.settings import PlatformSettings

from .chaos import POSTGRES_BIN, RABBITMQ_SBIN, PrivatePostgres, PrivateRabbitMQ, postgres_available, rabbitmq_available
from .system import free_port

DATA = Path(os.environ.get("HOTELMATE_DATA_DIR", ".data"))
DEMO = "demo"
RABBITMQ_HOWTO = ("RabbitMQ is not running and not installed. Get one, then run `make run` again:\n"
                  "  Debian/Ubuntu: apt-get install -y rabbitmq-server && rabbitmq-server -detached\n"
                  "  Docker:        docker run -d --name hotelmate-rabbitmq -p 5672:5672 rabbitmq:3\n"
                  "  or point HOTELMATE_AMQP_URL at a running broker.")
POSTGRES_HOWTO = ("PostgreSQL is not running and its binaries are not installed. Get them, then run `make run` again:\n"
                  "  Debian/Ubuntu: apt-get install -y postgresql postgresql-contrib (make run starts it embedded)\n"
                  "  Docker:        docker run -d --name hotelmate-postgres -e POSTGRES_HOST_AUTH_METHOD=trust "
                  "-p 5432:5432 postgres:16\n"
                  "  or point HOTELMATE_POSTGRES_URL at a running server.")


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


class Servers:
    """The servers this run started itself (stopped by :meth:`stop`)."""

    def __init__(self) -> None:
        self.postgres: PrivatePostgres | None = None
        self.rabbitmq: PrivateRabbitMQ | None = None

    def ensure(self, settings: PlatformSettings) -> list[str]:
        """Start what does not answer; the problems left (each with how to fix it)."""
        problems = []
        pg = make_url(settings.postgres_url)
        if not answers(pg.host or "127.0.0.1", pg.port or 5432):
            if postgres_available() and (pg.host or "127.0.0.1") in ("127.0.0.1", "localhost"):
                try:
                    self.postgres = start_postgres(pg.port or 5432)
                except RuntimeError as failed:
                    problems.append(f"the embedded PostgreSQL did not start ({failed}); as root, every folder above "
                                    f"{DATA.resolve()} must be readable by the postgres user. " + POSTGRES_HOWTO)
                    return problems
                print(f"hotelmate: no PostgreSQL answered at {pg.host}:{pg.port or 5432}: started an embedded one "
                      f"({POSTGRES_BIN}, data in {DATA / 'postgres'}); it stops with `make run`.", flush=True)
            else:
                problems.append(POSTGRES_HOWTO)
        amqp = urlsplit(settings.amqp_url)
        host, port = amqp.hostname or "127.0.0.1", amqp.port or 5672
        if not answers(host, port):
            if rabbitmq_available() and host in ("127.0.0.1", "localhost"):
                print(f"hotelmate: no RabbitMQ answered at {host}:{port}: starting a local node "
                      f"({RABBITMQ_SBIN}/rabbitmq-server, data in {DATA / 'rabbitmq'})…", flush=True)
                self.rabbitmq = start_rabbitmq(port)
                print("hotelmate: RabbitMQ started; it stops with `make run`.", flush=True)
            else:
                problems.append(RABBITMQ_HOWTO)
        return problems

    def stop(self) -> None:
        if self.rabbitmq is not None:
            self.rabbitmq.shutdown()
        if self.postgres is not None and self.postgres.is_running():
            self.postgres.stop()


def start_postgres(port: int) -> PrivatePostgres:
    home = (DATA / "postgres").resolve()
    home.mkdir(parents=True, exist_ok=True)
    cluster = PrivatePostgres(port=port, home=home)
    if not (home / "data" / "PG_VERSION").exists():
        cluster.init()
    if cluster.is_running():  # a stale pid file from a killed run
        (home / "data" / "postmaster.pid").unlink(missing_ok=True)
    cluster.start()
    return cluster


def start_rabbitmq(port: int) -> PrivateRabbitMQ:
    home = (DATA / "rabbitmq").resolve()
    home.mkdir(parents=True, exist_ok=True)
    broker = PrivateRabbitMQ(node="hotelmate-dev@localhost", port=port, dist_port=free_port(), home=home)
    broker.start()
    return broker


def development_admin() -> dict[str, str]:
    """The development admin's credentials: from the environment, else from ``.data/admin.json``,
    else made now, written there and printed (this once)."""
    if os.environ.get("HOTELMATE_ADMIN_EMAIL") and os.environ.get("HOTELMATE_ADMIN_PASSWORD"):
        return {"email": os.environ["HOTELMATE_ADMIN_EMAIL"], "password": os.environ["HOTELMATE_ADMIN_PASSWORD"]}
    path = DATA / "admin.json"
    if path.exists():
        found = json.loads(path.read_text())
        print(f"hotelmate: development admin {found['email']} (password in {path})", flush=True)
        return found
    made = {"email": "admin@hotelmate.local", "password": secrets.token_urlsafe(12)}
    DATA.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(made, indent=2) + "\n")
    path.chmod(0o600)
    print(f"hotelmate: created the development admin — email {made['email']}, password {made['password']} "
          f"(shown once; kept in {path})", flush=True)
    return made


def demo_catalogue(today: date) -> list[tuple[str, dict]]:
    """The demo hotel, as the staff API's PUTs (paths after /api/v1/staff/hotels/demo)."""
    rates_from, rates_to = today, today + timedelta(days=365)
    return [
        ("", {"name": "HotelMate Demo", "timezone": "Europe/Paris", "currency": "EUR", "check_in_time": "15:00",
              "check_out_time": "11:00", "hold_minutes": 30, "approval_hours": 24, "staff_email": "desk@demo.test"}),
        ("/room-types/DBL", {"name": "Double room", "max_adults": 2, "max_children": 1, "base_rate": "120.00"}),
        ("/room-types/STE", {"name": "Suite", "max_adults": 4, "max_children": 2, "base_rate": "240.00"}),
        *[(f"/rooms/{n}", {"room_type": "DBL", "in_service": True}) for n in ("101", "102", "103", "104")],
        *[(f"/rooms/{n}", {"room_type": "STE", "in_service": True}) for n in ("201", "202")],
        ("/rates", [{"room_type": "DBL", "from": rates_from.isoformat(), "to": rates_to.isoformat(), "price": "120.00"},
                    {"room_type": "STE", "from": rates_from.isoformat(), "to": rates_to.isoformat(), "price": "240.00"}]),
        ("/taxes", [{"code": "CITY", "name": "City tax", "kind": "PER_PERSON_PER_NIGHT", "value": "2.50"}]),
        ("/cancellation-policy", {"free_until_hours": 48, "penalty": "FIRST_NIGHT"}),
    ]


def ensure_demo_hotel(gateway_url: str, admin: dict[str, str]) -> str:
    """Create the demo hotel unless it exists; what to tell the newcomer."""
    with httpx.Client(base_url=gateway_url, timeout=30) as http:
        if http.get(f"/api/v1/hotels/{DEMO}").status_code == 200:
            return f"demo hotel: {gateway_url}/book/{DEMO}"
        signed_in = http.post("/api/v1/auth/token", json=admin)
        if signed_in.status_code != 200:
            return (f"demo hotel not created: the admin {admin['email']} could not sign in ({signed_in.status_code}); "
                    "another admin exists in this database (remove .data/ for a fresh start)")
        headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        for path, body in demo_catalogue(date.today()):
            answer = http.put(f"/api/v1/staff/hotels/{DEMO}{path}", json=body, headers=headers)
            if answer.status_code >= 300:
                return f"demo hotel incomplete: PUT {path} answered {answer.status_code} {answer.text[:200]}"
    return f"demo hotel created: {gateway_url}/book/{DEMO}"
