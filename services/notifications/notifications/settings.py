"""Settings of the notifications service (env ``HOTELMATE_<FIELD>``; names unique to this service)."""

from hotelmate_platform.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    service_name = "notifications"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    # Implicit TLS from the first byte (usually port 465).
    smtp_use_tls: bool = False
    # Upgrade a plain connection with STARTTLS (usually port 587).
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout_seconds: float = 20.0
    mail_from: str = "HotelMate <no-reply@hotelmate.local>"
    # Pause before each new attempt after a failed send; one more failure after the last parks it FAILED.
    mail_retry_delays_seconds: tuple[float, ...] = (10, 60, 300, 1800, 7200)
    # How often the sender looks for due deliveries.
    mail_poll_seconds: float = 1.0
    # A delivery left SENDING (process died mid-send) is sent again after this long; it covers one
    # SMTP call (claimed just before it), so keep it above smtp_timeout_seconds.
    mail_lease_seconds: float = 120.0
    mail_batch_size: int = 20
    # A sent email's body (guest data) is wiped this long after sending; its log row stays.
    mail_body_retention_days: float = 30.0
    # The booking-received email's link token is asked of booking at send time (docs/SECURITY.md).
    mail_guest_link_timeout_seconds: float = 5.0
    # Guest emails to addresses a hotel never wrote to, per hotel and hour; more are held back (FAILED,
    # staff may send them). Stops anyone from making a hotel email any address. 0 = no limit.
    mail_new_addresses_per_hotel_per_hour: int = 30
