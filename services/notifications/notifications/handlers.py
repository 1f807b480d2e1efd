"""Bus handlers: each booking event becomes PENDING rows in the delivery log, inside the consumer's
unit of work (no SMTP here). The sender loop sends them. The unique key (event, recipient, template)
makes a second delivery of the same event write nothing, even if the inbox were bypassed.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from sqlalchemy.exc import SQLAlchemyError

from hotelmate_contracts import ApprovalDeadlineNear, BookingRoomAssigned, BookingStatusChanged, Envelope, Message
from hotelmate_platform.db import UnitOfWork

from .adapters import repository
from .domain.emails import PlannedEmail, plan
from .rendering import render
from .settings import NotificationsSettings

log = logging.getLogger(__name__)


class DeliveryNotRecorded(RuntimeError):
    """The delivery log could not be written; the consumer retries the event (then dead-letters it)."""


NEW_ADDRESS_WINDOW = timedelta(hours=1)


async def _first_contact(uow: UnitOfWork, hotel: str, email: PlannedEmail, limit: int) -> tuple[bool, bool]:
    """(first contact, held): a guest email to an address this hotel never wrote to spends the
    hour's budget of new addresses, and is held back once it is spent. Events handled at once for
    one hotel count one after the other (an advisory lock until commit), so the limit is exact.
    Staff emails go to the hotel itself: never limited."""
    if limit <= 0 or email.audience != "GUEST":
        return False, False
    if await repository.address_known(uow.session, hotel, email.recipient):
        return False, False
    await repository.lock_new_addresses(uow.session, hotel)
    if await repository.first_contacts_since(uow.session, hotel, NEW_ADDRESS_WINDOW) >= limit:
        return False, True
    return True, False


async def record_emails(uow: UnitOfWork, message: Message, envelope: Envelope, *, new_address_limit: int = 0) -> None:
    """Write one PENDING delivery per email ``message`` causes; at most ``new_address_limit`` (0: no
    limit) to new addresses per hotel and hour, the others held back (docs/SECURITY.md)."""
    for email in plan(message):
        rendered = render(email)
        try:
            first_contact, held = await _first_contact(uow, message.hotel, email, new_address_limit)
            written = await repository.add_delivery(
                uow.session, event_id=envelope.message_id, event_type=envelope.type, hotel=message.hotel,
                booking_id=message.booking_id, email=email, rendered=rendered, first_contact=first_contact,
                held=held,
            )
        except SQLAlchemyError as exc:
            # The driver's error would quote the SQL parameters, a body with a portal link among them.
            raise DeliveryNotRecorded(f"{email.template}: {type(exc).__name__}") from None
        if written and held:
            log.warning("booking %s: %s email held back: too many new addresses for hotel %s this hour",
                        message.booking_id, email.template, message.hotel)
        elif written:
            uow.wake(repository.DELIVERIES_DUE)
            log.info("booking %s: %s email queued (%s)", message.booking_id, email.template, email.audience)


HANDLERS = {
    BookingStatusChanged: record_emails,
    ApprovalDeadlineNear: record_emails,
    BookingRoomAssigned: record_emails,
}


def handlers(settings: NotificationsSettings) -> dict:
    """The bus handlers with this installation's limit on new addresses."""
    record = partial(record_emails, new_address_limit=settings.mail_new_addresses_per_hotel_per_hour)
    return {message_type: record for message_type in HANDLERS}
