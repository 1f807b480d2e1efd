"""The sender loop: claim due deliveries, send each outside any transaction, settle it.

A delivery is claimed, alone, right before its SMTP call: marked SENDING (with a lease that covers
one call) and committed, then marked SENT after the server accepted it. A process that dies in between leaves the row SENDING; once its lease
runs out another round sends it again with the same Message-ID. That is the one way an email can
go out twice, and at most once more per crash; it is never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from types import SimpleNamespace

from sqlalchemy.engine import Row

from hotelmate_platform.db import Database
from hotelmate_platform.observability.metrics import EMAILS

from .adapters import repository
from .adapters.smtp import Outgoing, SendFailed, build_message
from .domain.emails import GUEST_TOKEN_PLACEHOLDER
from .domain.retries import after_failure
from .settings import NotificationsSettings

log = logging.getLogger(__name__)

Send = Callable[[Outgoing], Awaitable[None]]
GuestToken = Callable[[str, str], Awaitable[str]]  # (hotel, booking id) -> link token


class Sender:
    def __init__(self, db: Database, settings: NotificationsSettings, send: Send,
                 guest_token: GuestToken | None = None) -> None:
        self.db = db
        self.settings = settings
        self.send = send
        self.guest_token = guest_token

    async def send_due(self) -> int:
        """Send up to a batch of the deliveries due now; returns how many were attempted.

        Each delivery is claimed on its own right before its SMTP call (``SKIP LOCKED`` gives each
        email to one replica), so a slow batch never outlasts a lease."""
        attempted = 0
        while attempted < self.settings.mail_batch_size:
            async with self.db.autocommit() as conn:  # one statement: claimed and committed
                row = await repository.claim_next(conn, lease_seconds=self.settings.mail_lease_seconds)
            if row is None:
                break
            await self.deliver(row)
            attempted += 1
        return attempted

    async def deliver(self, row: Row) -> None:
        """One SMTP attempt for a claimed row, then SENT, PENDING again later, or FAILED."""
        try:
            await self.send(build_message(await self._with_guest_token(row), self.settings.mail_from))
        except SendFailed as exc:
            EMAILS.labels("failed").inc()
            await self._failed(row, exc.reason, permanent=exc.permanent)
            return
        except Exception as exc:  # a bug or an odd library error still counts as a failed attempt
            EMAILS.labels("failed").inc()
            log.exception("delivery %s: unexpected error while sending", row.id)
            await self._failed(row, f"unexpected: {type(exc).__name__}", permanent=False)
            return
        async with self.db.autocommit() as conn:
            await repository.mark_sent(conn, row)
        EMAILS.labels("sent").inc()
        log.info("delivery %s (%s, booking %s) sent", row.id, row.template, row.booking_id)

    async def _with_guest_token(self, row: Row):
        """The row, its placeholder replaced by a link token booking mints now (never stored here)."""
        bodies = (row.text_body or "", row.html_body or "")
        if not any(GUEST_TOKEN_PLACEHOLDER in body for body in bodies):
            return row
        if self.guest_token is None:
            raise SendFailed("guest link: no way to ask booking", permanent=False)
        token = await self.guest_token(row.hotel, row.booking_id)
        return SimpleNamespace(**{**row._asdict(), "text_body": row.text_body and row.text_body.replace(
            GUEST_TOKEN_PLACEHOLDER, token), "html_body": row.html_body and row.html_body.replace(
            GUEST_TOKEN_PLACEHOLDER, token)})

    async def _failed(self, row: Row, reason: str, *, permanent: bool) -> None:
        outcome = after_failure(row.attempts, self.settings.mail_retry_delays_seconds, permanent=permanent)
        async with self.db.sessions() as session, session.begin():
            await repository.mark_failed_attempt(session, row, error=reason, retry_in=outcome.retry_in)
        if outcome.gives_up:
            log.error("delivery %s (%s, booking %s) FAILED after %s attempt(s): %s",
                      row.id, row.template, row.booking_id, row.attempts, reason)
        else:
            log.warning("delivery %s (%s, booking %s) attempt %s failed, next in %ss: %s",
                        row.id, row.template, row.booking_id, row.attempts, outcome.retry_in, reason)
