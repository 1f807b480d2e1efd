"""Unit checks of the trust and input rules (pure functions; tests/security drives them end to end)."""

import time

import pytest

from hotelmate_contracts.text import check_line, check_paragraph
from hotelmate_platform import trust
from hotelmate_platform.limits import has_nul_in_json
from hotelmate_platform.production import InsecureConfiguration, check_production
from hotelmate_platform.settings import PlatformSettings

KEY = "k" * 64  # long enough for HS512 too (the test signs one HS512 token for verify() to refuse)


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


def _pyjwt_accepts(token, key) -> bool:
    import jwt
    try:
        jwt.decode(token, key, algorithms=["HS256"], audience=trust.AUDIENCE, issuer=trust.ISSUER,
                   leeway=trust.LEEWAY_SECONDS, options={"require": ["exp", "iat", "aud", "iss"]})
        return True
    except jwt.PyJWTError:
        return False


def _trust_accepts(token, key) -> bool:
    try:
        trust.verify(token, key)
        return True
    except trust.InvalidAssertion:
        return False


def test_the_assertion_check_agrees_with_pyjwt_on_good_and_bad_tokens():
    """verify() is our own HS256 check (cheaper than PyJWT's): it accepts and refuses what PyJWT does."""
    import jwt
    now = int(time.time())
    good = {"iss": trust.ISSUER, "aud": trust.AUDIENCE, "caller": "gateway", "rid": "r", "iat": now, "exp": now + 30}
    tokens = {
        "ours": trust.sign(KEY, "gateway", request_id="r1"),
        "ours, staff": trust.sign(KEY, "gateway", staff_id="7", role="ADMIN", hotels=["h1"]),
        "pyjwt's": jwt.encode(good, KEY, algorithm="HS256"),
        "audience list": jwt.encode({**good, "aud": ["x", trust.AUDIENCE]}, KEY, algorithm="HS256"),
        "other key": trust.sign("z" * 40, "gateway"),
        "expired": trust.sign(KEY, "gateway", now=now - 60),
        "issued in the future": trust.sign(KEY, "gateway", now=now + 60),
        "other audience": jwt.encode({**good, "aud": "someone"}, KEY, algorithm="HS256"),
        "audience not strings": jwt.encode({**good, "aud": [1]}, KEY, algorithm="HS256"),
        "other issuer": jwt.encode({**good, "iss": "evil"}, KEY, algorithm="HS256"),
        "no exp": jwt.encode({k: v for k, v in good.items() if k != "exp"}, KEY, algorithm="HS256"),
        "no iat": jwt.encode({k: v for k, v in good.items() if k != "iat"}, KEY, algorithm="HS256"),
        "exp not a number": jwt.encode({**good, "exp": "soon"}, KEY, algorithm="HS256"),
        "not before later": jwt.encode({**good, "nbf": now + 60}, KEY, algorithm="HS256"),
        "subject not a string": jwt.encode({**good, "sub": 7}, KEY, algorithm="HS256"),
        "HS512": jwt.encode(good, KEY, algorithm="HS512"),
        "alg none": jwt.encode(good, None, algorithm="none"),
        "two segments": ".".join(trust.sign(KEY, "gateway").split(".")[:2]),
        "junk in the signature": trust.sign(KEY, "gateway")[:-4] + "!!!!",
        "payload swapped": ".".join([trust.sign(KEY, "gateway").split(".")[0],
                                     trust.sign(KEY, "other").split(".")[1], trust.sign(KEY, "gateway").split(".")[2]]),
        "empty": "",
        "not a jwt": "hello",
    }
    for name, token in tokens.items():
        assert _trust_accepts(token, KEY) == _pyjwt_accepts(token, KEY), name
    assert [n for n, t in tokens.items() if _trust_accepts(t, KEY)] == ["ours", "ours, staff", "pyjwt's", "audience list"]
