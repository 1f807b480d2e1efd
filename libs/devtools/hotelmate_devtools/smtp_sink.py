"""A local SMTP sink for ``make run``: accepts every email, prints From/To/Subject, and shows the
received emails on a small web page.

``python -m hotelmate_devtools.smtp_sink``. Environment: ``SMTP_SINK_PORT`` (default 1025),
``SMTP_SINK_WEB_PORT`` (default 8025), ``SMTP_SINK_HOST`` (default 127.0.0.1), ``SMTP_SINK_KEEP``
(emails kept in memory, default 500). Pages: ``/`` (the list), ``/messages/<n>`` (one email),
``/messages/<n>/html`` (its HTML part, sandboxed), ``/api/messages`` (JSON, for scripts and tests) and
``/api/received`` (each email's envelope recipients, Message-ID and booking, from its headers only:
cheap enough for a benchmark's thousands).
Nothing is written to disk; emails vanish when the sink stops.
"""

from __future__ import annotations

import html
import json
import os
import signal
import sys
import threading
from collections import deque
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


_HEADERS = BytesHeaderParser(policy=policy.compat32)  # headers only, undecoded: cheap


def _decoded(headers, name: str) -> str:
    return str(make_header(decode_header(headers.get(name, ""))))


@dataclass
class Mail:
    number: int
    received_at: datetime
    envelope_from: str
    envelope_to: list[str]
    raw: bytes
    message_id: str = ""
    booking: str = ""  # X-HotelMate-Booking

    @cached_property
    def email(self) -> EmailMessage:
        # Parsed when a page or the API first shows it: parsing every header with the default policy
        # was most of the sink's CPU, a cost a real mail server does not put on the machine under load.
        return message_from_bytes(self.raw, policy=policy.default)

    def header(self, name: str) -> str:
        return str(self.email.get(name, ""))

    def body(self, subtype: str) -> str | None:
        part = self.email.get_body(preferencelist=(subtype,))
        return part.get_content() if part is not None else None

    def summary(self) -> dict:
        return {"id": self.number, "received_at": self.received_at.isoformat(), "from": self.header("From"),
                "to": self.header("To") or ", ".join(self.envelope_to), "subject": self.header("Subject"),
                "message_id": self.header("Message-ID"), "text": self.body("plain"),
                "has_html": self.body("html") is not None}


class Inbox:
    """The SMTP handler (aiosmtpd calls ``handle_DATA``) and the store the web pages read."""

    def __init__(self, keep: int) -> None:
        self.mails: deque[Mail] = deque(maxlen=keep)
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content
        headers = _HEADERS.parsebytes(raw)
        with self.lock:
            self.count += 1
            mail = Mail(self.count, datetime.now(timezone.utc), envelope.mail_from, list(envelope.rcpt_tos), raw,
                        message_id=headers.get("Message-ID", ""), booking=headers.get("X-HotelMate-Booking", ""))
            self.mails.append(mail)
        sys.stdout.write(f"mail #{mail.number}  From: {_decoded(headers, 'From')}  "
                         f"To: {_decoded(headers, 'To') or ', '.join(mail.envelope_to)}  "
                         f"Subject: {_decoded(headers, 'Subject')}\n")
        sys.stdout.flush()
        return "250 2.0.0 Message accepted"

    def newest_first(self) -> list[Mail]:
        with self.lock:
            return list(reversed(self.mails))

    def get(self, number: int) -> Mail | None:
        with self.lock:
            return next((m for m in self.mails if m.number == number), None)


_STYLE = ("body{font-family:Helvetica,Arial,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
          "td,th{border-bottom:1px solid #ddd;padding:.4em .8em;text-align:left}pre{background:#f6f6f6;padding:1em;"
          "white-space:pre-wrap}iframe{width:100%;height:32em;border:1px solid #ddd}")


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>")


def list_page(inbox: Inbox) -> str:
    rows = "".join(
        f"<tr><td><a href='/messages/{m.number}'>#{m.number}</a></td><td>{m.received_at:%Y-%m-%d %H:%M:%S}</td>"
        f"<td>{html.escape(m.header('From'))}</td><td>{html.escape(m.summary()['to'])}</td>"
        f"<td><a href='/messages/{m.number}'>{html.escape(m.header('Subject'))}</a></td></tr>"
        for m in inbox.newest_first())
    table = ("<table><tr><th>#</th><th>received (UTC)</th><th>From</th><th>To</th><th>Subject</th></tr>"
             f"{rows}</table>") if rows else "<p>No email yet. Make a booking and reload.</p>"
    return _page("HotelMate mail sink", f"<p>{inbox.count} received since start; newest first.</p>{table}")


def message_page(mail: Mail) -> str:
    headers = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in mail.email.items())
    text = mail.body("plain")
    parts = f"<h2>Text</h2><pre>{html.escape(text)}</pre>" if text is not None else ""
    if mail.body("html") is not None:
        parts += f"<h2>HTML</h2><iframe sandbox src='/messages/{mail.number}/html'></iframe>"
    return _page(mail.header("Subject") or f"Email #{mail.number}",
                 f"<p><a href='/'>&larr; all emails</a></p><table>{headers}</table>{parts}")


def make_handler(inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0].rstrip("/") or "/"
            parts = path.strip("/").split("/")
            if path == "/":
                return self._send(200, "text/html", list_page(inbox))
            if path == "/api/messages":
                return self._send(200, "application/json", json.dumps([m.summary() for m in inbox.newest_first()]))
            if path == "/api/received":
                return self._send(200, "application/json", json.dumps(
                    {"count": inbox.count, "emails": [{"id": m.number, "to": m.envelope_to, "message_id": m.message_id,
                                                       "booking": m.booking} for m in inbox.newest_first()]}))
            if len(parts) in (2, 3) and parts[0] == "messages" and parts[1].isdigit():
                mail = inbox.get(int(parts[1]))
                if mail is not None and len(parts) == 2:
                    return self._send(200, "text/html", message_page(mail))
                if mail is not None and parts[2:] == ["html"] and mail.body("html") is not None:
                    return self._send(200, "text/html", mail.body("html"),
                                      {"Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'"})
            self._send(404, "text/html", _page("Not found", "<p><a href='/'>all emails</a></p>"))

        def _send(self, status: int, content_type: str, body: str, headers: dict | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", f"{content_type}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - keep stdout for the emails
            pass

    return Pages


def main() -> int:
    host = os.environ.get("SMTP_SINK_HOST", "127.0.0.1")
    smtp_port = int(os.environ.get("SMTP_SINK_PORT", "1025"))
    web_port = int(os.environ.get("SMTP_SINK_WEB_PORT", "8025"))
    inbox = Inbox(keep=int(os.environ.get("SMTP_SINK_KEEP", "500")))
    smtp = Controller(inbox, hostname=host, port=smtp_port, enable_SMTPUTF8=True)  # guests with non-ASCII addresses
    web = ThreadingHTTPServer((host, web_port), make_handler(inbox))
    web.daemon_threads = True
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    smtp.start()
    threading.Thread(target=web.serve_forever, name="smtp-sink-web", daemon=True).start()
    sys.stdout.write(f"smtp sink: SMTP on {host}:{smtp_port}, emails at http://{host}:{web_port}/\n")
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        web.shutdown()
        smtp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
