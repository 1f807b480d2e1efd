"""Staff: the hotel's delivery log, and sending a FAILED email again. The gateway checks roles."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query

from hotelmate_platform.problems import Problem
from hotelmate_platform.service import Runtime, get_runtime

from ..adapters import repository
from .schemas import DeliveryStatus, NotificationPage, NotificationView

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/staff/hotels/{hotel}/notifications", tags=["notifications"])


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit():
        raise Problem(422, "The request has invalid fields.", code="invalid-input",
                      errors=[{"field": "cursor", "message": "not a cursor from a previous page"}])
    return int(cursor)


@router.get("", response_model=NotificationPage)
async def list_notifications(
    hotel: str,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    runtime: Runtime = Depends(get_runtime),
) -> NotificationPage:
    """The hotel's emails, newest first; ``next_cursor`` fetches the following page."""
    async with runtime.db.sessions() as session:
        rows = await repository.list_for_hotel(session, hotel, status=status, limit=limit + 1,
                                               before_id=_cursor(cursor))
    page = rows[:limit]
    return NotificationPage(items=[NotificationView.of(r) for r in page],
                            next_cursor=str(page[-1].id) if len(rows) > limit else None)


@router.post("/{notification_id}/retry", status_code=202, response_model=NotificationView)
async def retry_notification(
    hotel: str,
    notification_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    runtime: Runtime = Depends(get_runtime),
    staff_id: Annotated[str | None, Header(alias="X-HotelMate-Staff-Id")] = None,
) -> NotificationView:
    """FAILED → PENDING with a fresh retry budget. Already PENDING or SENDING: a no-op ``202``."""
    async with runtime.db.unit_of_work() as uow:
        row = await repository.get_for_update(uow.session, hotel, notification_id)
        if row is None:
            raise Problem(404, "No such notification for this hotel.", code="notification-not-found")
        if row.status == "SENT":
            raise Problem(409, "This email was already sent.", code="notification-already-sent")
        if row.status == "FAILED":
            row = await repository.requeue(uow.session, notification_id)
            log.info("delivery %s requeued by staff %s", notification_id, staff_id or "unknown")
    return NotificationView.of(row)
