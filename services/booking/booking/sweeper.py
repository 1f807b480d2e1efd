"""Durable timeouts: hold expiry and approval deadlines fired from their stored columns.

Each booking due is handled in its own transaction, locked with ``FOR UPDATE SKIP LOCKED`` after
checking it is still due, so several replicas share the work and a restart simply finds the same
rows again. A booking whose handling fails (a bug, a row the code cannot read) is logged and left
alone for ``booking_sweep_retry_seconds``; the others go on. Nothing is kept in memory between rounds.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.exc import InterfaceError, OperationalError

from hotelmate_contracts import ApprovalDeadlineNear
from hotelmate_platform.db import Database, UnitOfWork

from .adapters import repository
from .adapters.tables import bookings
from .domain.booking import Booking, Outcome
from .domain.states import AWAITING_PAYMENT, Status
from .outcomes import BookingOutbox
from .settings import BookingSettings

log = logging.getLogger(__name__)

Action = Callable[[UnitOfWork, Booking], Awaitable[None]]
# The database itself is away: stop the round (nothing is postponed), the next round tries again.
INFRASTRUCTURE = (OperationalError, InterfaceError)


class Sweeper:
    def __init__(self, db: Database, settings: BookingSettings) -> None:
        self.db = db
        self.settings = settings
        self.outbox = BookingOutbox(settings)

    async def sweep(self) -> int:
        """One round; returns how many bookings it moved or warned about."""
        done = 0
        for round_ in (self._expire_holds, self._expire_approvals, self._warn_deadlines):
            while (count := await round_()) > 0:
                done += count
        return done

    async def _each_due(self, condition: sa.ColumnElement, action: Action) -> int:
        """Run ``action`` on every booking matching ``condition``, one transaction each."""
        now = datetime.now(timezone.utc)
        due = sa.and_(condition, sa.or_(bookings.c.sweep_after.is_(None), bookings.c.sweep_after <= now))
        async with self.db.sessions() as session:
            ids = await repository.due_ids(session, due)
        handled = 0
        for booking_id in ids:
            handled += await self._handle_one(booking_id, due, action)
        return handled

    async def _handle_one(self, booking_id: str, due: sa.ColumnElement, action: Action) -> int:
        try:
            async with self.db.unit_of_work() as uow:
                if not await repository.lock_if_due(uow.session, booking_id, due):
                    return 0  # done meanwhile, or another replica has it
                await action(uow, Booking(await repository.load(uow.session, booking_id)))
            return 1
        except INFRASTRUCTURE:
            raise
        except Exception:
            retry = self.settings.booking_sweep_retry_seconds
            log.exception("sweeper: booking %s could not be handled; retried in %ss", booking_id, retry)
        async with self.db.unit_of_work() as uow:
            await repository.postpone_sweep(uow.session, booking_id, retry)
        return 0

    def _fire(self, decide: Callable[[Booking], Outcome]) -> Action:
        async def fire(uow: UnitOfWork, booking: Booking) -> None:
            await self.outbox.save(uow, booking, decide(booking), actor="system")
        return fire

    async def _expire_holds(self) -> int:
        now = datetime.now(timezone.utc)
        return await self._each_due(
            sa.and_(bookings.c.status.in_(sorted(s.value for s in AWAITING_PAYMENT)), bookings.c.hold_expires_at <= now),
            self._fire(Booking.lapse_hold))

    async def _expire_approvals(self) -> int:
        # A decision already taken (hold commit or capture in flight) is left to their answers.
        now = datetime.now(timezone.utc)
        return await self._each_due(
            sa.and_(bookings.c.status == Status.PENDING_APPROVAL.value, bookings.c.decision.is_(None),
                    bookings.c.approval_deadline <= now),
            self._fire(Booking.lapse_approval))

    async def _warn_deadlines(self) -> int:
        now = datetime.now(timezone.utc)
        soon = now + timedelta(minutes=self.settings.booking_deadline_warning_minutes)

        async def warn(uow: UnitOfWork, booking: Booking) -> None:
            uow.publish(ApprovalDeadlineNear(
                booking_id=booking.id, hotel=booking.hotel, hotel_profile=booking.profile,
                guest=booking.contact, approval_deadline=booking["approval_deadline"]), correlation_id=booking.id)
            booking.deadline_warned(now)
            await self.outbox.save(uow, booking, None, actor="system")

        return await self._each_due(
            sa.and_(bookings.c.status == Status.PENDING_APPROVAL.value, bookings.c.decision.is_(None),
                    bookings.c.deadline_warned_at.is_(None), bookings.c.approval_deadline <= soon), warn)
