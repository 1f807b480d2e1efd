"""Fixtures of this service's tests, from the installed support module (hotelmate_devtools.support.notifications)."""

from hotelmate_devtools.support.notifications import bus, isolated_bus_cleanup, smtp_server  # noqa: F401  (fixtures)
