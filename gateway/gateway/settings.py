"""The gateway's settings. Env prefix ``HOTELMATE_`` (e.g. ``HOTELMATE_JWT_SECRET``)."""

from hotelmate_platform.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name = "gateway"

    # Staff identity. An empty secret makes a random one per process (tokens die with it).
    jwt_secret: str = ""
    jwt_ttl_seconds: int = 900
    # How long a staff token's account state (disabled, changed) is cached: a change stops older tokens
    # within this time (docs/SECURITY.md).
    gateway_token_check_seconds: float = 2.0
    admin_email: str = ""
    admin_password: str = ""

    # Limits. Buckets hold `burst` tokens and refill at `per_minute`; in memory, per process.
    gateway_public_rate_per_minute: float = 600
    gateway_public_burst: int = 120
    gateway_staff_rate_per_minute: float = 1200
    gateway_staff_burst: int = 240
    gateway_login_account_per_minute: float = 5
    gateway_login_account_burst: int = 5
    gateway_login_address_per_minute: float = 20
    gateway_login_address_burst: int = 20
    gateway_max_body_bytes: int = 1_048_576
    # Take the client address from X-Forwarded-For (only behind a proxy you trust).
    gateway_trust_forwarded_for: bool = False

    # Admission control: requests forwarded at once. Above about the services' own limits it only
    # adds work (the HTTP client's pool bookkeeping grows with it) and no throughput.
    http_max_in_flight: int = 32

    # Upstream services.
    gateway_upstream_timeout_seconds: float = 10.0
    gateway_upstream_connect_seconds: float = 2.0
    # Retry-After of a 503 when a service (or the gateway's own connection pool) did not answer in time.
    gateway_busy_retry_after_seconds: int = 2
    # A guest's long poll (``?wait_for=``): the booking service holds it at most 30 s.
    gateway_long_poll_timeout_seconds: float = 35.0
    gateway_openapi_cache_seconds: float = 10.0

    # Comma-separated origins allowed by CORS; empty = no CORS headers.
    gateway_cors_origins: str = ""

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.gateway_cors_origins.split(",") if o.strip()]
