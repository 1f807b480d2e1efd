"""Sending one email over SMTP with aiosmtplib, and telling a passing failure from a final one."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
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


def build_message(row: Row, mail_from: str) -> EmailMessage:
    """The MIME email of a delivery row: text with an HTML alternative, sent in the hotel's name."""
    _, address = parseaddr(mail_from)
    domain = address.rpartition("@")[2] or "hotelmate.local"
    email = EmailMessage()
    email["From"] = formataddr((row.sender_name, address))
    email["To"] = row.recipient
    if row.reply_to:
        email["Reply-To"] = row.reply_to
    email["Subject"] = row.subject
    email["Message-ID"] = message_id(row, domain)
    email["Date"] = format_datetime(datetime.now(timezone.utc))
    email["X-HotelMate-Booking"] = row.booking_id
    email.set_content(row.text_body or "")
    if row.html_body:
        email.add_alternative(row.html_body, subtype="html")
    return email


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

    async def send(self, email: EmailMessage) -> None:
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

    async def _send(self, email: EmailMessage):
        try:
            client = await self._connected()
            answer = await client.send_message(email)
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
