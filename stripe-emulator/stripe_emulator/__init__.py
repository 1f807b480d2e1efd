"""HotelMate's Stripe emulator: the subset of Stripe's API the payments service uses."""

from .app import create_app
from .settings import Settings
from .webhooks import sign as sign_webhook

__all__ = ["create_app", "Settings", "sign_webhook"]
