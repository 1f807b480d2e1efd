"""Whether a staff token is still good: its account exists, is not disabled, and has not changed
(role, hotels, password) since the token was issued. Looked up at most every ``ttl`` seconds per
account and per gateway process, so a change stops older tokens within that time."""

from __future__ import annotations

import time
import uuid

from hotelmate_platform.db import Database

from .adapters import repository
from .domain.access import Identity


class TokenStates:
    MAX_KEYS = 100_000

    def __init__(self, ttl_seconds: float, clock=time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._known: dict[str, tuple[float, tuple[int, bool] | None]] = {}

    async def still_valid(self, identity: Identity, db: Database) -> bool:
        now = self.clock()
        cached = self._known.get(identity.staff_id)
        if cached is None or now - cached[0] >= self.ttl:
            try:
                account_id = uuid.UUID(identity.staff_id)
            except ValueError:
                return False
            async with db.sessions() as session:
                state = await repository.token_state(session, account_id)
            if len(self._known) >= self.MAX_KEYS:
                self._known.clear()
            cached = self._known[identity.staff_id] = (now, state)
        state = cached[1]
        return state is not None and not state[1] and state[0] == identity.version

    def forget(self, staff_id: str) -> None:
        """After a change made by this process: no waiting for the cache here."""
        self._known.pop(staff_id, None)
