from pydantic import Field

from hotelmate_platform.settings import ServiceSettings


class BookingSettings(ServiceSettings):
    service_name = "booking"
    # The hold is extended this far past the approval deadline, so it never lapses before the decision.
    booking_hold_margin_minutes: int = 30
    # ApprovalDeadlineNear is sent once when this little time remains.
    booking_deadline_warning_minutes: int = 120
    booking_http_timeout_seconds: float = 5.0
    # Placing a booking waits for inventory (hotel profile, promo-code quote) at most this long: far
    # below the gateway's upstream timeout, so the guest gets an answer, never a gateway timeout.
    booking_place_timeout_seconds: float = 1.0
    # Hotel profiles are cached this long (one fetch per hotel for a burst of bookings), and used up
    # to the stale limit while inventory does not answer.
    booking_hotel_cache_seconds: float = 10.0
    booking_hotel_cache_stale_seconds: float = 600.0
    # A booking whose deadline handling failed is tried again by the sweeper after this long.
    booking_sweep_retry_seconds: float = Field(default=30.0, gt=0)
    # Finished bookings (terminal, unchanged and stay over for this long) move to bookings_archive.
    booking_archive_days: float = Field(default=180.0, gt=0)
    # An operator may keep authorisations shorter than SPEC's 6 days (e.g. a card network's shorter
    # validity); it can never be longer. Fractions of an hour are allowed.
    booking_authorisation_max_hours: float = Field(default=144.0, gt=0, le=144.0)
    # Unpaid bookings (REQUESTED, PENDING_PAYMENT) one booker email may hold at one hotel; 0 = no cap.
    booking_max_unpaid_per_email: int = Field(default=3, ge=0)
    # Unpaid bookings requested from one client address at one hotel (a family or an office behind
    # one address may hold a few); 0 = no cap.
    booking_max_unpaid_per_address: int = Field(default=10, ge=0)
