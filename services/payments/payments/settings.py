from hotelmate_platform.settings import ServiceSettings


class PaymentsSettings(ServiceSettings):
    """Payments' own settings (``HOTELMATE_<NAME>``); names are unique to this service."""

    service_name = "payments"
    stripe_api_key: str = "sk_test_emulator"
    # Empty = the real Stripe API; the default is the project's emulator.
    stripe_api_base: str = "http://127.0.0.1:12111"
    stripe_webhook_secret: str = "whsec_hotelmate_dev"
    stripe_webhook_tolerance_seconds: int = 300
    stripe_timeout_seconds: float = 10.0
    # Retries inside one SDK call (same idempotency key); the operation worker retries on top.
    stripe_max_network_retries: int = 1
    stripe_retry_delays_ms: tuple[int, ...] = (500, 2000, 10000, 30000, 60000)
    # How long an authorisation can be captured: Stripe keeps online card authorisations 7 days.
    # Capture and void retry through a Stripe outage until then (other operations count from their
    # creation); only after it does an operation give up.
    stripe_authorisation_valid_hours: float = 168.0
    # How long a claimed operation or event is leased before another worker may take it over.
    payments_lease_seconds: float = 60.0
    # A commit that adds an operation (or a stored webhook event) wakes its worker at once; the
    # poll only picks up postponed retries and leases that ran out.
    payments_worker_poll_seconds: float = 1.0
    payments_worker_batch: int = 16
    # Retention: processed Stripe events (Stripe retries a delivery for 3 days, so keep them longer)
    # and finished operations (a refund's stay until its payment is fully refunded).
    payments_event_retention_days: float = 30.0
    payments_operation_retention_days: float = 90.0
    stripe_webhook_max_bytes: int = 256 * 1024
    stripe_webhook_rate_per_second: float = 200.0
    stripe_webhook_rate_burst: int = 400

    def retry_delay_seconds(self, attempts: int) -> float:
        """Pause after the ``attempts``-th try of an operation or stored event; the last delay repeats."""
        delays = self.stripe_retry_delays_ms
        return delays[min(attempts, len(delays)) - 1] / 1000
