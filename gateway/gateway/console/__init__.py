"""The staff console at ``/console/``: server-rendered pages over the staff API."""

from .views import router

__all__ = ["router"]
