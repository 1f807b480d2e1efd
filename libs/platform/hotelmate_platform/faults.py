"""Telling infrastructure failures (a database or broker that does not answer) from real errors.

An infrastructure failure says nothing about the message or request being handled: the same work
succeeds once the server is back, so it is retried without limit instead of counting as poison.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import exc as sa_exc

_INFRASTRUCTURE = (
    sa_exc.OperationalError,  # connection refused, server shutting down, admin termination...
    sa_exc.InterfaceError,  # the connection is closed or unusable
    sa_exc.TimeoutError,  # the pool had no connection to give
    sa_exc.DisconnectionError,
    ConnectionError,
    OSError,
    TimeoutError,
    asyncio.TimeoutError,
)


def _broker_errors() -> tuple[type[BaseException], ...]:
    try:
        from aio_pika.exceptions import AMQPConnectionError, ChannelInvalidStateError, ConnectionClosed
    except ImportError:  # pragma: no cover - aio-pika is a dependency of the platform
        return ()
    return (AMQPConnectionError, ConnectionClosed, ChannelInvalidStateError)


_BROKER = _broker_errors()

# Every class whose instances may be infrastructure errors (``is_infrastructure_error`` decides).
MAYBE_INFRASTRUCTURE: tuple[type[BaseException], ...] = (
    sa_exc.DBAPIError, sa_exc.TimeoutError, sa_exc.DisconnectionError, OSError) + _BROKER


def is_infrastructure_error(exc: BaseException) -> bool:
    """True when ``exc`` (or the exception it was raised ``from``) means a server did not answer.

    A DBAPI error whose connection SQLAlchemy found invalidated counts too, whatever its class.
    Only explicit causes are followed: an error raised while *handling* a network failure (say, a
    handler giving up on an HTTP call) is the handler's own decision, not an outage.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _INFRASTRUCTURE + _BROKER):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        current = current.__cause__
    return False
