"""Guest pages: the hotel's booking page, and the booking page the guest's email links to."""

from .guest import router

__all__ = ["router"]
