"""Idempotency keys as Stripe keeps them: per API key, 24 hours, same request ⇒ same answer."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import idempotency_in_progress, idempotency_mismatch, invalid

KEY_TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 255


@dataclass
class Record:
    fingerprint: str
    request_id: str
    created: float = field(default_factory=time.time)
    done: bool = False
    status: int = 0
    body: Any = None


def fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    return json.dumps([method.upper(), path, params], sort_keys=True, separators=(",", ":"))


class IdempotencyStore:
    def __init__(self) -> None:
        self._records: dict[tuple[str, str], Record] = {}

    def reset(self) -> None:
        self._records.clear()

    def prune(self, now: float | None = None) -> None:
        limit = (now or time.time()) - KEY_TTL_SECONDS
        for k in [k for k, r in self._records.items() if r.done and r.created < limit]:
            del self._records[k]

    def begin(self, api_key: str, key: str, method: str, path: str,
              params: dict[str, Any], request_id: str) -> Record | None:
        """Answer the finished record to replay, or None after reserving the key.

        Raises idempotency_error for a different request under the same key (400) and for
        the same key while its first request still runs (409)."""
        if len(key) > MAX_KEY_LENGTH:
            raise invalid(f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters long.")
        fp = fingerprint(method, path, params)
        record = self._records.get((api_key, key))
        if record is not None:
            if record.fingerprint != fp:
                raise idempotency_mismatch(key)
            if not record.done:
                raise idempotency_in_progress(key)
            return record
        self._records[(api_key, key)] = Record(fingerprint=fp, request_id=request_id)
        return None

    def finish(self, api_key: str, key: str, status: int, body: Any) -> None:
        record = self._records.get((api_key, key))
        if record is not None:
            record.done, record.status, record.body = True, status, body

    def abandon(self, api_key: str, key: str) -> None:
        """Forget a reservation whose request saved no result (it may be retried afresh)."""
        record = self._records.get((api_key, key))
        if record is not None and not record.done:
            del self._records[(api_key, key)]
