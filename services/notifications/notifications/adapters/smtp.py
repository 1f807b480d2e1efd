"""Sending one email over SMTP with aiosmtplib, and telling a passing failure from a final one."""

from __future__ import annotations

import asyncio
import binascii
import secrets
import time
from datetime import datetime, timezone
from dataclasses import dataclass
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

import aiosmtplib
from sqlalchemy.engine import Row

from ..settings import NotificationsSettings


class SendFailed(Exception):
    """The server did not take the email. ``permanent``: a 5xx answer, sending again will not help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def message_id(row: Row, domain: str) -> str:
    """Stable per delivery row: a resend after a crash carries the same id, so mail clients can fold it."""
    return f"<hotelmate.{row.event_id}.{row.id}@{domain}>"


@dataclass(frozen=True)
class Outgoing:
    """An email ready for the SMTP transaction: envelope sender and recipients, and the message."""

    sender: str
    recipients: list[str]
    data: bytes
    smtputf8: bool = False  # an address is not ASCII: the server must take UTF-8 (RFC 6531)


_CRLF = "\r\n"
_NL = _CRLF.encode()


def build_message(row: Row, mail_from: str) -> Outgoing:
    """The MIME email of a delivery row: text with an HTML alternative, sent in the hotel's name.

    Written out directly (headers folded by ``email.header``, bodies quoted-printable by
    ``binascii``): the ``email.mime`` classes and their generator cost 500-580 us of CPU per email,
    most of it folding headers and compiling a regular expression per message to check its boundary;
    this costs about a tenth. The boundary cannot occur in the bodies, which are quoted-printable
    (a ``=`` is written ``=3D``). An address that is not ASCII needs the modern header objects (and
    SMTPUTF8); such an email is built with ``EmailMessage``."""
    _, address = parseaddr(mail_from)
    domain = address.rpartition("@")[2] or "hotelmate.local"
    if not all(a.isascii() for a in (address, row.recipient, row.reply_to or "")):
        return _build_utf8(row, address, domain)
    boundary = f"===============hotelmate{secrets.token_hex(12)}=="
    lines = [f'Content-Type: multipart/alternative;{_CRLF} boundary="{boundary}"', "MIME-Version: 1.0"]
    lines += [_header(name, value) for name, value in _header_values(
        row, formataddr((row.sender_name, address), charset="utf-8"), domain)]
    parts = [("plain", row.text_body or "")] + ([("html", row.html_body)] if row.html_body else [])
    data = [*(line.encode("ascii") for line in lines), b""]
    for subtype, body in parts:
        data += [f"--{boundary}".encode(), f'Content-Type: text/{subtype}; charset="utf-8"'.encode(),
                 b"MIME-Version: 1.0", b"Content-Transfer-Encoding: quoted-printable", b"", _quoted_printable(body)]
    data += [f"--{boundary}--".encode(), b""]
    return Outgoing(address, [row.recipient], _NL.join(data))


def _header(name: str, value: str) -> str:
    """``Name: value``, folded under 78 characters where it has spaces to fold at, and encoded
    (RFC 2047) when it is not ASCII. A line break in a value becomes a space: no header injection."""
    value = " ".join(value.splitlines())
    if value.isascii() and len(name) + 2 + len(value) <= 78:
        return f"{name}: {value}"
    charset = "us-ascii" if value.isascii() else "utf-8"
    return f"{name}: {Header(value, charset, header_name=name).encode(linesep=_CRLF)}"


def _quoted_printable(body: str) -> bytes:
    """``body`` in UTF-8, quoted-printable (lines of at most 76 characters), its lines ended with CRLF."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", _NL)


def _header_values(row: Row, sender: str, domain: str) -> list[tuple[str, str]]:
    """The headers every email of ours has, in order (``sender`` as the builder encodes it)."""
    values = [("From", sender), ("To", row.recipient)]
    if row.reply_to:
        values.append(("Reply-To", row.reply_to))
    values += [("Subject", row.subject), ("Message-ID", message_id(row, domain)),
               ("Date", format_datetime(datetime.now(timezone.utc))), ("X-HotelMate-Booking", row.booking_id)]
    return values


def _build_utf8(row: Row, address: str, domain: str) -> Outgoing:
    email = EmailMessage()
    for name, value in _header_values(row, formataddr((row.sender_name, address)), domain):
        email[name] = value
    email.set_content(row.text_body or "")
    if row.html_body:
        email.add_alternative(row.html_body, subtype="html")
    return Outgoing(address, [row.recipient], email.as_bytes(policy=policy.SMTPUTF8), smtputf8=True)


class SmtpMailer:
    """One SMTP connection kept open between emails: a connection per email cost the sender and the
    server a TCP and EHLO handshake (and a QUIT) each, most of an email's CPU. Any failure closes it,
    so a broken or confused session never carries over to the next send; a connection the server
    closed, or one idle for longer than ``IDLE_SECONDS`` (servers drop idle clients), is replaced
    rather than trusted."""

    IDLE_SECONDS = 10.0

    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings
        self._client: aiosmtplib.SMTP | None = None
        self._last_used = 0.0
        self._lock = asyncio.Lock()  # one transaction at a time on the one connection

    async def send(self, email: Outgoing) -> None:
        try:
            async with self._lock:
                errors, _ = await self._send(email)
        except aiosmtplib.SMTPAuthenticationError as exc:
            # Our credentials, not the email, are wrong: retry (an operator can fix the settings meanwhile).
            raise SendFailed(f"{exc.code} authentication failed", permanent=False) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            reason = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            raise SendFailed(reason, permanent=all(500 <= c < 600 for c in codes)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailed(f"{exc.code} {exc.message}", permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}", permanent=False) from exc
        if errors:
            reason = "; ".join(f"{code} {text}" for code, text in errors.values())
            raise SendFailed(reason, permanent=False)

    async def _send(self, email: Outgoing):
        try:
            client = await self._connected()
            answer = await client.sendmail(email.sender, email.recipients, email.data,
                                           mail_options=["SMTPUTF8"] if email.smtputf8 else [])
        except BaseException:
            self._drop()
            raise
        self._last_used = time.monotonic()
        return answer

    async def _connected(self) -> aiosmtplib.SMTP:
        client = self._client
        if client is not None and client.is_connected and time.monotonic() - self._last_used < self.IDLE_SECONDS:
            return client
        self._drop()
        s = self.settings
        client = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, use_tls=s.smtp_use_tls,
                                 start_tls=s.smtp_starttls, username=s.smtp_username or None,
                                 password=s.smtp_password or None, timeout=s.smtp_timeout_seconds)
        await client.connect()
        self._client = client
        return client

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
