"""What happens to a delivery after a failed send. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AfterFailure:
    """``retry_in`` seconds until the next attempt, or ``None`` when the delivery is parked FAILED."""

    retry_in: float | None

    @property
    def gives_up(self) -> bool:
        return self.retry_in is None


def after_failure(attempts: int, delays: Sequence[float], *, permanent: bool) -> AfterFailure:
    """After attempt number ``attempts`` (1-based) failed: wait ``delays[attempts-1]``, or give up.

    A permanent refusal (an SMTP 5xx) gives up at once: sending it again would be refused again.
    """
    if permanent or attempts > len(delays):
        return AfterFailure(None)
    return AfterFailure(float(delays[attempts - 1]))
