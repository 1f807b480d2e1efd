"""Check that PostgreSQL and RabbitMQ answer before anything starts, and say how to fix it if not."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from sqlalchemy import make_url

from hotelmate_platform.settings import PlatformSettings

HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "RabbitMQ": "rabbitmq-server -detached",
}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def unreachable(settings: PlatformSettings | None = None) -> list[str]:
    """Human-readable problems, one per server that does not answer (empty when all is well)."""
    settings = settings or PlatformSettings()
    pg = make_url(settings.postgres_url)
    amqp = urlsplit(settings.amqp_url)
    problems = []
    for name, host, port, setting in (
        ("PostgreSQL", pg.host or "127.0.0.1", pg.port or 5432, "HOTELMATE_POSTGRES_URL"),
        ("RabbitMQ", amqp.hostname or "127.0.0.1", amqp.port or 5672, "HOTELMATE_AMQP_URL"),
    ):
        if not _reachable(host, port):
            problems.append(
                f"{name} is not reachable at {host}:{port} (set {setting} to point elsewhere). "
                f"To start a local one: {HOW_TO_START[name]}"
            )
    return problems
