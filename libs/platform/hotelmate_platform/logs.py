"""Logging set-up and the ids that follow a request across HTTP and the bus.

Two formats (``HOTELMATE_LOG_FORMAT``): ``console`` (the default, one readable line per record, what
``make run`` shows) and ``json`` (one JSON object per line, for a log pipeline). Every record
carries the request id, the correlation id and the booking id in force when it was written (``-``
/ ``null`` when there is none), and the trace id when tracing is on. Text that looks like a secret
(bearer tokens, JWTs, Stripe keys and webhook secrets, card numbers, ``password=...``) is masked in
both formats, whatever logger wrote it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import datetime, timezone

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
booking_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("booking_id", default=None)

# (pattern, replacement, words one of which any match contains, lower-cased; None: no such word).
# A line is only searched with the patterns whose words it contains: most lines contain none, and
# the password pattern alone (a word of any length before the keyword) cost 26 us a line.
_SECRETS = [
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]", ("bearer",)),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[redacted-jwt]", ("eyj",)),
    (re.compile(r"\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+"), r"\1_\2_[redacted]", ("_live_", "_test_")),
    (re.compile(r"\bwhsec_[A-Za-z0-9_]+"), "whsec_[redacted]", ("whsec_",)),
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "[redacted-card]", None),
    (re.compile(r"(?i)\b(\w*(?:password|passwd|secret|api_key|apikey|token|authorization))([\"']?\s*[:=]\s*[\"']?)"
                r"[^\s,\"'&}]+"), r"\1\2[redacted]", ("password", "passwd", "secret", "api_key", "apikey", "token",
                                                   "authorization")),
]


def redact(text: str) -> str:
    """``text`` with anything that looks like a token, key, card number or password masked."""
    lower = text.lower()
    for pattern, replacement, words in _SECRETS:
        if words is None or any(word in lower for word in words):
            text = pattern.sub(replacement, text)
    return text


# A booking's id (``BK-2026-000123``, booking.domain.model) named in a message.
BOOKING_ID = re.compile(r"\bBK-\d{4}-\d{4,}\b")


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        record.correlation_id = correlation_id_var.get() or "-"
        booking = booking_id_var.get()
        if booking is None and "BK-" in str(record.msg) + str(record.args):
            # Not known from the context (e.g. the line that creates the booking): take it from the text.
            found = BOOKING_ID.search(record.getMessage())
            booking = found.group(0) if found else None
        record.booking_id = booking or "-"
        record.trace_id = _current_trace_id()
        return True


def _current_trace_id() -> str | None:
    try:
        from opentelemetry import trace
    except ImportError:  # pragma: no cover - opentelemetry-api is a dependency
        return None
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


class ConsoleFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__(
            f"%(asctime)s %(levelname)s {service} [%(request_id)s] %(name)s: %(message)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = [f"{k}={v}" for k in ("correlation_id", "booking_id") if (v := getattr(record, k, "-")) != "-"]
        if extra and "booking_id=" not in record.getMessage():
            line = f"{line} ({' '.join(extra)})"
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per record; ids are ``null`` when not known."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        def given(name: str) -> str | None:
            value = getattr(record, name, None)
            return None if value in (None, "-") else value

        doc = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "request_id": given("request_id"),
            "correlation_id": given("correlation_id"),
            "booking_id": given("booking_id"),
        }
        if trace_id := given("trace_id"):
            doc["trace_id"] = trace_id
        if record.exc_info:
            doc["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(doc, default=str)


def configure_logging(service: str, level: str = "INFO", fmt: str = "console") -> None:
    """Send every record to stderr in ``fmt`` (``console`` or ``json``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    handler.setFormatter(JsonFormatter(service) if fmt.lower() == "json" else ConsoleFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # The Stripe SDK writes two INFO lines per API call (request, response): payments' own lines and
    # metrics say the same, and under load those lines cost payments about 5 % of its CPU.
    for noisy in ("aiormq", "aio_pika", "httpx", "httpcore", "uvicorn.access", "alembic", "stripe"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if fmt.lower() == "json":  # uvicorn's own lines go through the JSON handler too
        for name in ("uvicorn", "uvicorn.error"):
            logging.getLogger(name).handlers[:] = []
            logging.getLogger(name).propagate = True
