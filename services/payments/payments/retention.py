"""What payments prunes besides the outbox and inbox (see ``hotelmate_platform.retention``)."""

from __future__ import annotations

from datetime import timedelta

from hotelmate_platform.retention import Rule

from .settings import PaymentsSettings


def retention_rules(settings: PaymentsSettings) -> list[Rule]:
    return [
        Rule("processed Stripe events", "stripe_events", "processed_at < :cutoff",
             timedelta(days=settings.payments_event_retention_days)),
        # A refund's amount counts in later refunds' totals until the payment is fully refunded.
        Rule("finished payment operations", "payment_operations",
             "status IN ('DONE', 'FAILED') AND finished_at < :cutoff AND (kind <> 'REFUND' OR booking_id IN "
             "(SELECT booking_id FROM payments WHERE status = 'REFUNDED'))",
             timedelta(days=settings.payments_operation_retention_days)),
    ]
