"""The gateway's rate limits use the platform's token buckets (one implementation for every service)."""

from hotelmate_platform.ratelimit import TokenBuckets, retry_after  # noqa: F401
