"""Payments' retention rules: old processed Stripe events and finished operations go, in small
batches; recent ones stay, and so do refunds still needed to total later refunds."""

from sqlalchemy import text

from hotelmate_contracts import Money
from hotelmate_contracts.saga import CapturePayment, RefundPayment
from hotelmate_platform.retention import messaging_rules, prune_all
from payments.retention import retention_rules
from payments.settings import PaymentsSettings


async def test_old_events_and_finished_operations_go_recent_ones_stay(harness):
    old, _ = await harness.authorised("50.00")
    await harness.send(CapturePayment(booking_id=old))
    await harness.wait_for(old, "payment_captured")
    await harness.send(RefundPayment(booking_id=old, amount=Money.of("10.00", "EUR"), reason="fee kept"))
    await harness.wait_for(old, "payment_refunded")
    recent, _ = await harness.authorised("60.00")
    await harness.until_processed()
    async with harness.db.unit_of_work() as uow:
        aged = await uow.session.execute(text(
            "UPDATE stripe_events SET processed_at = now() - interval '31 days' "
            "WHERE payload->'data'->'object'->'metadata'->>'booking_id' = :b"), {"b": old})
        assert aged.rowcount > 0
        await uow.session.execute(text("UPDATE payment_operations SET finished_at = now() - interval '91 days' "
                                       "WHERE booking_id = :b"), {"b": old})
    settings = PaymentsSettings()
    await prune_all(harness.db, messaging_rules(settings) + retention_rules(settings), batch=2)

    async with harness.db.unit_of_work() as uow:
        kinds = lambda b: uow.session.execute(text(  # noqa: E731
            "SELECT kind FROM payment_operations WHERE booking_id = :b ORDER BY id"), {"b": b})
        assert list((await kinds(old)).scalars()) == ["REFUND"]  # partly refunded: its refund still counts
        assert list((await kinds(recent)).scalars()) == ["CHECKOUT"]
        events = lambda b: uow.session.execute(text(  # noqa: E731
            "SELECT count(*) FROM stripe_events WHERE payload->'data'->'object'->'metadata'->>'booking_id' = :b"), {"b": b})
        assert (await events(old)).scalar_one() == 0
        assert (await events(recent)).scalar_one() > 0
    assert (await harness.view(old))["status"] == "PARTIALLY_REFUNDED"  # the payment itself stays
