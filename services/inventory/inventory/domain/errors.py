"""The few named errors of the inventory domain; the API turns them into problem documents."""

from __future__ import annotations


class InvalidInput(Exception):
    """Input that breaks a rule: ``errors`` is a list of ``(field, message)``."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


class NotFound(Exception):
    """An unknown hotel, room type, room or hold."""


class Conflict(Exception):
    """The request does not fit the current state (e.g. a room already taken)."""
