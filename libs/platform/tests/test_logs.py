"""The log format: JSON lines with request, correlation and booking ids on every line, secrets never
written; the console format stays a readable line (``make run``)."""

import json
import logging
import subprocess
import sys
import textwrap

import pytest

from hotelmate_platform.logs import booking_id_var, configure_logging, correlation_id_var, request_id_var

BOOKING = "BK-2026-000123"


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def run_logging(fmt: str, body: str) -> list[str]:
    """Run ``body`` in a fresh interpreter whose logging is set up with ``fmt``; its stderr lines."""
    script = textwrap.dedent(f"""
        import logging
        from hotelmate_platform.logs import booking_id_var, configure_logging, correlation_id_var, request_id_var
        configure_logging("booking", "INFO", {fmt!r})
        log = logging.getLogger("booking.test")
    """) + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stderr.splitlines() if line.strip()]


def test_json_lines_carry_the_ids_of_the_request_and_booking():
    lines = run_logging("json", f"""
        request_id_var.set("req-1")
        correlation_id_var.set("{BOOKING}")
        booking_id_var.set("{BOOKING}")
        log.info("booking %s placed", "x")
        for var in (request_id_var, correlation_id_var, booking_id_var):
            var.set(None)
        log.warning("no ids here")
    """)
    first, second = (json.loads(line) for line in lines)
    assert first["service"] == "booking" and first["level"] == "INFO" and first["logger"] == "booking.test"
    assert first["message"] == "booking x placed"
    assert (first["request_id"], first["correlation_id"], first["booking_id"]) == ("req-1", BOOKING, BOOKING)
    assert "time" in first
    # Every line has the keys, even outside a request (null when not known).
    assert second["request_id"] is None and second["booking_id"] is None and second["correlation_id"] is None


def test_json_line_of_an_exception_is_one_line_with_the_traceback():
    lines = run_logging("json", """
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed")
    """)
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["level"] == "ERROR" and "RuntimeError: boom" in doc["exception"]


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_secrets_and_card_numbers_are_never_written(fmt):
    lines = run_logging(fmt, """
        log.info("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")
        log.info("stripe key sk_test_51Habcdef0123456789 and whsec_hotelmate_dev")
        log.info("card 4242 4242 4242 4242 and 4000000000000002")
        log.info("login password=hunter2 ok, guest_token=gt-secret-value, {'api_key': 'k-123'}")
        log.info("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")
        log.info("AUTHORIZATION: BEARER abc.DEF-123")
        log.info("PassWord: hunter3 and Guest_TOKEN=gt-Secret-Value")
        log.info("card 4000-0000-0000-0077 in a reply")
    """)
    text = "\n".join(lines)
    assert len(lines) == 8
    # The last three, in other cases and separators: the keyword check before each pattern must not miss them.
    for secret in ("eyJhbGciOiJIUzI1NiJ9", "sk_test_51Habcdef0123456789", "whsec_hotelmate_dev",
                   "4242 4242 4242 4242", "4000000000000002", "hunter2", "c2lnbmF0dXJl", "gt-secret-value",
                   "k-123", "abc.DEF-123", "hunter3", "gt-Secret-Value", "4000-0000-0000-0077"):
        assert secret not in text, secret
    assert "[redacted" in text


def test_console_format_is_a_readable_line_with_the_request_id():
    lines = run_logging("console", f"""
        request_id_var.set("req-9")
        booking_id_var.set("{BOOKING}")
        log.info("hello")
    """)
    (line,) = lines
    assert not line.startswith("{")
    assert " INFO booking [req-9] booking.test: hello" in line and f"booking_id={BOOKING}" in line


def test_a_booking_named_in_the_message_is_the_line_booking_id():
    lines = run_logging("json", """
        log.info("booking %s placed for hotel %s", "BK-2026-004711", "paris")
    """)
    assert json.loads(lines[0])["booking_id"] == "BK-2026-004711"


def test_settings_choose_the_format(monkeypatch):
    from hotelmate_platform.settings import ServiceSettings

    assert ServiceSettings().log_format == "console"  # what make run shows
    monkeypatch.setenv("HOTELMATE_LOG_FORMAT", "json")
    assert ServiceSettings().log_format == "json"


def test_ids_follow_the_context(restore_logging, capsys):
    configure_logging("payments", "INFO", "json")
    token = request_id_var.set("r-ctx")
    ids = correlation_id_var.set("c-ctx"), booking_id_var.set(BOOKING)
    try:
        logging.getLogger("payments.x").info("inside")
    finally:
        request_id_var.reset(token)
        correlation_id_var.reset(ids[0])
        booking_id_var.reset(ids[1])
    logging.getLogger("payments.x").info("outside")
    inside, outside = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert inside["request_id"] == "r-ctx" and inside["correlation_id"] == "c-ctx" and inside["booking_id"] == BOOKING
    assert outside["request_id"] is None
