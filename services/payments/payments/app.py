"""The payments service: Stripe Checkout with manual capture, the Stripe webhook, capture/void/refund."""

from pathlib import Path

from hotelmate_platform.retention import start_retention
from hotelmate_platform.service import Runtime, create_service_app

from .adapters.stripe_api import StripeApi
from .api import internal, webhooks as webhook_api
from .handlers import HANDLERS
from .operations import OperationWorker
from .retention import retention_rules
from .settings import PaymentsSettings
from .webhooks import EventProcessor

settings = PaymentsSettings()


async def start_workers(runtime: Runtime) -> None:
    """The operation worker (Stripe calls for saga commands) and the stored-event processor."""
    stripe_api = StripeApi.from_settings(runtime.settings)
    operations = OperationWorker(runtime.db, stripe_api, runtime.settings)
    events = EventProcessor(runtime.db, stripe_api, runtime.settings)
    runtime.extras.update(stripe_api=stripe_api, operation_worker=operations, event_processor=events,
                          webhook_limiter=webhook_api.TokenBucket(runtime.settings.stripe_webhook_rate_per_second,
                                                                  runtime.settings.stripe_webhook_rate_burst))
    runtime.start("payment-operations", operations.run_forever)
    runtime.start("stripe-events", events.run_forever)
    await start_retention(runtime, retention_rules(runtime.settings))


app = create_service_app(
    settings,
    migrations_dir=Path(__file__).resolve().parent.parent / "migrations",
    routers=[webhook_api.router, internal.router],
    handlers=HANDLERS,
    on_start=[start_workers],
    secrets={"HOTELMATE_STRIPE_WEBHOOK_SECRET": settings.stripe_webhook_secret},
)
