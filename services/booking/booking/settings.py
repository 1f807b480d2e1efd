from hotelmate_platform.settings import ServiceSettings


class BookingSettings(ServiceSettings):
    service_name = "booking"
    # The hold is extended this far past the approval deadline, so it never lapses before the decision.
    booking_hold_margin_minutes: int = 30
    # ApprovalDeadlineNear is sent once when this little time remains.
    booking_deadline_warning_minutes: int = 120
    booking_http_timeout_seconds: float = 5.0
