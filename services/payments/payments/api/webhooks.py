"""``POST /webhooks/stripe`` (and ``/api/v1/webhooks/stripe``): verify, store, answer. Nothing else.

The signature is checked on the raw bytes; the event is stored (unique by id) before ``200``;
a storage failure answers ``503`` so Stripe retries. Processing happens in ``payments.webhooks``; an
event of a type payments does not act on (``charge.succeeded``, ...) is stored already processed.
"""

from __future__ import annotations

import json
import logging
import time

import stripe
from fastapi import APIRouter, Depends, Request
from sqlalchemy.exc import SQLAlchemyError

from hotelmate_platform.observability.metrics import WEBHOOKS
from hotelmate_platform.problems import Problem
from hotelmate_platform.ratelimit import TokenBucket  # noqa: F401  (payments.app builds the webhook limit)
from hotelmate_platform.service import Runtime, get_runtime

from ..adapters import repository as repo
from ..webhooks import HANDLED

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(413, f"Webhook bodies are limited to {limit} bytes.", code="payload-too-large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Problem(413, f"Webhook bodies are limited to {limit} bytes.", code="payload-too-large")
    return bytes(body)


def _signed_at(header: str) -> float:
    """The ``t=`` timestamp of a ``Stripe-Signature`` header (already verified to be present)."""
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            return float(value)
    raise ValueError("no timestamp")


@router.post("/webhooks/stripe", include_in_schema=False)
@router.post("/api/v1/webhooks/stripe", summary="Stripe's webhook (signed)")
async def receive_stripe_event(request: Request, runtime: Runtime = Depends(get_runtime)) -> dict:
    settings = runtime.settings
    body = await read_limited(request, settings.stripe_webhook_max_bytes)
    try:
        header = request.headers.get("stripe-signature")
        stripe.WebhookSignature.verify_header(body, header, settings.stripe_webhook_secret,
                                              settings.stripe_webhook_tolerance_seconds)
        event = json.loads(body)
        event_id, event_type = str(event["id"]), str(event["type"])
        # Stripe's check refuses only stale timestamps; one dated ahead of the tolerance is as suspect.
        latest = time.time() + settings.stripe_webhook_tolerance_seconds
        if _signed_at(header) > latest or float(event.get("created") or 0) > latest:
            raise ValueError("dated in the future")
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        log.warning("stripe webhook rejected: bad signature, stale or future timestamp, or malformed body")
        WEBHOOKS.labels("invalid_signature").inc()
        raise Problem(400, "Invalid Stripe signature or payload.", code="invalid-signature") from None
    # Only signed deliveries spend the limit: an unsigned flood cannot starve Stripe's own.
    if not runtime.extras["webhook_limiter"].take():
        WEBHOOKS.labels("rate_limited").inc()
        raise Problem(429, "Too many webhook deliveries; retry later.", code="rate-limited",
                      headers={"Retry-After": "1"})
    try:
        async with runtime.db.autocommit() as conn:  # one statement: its own transaction
            stored = await repo.store_event(conn, event_id, event_type, body, handled=event_type in HANDLED)
    except (SQLAlchemyError, OSError):
        log.exception("could not store stripe event %s", event_id)
        WEBHOOKS.labels("storage_failed").inc()
        raise Problem(503, "The event could not be stored; retry.", code="storage-unavailable") from None
    WEBHOOKS.labels("stored" if stored else "duplicate").inc()
    if stored and event_type in HANDLED:
        runtime.extras["event_processor"].wakeup.set()
    elif stored:
        log.info("stripe event %s (%s) acknowledged, nothing to do", event_id, event_type)
    return {"received": True, "duplicate": not stored}
