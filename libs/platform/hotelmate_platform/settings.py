"""Settings shared by every service; each service subclasses :class:`ServiceSettings`.

Every field can be set from the environment with the ``HOTELMATE_`` prefix, e.g.
``HOTELMATE_POSTGRES_URL`` or ``HOTELMATE_BOOKING_PORT`` for a service field.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformSettings(BaseSettings):
    """What every HotelMate process needs: where PostgreSQL and RabbitMQ are, and naming."""

    model_config = SettingsConfigDict(env_prefix="HOTELMATE_", extra="ignore")

    postgres_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    # Prefixes keep test runs (and several installations on one server) apart.
    db_prefix: str = "hotelmate_"
    bus_namespace: str = "hotelmate"
    log_level: str = "INFO"
    # "console" (readable lines, the default) or "json" (one object per line) - hotelmate_platform.logs.
    log_format: str = "console"
    public_base_url: str = "http://127.0.0.1:8000"
    # Where the services answer HTTP (the gateway, and the few synchronous calls between services).
    inventory_url: str = "http://127.0.0.1:8001"
    booking_url: str = "http://127.0.0.1:8002"
    payments_url: str = "http://127.0.0.1:8003"
    notifications_url: str = "http://127.0.0.1:8004"
    # Security (docs/SECURITY.md): production refuses weak secrets; assertions are signed with the secret.
    env: str = "production"
    service_secret: str = ""

    def database_url(self, service: str) -> str:
        return f"{self.postgres_url.rstrip('/')}/{self.db_prefix}{service}"

    def service_url(self, service: str) -> str:
        return getattr(self, f"{service}_url")


class ServiceSettings(PlatformSettings):
    """Settings of one service process. ``service_name`` is fixed by the subclass."""

    service_name: ClassVar[str] = "service"
    outbox_poll_seconds: float = 1.0
    outbox_batch_size: int = 100
    # Messages handled at once (each holds a database connection): bounded, so a saga backlog leaves
    # connections and CPU to HTTP requests (docs/ARCHITECTURE.md, "Capacity").
    consumer_prefetch: int = 8
    consumer_max_attempts: int = 5
    retry_delays_ms: tuple[int, ...] = (200, 1000, 5000, 15000)
    sweep_seconds: float = 2.0
    # Database pool: every replica of the five processes must fit PostgreSQL's max_connections (100
    # by default): 5 x (15 + 0) = 75. A request that cannot get a connection in time is 503. All 15
    # are kept once opened (no overflow): an overflow connection is closed on its return, so under
    # load the pool opened and closed connections all the time (a PostgreSQL backend started each
    # time, its prepared statements lost).
    db_pool_size: int = 15
    db_pool_overflow: int = 0
    db_pool_timeout_seconds: float = 2.0
    # Admission control (hotelmate_platform.admission): HTTP requests handled at once, how long one
    # over the limit may wait for a slot, how many may wait, and the Retry-After of a refusal.
    http_max_in_flight: int = 24
    http_queue_seconds: float = 0.25
    http_max_waiting: int = 400
    http_retry_after_seconds: float = 1.0
    # Larger bodies are 413 on every method (hotelmate_platform.limits).
    http_max_body_bytes: int = 1_048_576
    # Retention (hotelmate_platform.retention): how often old rows are pruned, how many per
    # transaction, and how long published outbox rows and inbox rows are kept.
    retention_every_seconds: float = 600.0
    retention_batch: int = 500
    retention_messages_days: float = 7.0

    @property
    def database(self) -> str:
        return self.database_url(self.service_name)
