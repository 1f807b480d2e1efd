"""Bookings finished long ago leave the working tables for ``bookings_archive`` (run by the
platform's retention loop, in batches): one row each with the booking, its party and its timeline
as JSON. Finished = a terminal status, unchanged for ``booking_archive_days``, stay over as long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hotelmate_platform.retention import Rule

from .domain.states import TERMINAL
from .settings import BookingSettings

FINISHED = ", ".join(f"'{status.value}'" for status in sorted(TERMINAL))


@dataclass(frozen=True)
class ArchiveFinished(Rule):
    """Moves rows instead of deleting them: one statement, so a booking is archived or not at all
    (the sub-selects read party and timeline before the cascade removes them)."""

    def statement(self) -> str:
        return f"""
        WITH moved AS (
            DELETE FROM bookings WHERE id = ANY(ARRAY(
                SELECT id FROM bookings WHERE {self.old} LIMIT :batch FOR UPDATE SKIP LOCKED))
            RETURNING *)
        INSERT INTO bookings_archive (id, hotel, status, check_in, check_out, finished_at, record)
        SELECT m.id, m.hotel, m.status, m.check_in, m.check_out, m.updated_at, jsonb_build_object(
            'booking', to_jsonb(m) - 'token_digest' - 'client_address',
            'party', (SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.position), '[]') FROM booking_party p
                      WHERE p.booking_id = m.id),
            'timeline', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.at, t.id), '[]') FROM booking_timeline t
                         WHERE t.booking_id = m.id))
        FROM moved m"""


def archive_rule(settings: BookingSettings) -> ArchiveFinished:
    return ArchiveFinished(
        "bookings archived", "bookings",
        f"status IN ({FINISHED}) AND updated_at < :cutoff AND check_out < CAST(:cutoff AS date)",
        timedelta(days=settings.booking_archive_days))
