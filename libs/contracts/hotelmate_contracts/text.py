"""The one rule for text a client sends, in every service: ``Line(n)`` and ``Paragraph(n)``.

A text field holds no NUL, no control character (C0, DEL, C1), no lone surrogate, and at most its
length; a ``Line`` (names, codes, emails, room numbers) also holds no line or paragraph separator, so
it can go in an email subject or a header; a ``Paragraph`` (notes, requests) may hold line breaks and
tabs. A breach is a validation error, which every service answers ``422``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, StringConstraints

_NEVER = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_LINE_BREAKS = "\t\n\r\u2028\u2029\u0085"
_BAD_IN_LINE = re.compile(f"[{_NEVER}{_LINE_BREAKS}]")
_BAD_IN_PARAGRAPH = re.compile(f"[{_NEVER}\u2028\u2029]")


def check_line(value: str) -> str:
    """``value`` if it is one line of printable text, else :class:`ValueError`."""
    if _BAD_IN_LINE.search(value):
        raise ValueError("must be one line without control characters")
    return _encodable(value)


def check_paragraph(value: str) -> str:
    """``value`` if it holds no control character other than tabs and line breaks."""
    if _BAD_IN_PARAGRAPH.search(value):
        raise ValueError("must not contain control characters")
    return _encodable(value)


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def Line(max_length: int, *, min_length: int = 0, strip: bool = True, pattern: str | None = None) -> Any:  # noqa: N802
    """The type of a one-line text field of at most ``max_length`` characters."""
    return Annotated[str, StringConstraints(strip_whitespace=strip, min_length=min_length, max_length=max_length,
                                            pattern=pattern), AfterValidator(check_line)]


def Paragraph(max_length: int, *, min_length: int = 0) -> Any:  # noqa: N802
    """The type of a free-text field (line breaks allowed) of at most ``max_length`` characters."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length),
                     AfterValidator(check_paragraph)]
