"""The official ``stripe`` SDK, configured from settings, and the few calls payments makes.

Every mutation carries an idempotency key from (booking, operation). Errors are sorted into
:class:`StripeUnavailable` (retry later with the same key) and :class:`StripeRefused` (a clean,
final answer such as a decline or an expired authorisation).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import aiohttp
import stripe

from hotelmate_platform.observability.metrics import observe_stripe

from ..domain.model import IntentSnapshot
from ..settings import PaymentsSettings


class StripeUnavailable(Exception):
    """Network error, timeout, 5xx, rate limit or a concurrent request with the same key."""


class StripeRefused(Exception):
    """Stripe answered no for good (4xx other than rate limits); ``code`` is Stripe's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def new_http_client(settings: PaymentsSettings) -> stripe.HTTPClient:
    # aiohttp rather than httpx: httpx's pool bookkeeping was a third of the Stripe calls' CPU.
    return stripe.AIOHTTPClient(timeout=aiohttp.ClientTimeout(total=settings.stripe_timeout_seconds))


def build_client(settings: PaymentsSettings, http_client: stripe.HTTPClient | None = None) -> stripe.StripeClient:
    base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
    return stripe.StripeClient(
        settings.stripe_api_key,
        base_addresses=base,
        max_network_retries=settings.stripe_max_network_retries,
        http_client=http_client or new_http_client(settings),
    )


def _translate(exc: stripe.StripeError) -> Exception:
    status = exc.http_status or 0
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError)) or status >= 500 or status in (409, 429):
        return StripeUnavailable(f"{type(exc).__name__} {status}")
    code = getattr(exc, "code", None) or type(exc).__name__
    return StripeRefused(str(code), exc.user_message or str(exc)[:200])


class StripeApi:
    """The calls payments makes, async, each with its idempotency key."""

    def __init__(self, client: stripe.StripeClient, http_client: stripe.HTTPClient | None = None) -> None:
        self.client = client
        self.http_client = http_client

    @classmethod
    def from_settings(cls, settings: PaymentsSettings) -> "StripeApi":
        http_client = new_http_client(settings)
        return cls(build_client(settings, http_client), http_client)

    async def close(self) -> None:
        """Close the HTTP connections (one-shot commands, before their event loop ends)."""
        if self.http_client is not None:
            await self.http_client.close_async()

    async def _call(self, fn, *args: Any, **kwargs: Any) -> Any:
        try:
            with observe_stripe(getattr(fn, "__qualname__", "call")):  # latency and errors per operation
                return (await fn(*args, **kwargs)).to_dict()  # plain dicts from here on
        except stripe.StripeError as exc:
            raise _translate(exc) from None

    async def create_checkout_session(self, params: dict, key: str) -> Any:
        return await self._call(self.client.v1.checkout.sessions.create_async, params, {"idempotency_key": key})

    async def retrieve_session(self, session_id: str) -> Any:
        return await self._call(self.client.v1.checkout.sessions.retrieve_async, session_id)

    async def expire_session(self, session_id: str, key: str) -> Any:
        return await self._call(self.client.v1.checkout.sessions.expire_async, session_id, None,
                                {"idempotency_key": key})

    async def retrieve_intent(self, intent_id: str) -> Any:
        """The PaymentIntent with its latest charge expanded (for :func:`capture_before`)."""
        return await self._call(self.client.v1.payment_intents.retrieve_async, intent_id,
                                {"expand": ["latest_charge"]})

    async def capture(self, intent_id: str, key: str) -> Any:
        return await self._call(self.client.v1.payment_intents.capture_async, intent_id, None,
                                {"idempotency_key": key})

    async def cancel(self, intent_id: str, key: str) -> Any:
        return await self._call(self.client.v1.payment_intents.cancel_async, intent_id, None,
                                {"idempotency_key": key})

    async def refund(self, intent_id: str, amount_minor: int, key: str) -> Any:
        params = {"payment_intent": intent_id, "amount": amount_minor}
        return await self._call(self.client.v1.refunds.create_async, params, {"idempotency_key": key})


def capture_before(intent: Any) -> datetime | None:
    """Until when Stripe lets this authorisation be captured (``card.capture_before`` of the
    expanded latest charge), or None when Stripe does not say."""
    charge = intent.get("latest_charge")
    if not isinstance(charge, dict):
        return None
    stamp = ((charge.get("payment_method_details") or {}).get("card") or {}).get("capture_before")
    return datetime.fromtimestamp(stamp, timezone.utc) if stamp else None


def snapshot(intent: Any) -> IntentSnapshot:
    """A PaymentIntent (as a dict) as the domain sees it."""
    get = intent.get
    return IntentSnapshot(status=get("status"), amount=int(get("amount") or 0), currency=str(get("currency") or ""),
                          amount_received=int(get("amount_received") or 0))
