"""The email as a mail client reads it: every header and both bodies come back as written, whatever
the text holds, in lines a mail server takes (no I/O)."""

import uuid
from email import message_from_bytes, policy
from email.utils import parseaddr
from types import SimpleNamespace

import pytest

from notifications.adapters.smtp import build_message

MAIL_FROM = "HotelMate <no-reply@hotelmate.local>"
TEXT = "Dear Ana,\n\nYour booking is confirmed.\nTotal: EUR 200.00\n"
HTML = '<html lang="en"><body><p>Dear Ana,</p><p><a href="http://x/b?a=1&amp;t=2">Your booking</a></p></body></html>\n'


def row(**fields) -> SimpleNamespace:
    values = dict(id=7, event_id=uuid.uuid4(), recipient="ana@guest.test", reply_to="desk@aurora.test",
                  sender_name="Hotel Aurora", subject="Hotel Aurora: your booking BK-2026-000001 is confirmed",
                  text_body=TEXT, html_body=HTML, booking_id="BK-2026-000001")
    values.update(fields)
    return SimpleNamespace(**values)


CASES = {
    "plain": row(),
    "accents and symbols": row(sender_name="Hôtel Ærø — Zürich", subject="Hôtel Ærø: réservation confirmée ✓ 🏨",
                               text_body="Chère Anaïs,\n\nTotal : 200,00 € (taxe de séjour incluse)\n",
                               html_body="<p>Chère Anaïs, 200,00&nbsp;€ ✓</p>"),
    "long subject": row(subject="Hotel Aurora: " + " ".join(["a very long subject line"] * 12)),
    "long accented subject": row(subject="Hôtel Ærø: " + " ".join(["une très longue ligne d'objet"] * 10)),
    "awkward bodies": row(
        text_body="=3D is not a code\n.a line starting with a dot\nFrom the start\ntrailing spaces   \n\ttab\n"
                  + "x" * 300 + "\n" + "y" * 75 + "=\nno newline at the end",
        html_body="<p>" + "w" * 500 + "</p>\r\n<p>CRLF lines\r\nand a lone CR\rhere</p>"),
    "no html, no reply-to": row(html_body="", reply_to=None),
    "quotes in the name": row(sender_name='Hotel "Aurora", Lisbon'),
}


def parsed(data: bytes):
    return message_from_bytes(data, policy=policy.default)


def body_of(email, subtype: str) -> str | None:
    """The part's text with its line ends as a program reads them ("\n"; on the wire each is CRLF)."""
    part = email.get_body(preferencelist=(subtype,))
    return normalised(part.get_content()) if part is not None and part.get_content_subtype() == subtype else None


def normalised(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_headers_and_bodies_read_back_as_written(case):
    source = CASES[case]
    outgoing = build_message(source, MAIL_FROM)
    email = parsed(outgoing.data)
    assert (outgoing.sender, outgoing.recipients, outgoing.smtputf8) == ("no-reply@hotelmate.local", [source.recipient],
                                                                         False)
    assert email["From"].addresses[0].display_name == source.sender_name
    assert email["From"].addresses[0].addr_spec == "no-reply@hotelmate.local"
    assert str(email["To"]) == source.recipient
    assert (str(email["Reply-To"]) if email["Reply-To"] else None) == source.reply_to
    assert str(email["Subject"]) == source.subject
    assert str(email["Message-ID"]) == f"<hotelmate.{source.event_id}.7@hotelmate.local>"
    assert str(email["X-HotelMate-Booking"]) == "BK-2026-000001" and email["Date"].datetime is not None
    assert email.get_content_type() == "multipart/alternative"
    assert body_of(email, "plain") == normalised(source.text_body)
    assert body_of(email, "html") == (normalised(source.html_body) if source.html_body else None)


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_line_is_ascii_crlf_and_short_enough_for_any_mail_server(case):
    data = build_message(CASES[case], MAIL_FROM).data
    assert data.isascii()
    lines = data.split(b"\r\n")
    assert not any(b"\r" in line or b"\n" in line for line in lines)  # no bare CR or LF
    assert max(len(line) for line in lines) <= 78


def test_a_line_break_in_a_header_value_cannot_add_a_header():
    email = parsed(build_message(row(subject="Confirmed\r\nBcc: thief@evil.test", sender_name="Aurora\nX-Evil: 1"),
                                 MAIL_FROM).data)
    assert email["Bcc"] is None and email["X-Evil"] is None
    assert str(email["Subject"]) == "Confirmed Bcc: thief@evil.test"


def test_an_address_that_is_not_ascii_is_sent_with_smtputf8():
    outgoing = build_message(row(recipient="anaïs@guest.test"), MAIL_FROM)
    email = parsed(outgoing.data)
    assert outgoing.smtputf8 and str(email["To"]) == "anaïs@guest.test"
    assert body_of(email, "plain") == TEXT and parseaddr(str(email["From"]))[1] == "no-reply@hotelmate.local"


def test_two_emails_of_one_row_have_different_boundaries_and_the_same_message_id():
    source = row()
    first, second = (parsed(build_message(source, MAIL_FROM).data) for _ in range(2))
    assert first.get_boundary() != second.get_boundary()
    assert first["Message-ID"] == second["Message-ID"]
