"""Unit checks of the trust and input rules (pure functions; tests/security drives them end to end)."""

import time

import pytest

from hotelmate_contracts.text import check_line, check_paragraph
from hotelmate_platform import trust
from hotelmate_platform.limits import has_nul_in_json
from hotelmate_platform.production import InsecureConfiguration, check_production
from hotelmate_platform.settings import PlatformSettings

KEY = "k" * 40


def test_an_assertion_round_trips_and_a_staff_jwt_is_not_one():
    said = trust.verify(trust.sign(KEY, "gateway", request_id="r1", staff_id="7", role="MANAGER", hotels=["h1"]), KEY)
    assert (said.caller, said.request_id, said.staff_id, said.role, said.hotels) == ("gateway", "r1", "7", "MANAGER",
                                                                                       frozenset({"h1"}))
    import jwt
    staff_jwt = jwt.encode({"iss": "hotelmate", "sub": "7", "role": "ADMIN", "iat": int(time.time()),
                            "exp": int(time.time()) + 60}, KEY, algorithm="HS256")
    with pytest.raises(trust.InvalidAssertion):
        trust.verify(staff_jwt, KEY)  # no audience
    with pytest.raises(trust.InvalidAssertion):
        trust.verify(trust.sign(KEY, "gateway", ttl_seconds=3600), KEY)  # lives too long


@pytest.mark.parametrize("body, nul", [
    (b'{"a": "x\\u0000"}', True), (b'{"a": "x\\\\u0000"}', False), (b'{"a": "x\\\\\\u0000"}', True),
    (b'{"a": "x\\U0000"}', True), (b'{"a": "x\x00"}', True), (b'{"a": "u0000"}', False),
])
def test_a_json_nul_is_found_and_an_escaped_backslash_is_not_one(body, nul):
    assert has_nul_in_json(body) is nul


@pytest.mark.parametrize("text", ["a\x00", "a\nb", "a\rb", "a\u2028b", "a\x1b", "a\x85", "a\tb"])
def test_a_line_refuses_control_characters(text):
    with pytest.raises(ValueError):
        check_line(text)


def test_a_paragraph_allows_line_breaks_and_tabs_only():
    assert check_paragraph("one\n\ttwo\r\n") == "one\n\ttwo\r\n"
    for bad in ("a\x00", "a\x07", "a\u2029"):
        with pytest.raises(ValueError):
            check_paragraph(bad)


def test_production_names_weak_settings_without_their_values():
    weak = PlatformSettings(env="production", service_secret="change-me-now")
    with pytest.raises(InsecureConfiguration) as refused:
        check_production(weak, secrets={"HOTELMATE_JWT_SECRET": "x" * 40}, passwords={"HOTELMATE_ADMIN_PASSWORD": "tiny-pw"})
    message = str(refused.value)
    assert "HOTELMATE_SERVICE_SECRET" in message and "HOTELMATE_JWT_SECRET" in message
    assert "HOTELMATE_ADMIN_PASSWORD" in message and "change-me-now" not in message and "tiny-pw" not in message
    check_production(PlatformSettings(env="development"), secrets={"HOTELMATE_JWT_SECRET": ""})  # allowed
