"""Durable timeouts: hold expiry and approval deadlines fired from their stored columns.

Each round locks due bookings with ``FOR UPDATE SKIP LOCKED``, so several replicas share the work
and a restart simply finds the same rows again. Nothing is kept in memory between rounds.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from hotelmate_contracts import ApprovalDeadlineNear
from hotelmate_platform.db import Database

from .adapters import repository
from .adapters.tables import bookings
from .domain.states import Trigger
from .settings import BookingSettings
from .transitions import Transitions, contact, profile_of

log = logging.getLogger(__name__)


class Sweeper:
    def __init__(self, db: Database, settings: BookingSettings) -> None:
        self.db = db
        self.settings = settings
        self.transitions = Transitions(settings)

    async def sweep(self) -> int:
        """One round; returns how many bookings it moved or warned about."""
        done = 0
        for round_ in (self._expire_holds, self._expire_approvals, self._warn_deadlines):
            while (count := await round_()) > 0:
                done += count
        return done

    async def _fire_due(self, condition, trigger: Trigger, reason: str) -> int:
        now = datetime.now(timezone.utc)
        async with self.db.unit_of_work() as uow:
            ids = await repository.lock_due(uow.session, condition(now))
            for booking_id in ids:
                booking = await repository.load(uow.session, booking_id)
                await self.transitions.fire(uow, booking, trigger, actor="system", now=now, reason=reason)
        return len(ids)

    async def _expire_holds(self) -> int:
        return await self._fire_due(
            lambda now: sa.and_(bookings.c.status.in_(("REQUESTED", "PENDING_PAYMENT")),
                                bookings.c.hold_expires_at <= now),
            Trigger.HOLD_LAPSED, "hold expired unpaid")

    async def _expire_approvals(self) -> int:
        # A decision already taken (capture in flight) is left to the capture's answer.
        return await self._fire_due(
            lambda now: sa.and_(bookings.c.status == "PENDING_APPROVAL", bookings.c.decision.is_(None),
                                bookings.c.approval_deadline <= now),
            Trigger.APPROVAL_LAPSED, "approval deadline lapsed")

    async def _warn_deadlines(self) -> int:
        now = datetime.now(timezone.utc)
        soon = now + timedelta(minutes=self.settings.booking_deadline_warning_minutes)
        async with self.db.unit_of_work() as uow:
            ids = await repository.lock_due(uow.session, sa.and_(
                bookings.c.status == "PENDING_APPROVAL", bookings.c.decision.is_(None),
                bookings.c.deadline_warned_at.is_(None), bookings.c.approval_deadline <= soon))
            for booking_id in ids:
                booking = await repository.load(uow.session, booking_id)
                uow.publish(ApprovalDeadlineNear(
                    booking_id=booking_id, hotel=booking["hotel"], hotel_profile=profile_of(booking),
                    guest=contact(booking), approval_deadline=booking["approval_deadline"]), correlation_id=booking_id)
                await repository.update(uow.session, booking_id, {"deadline_warned_at": now})
        return len(ids)
