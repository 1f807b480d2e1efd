"""Passwords and staff tokens, without I/O."""

import time

import jwt
import pytest

from gateway.domain.access import Identity, Role
from gateway.identity import InvalidToken, hash_password, issue_token, read_token, verify_password

SECRET = "s" * 64
WHO = Identity("00000000-0000-0000-0000-000000000009", Role.MANAGER, frozenset({"h1", "h2"}))


def test_password_round_trip():
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2")
    assert verify_password(stored, "correct horse battery")
    assert not verify_password(stored, "wrong")
    assert not verify_password(None, "anything")


def test_token_round_trip():
    token = issue_token(WHO, SECRET, 60)
    assert read_token(token, SECRET) == WHO
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], issuer="hotelmate-gateway")
    assert claims["exp"] - claims["iat"] == 60


@pytest.mark.parametrize("make", [
    lambda: issue_token(WHO, SECRET, 60, now=time.time() - 120),                       # expired
    lambda: issue_token(WHO, "another-secret-" * 4, 60),                               # forged
    lambda: jwt.encode({"sub": "x", "role": "ADMIN", "iat": 1, "exp": 2**40,
                        "iss": "hotelmate-gateway"}, None, algorithm="none"),           # alg=none
    lambda: jwt.encode({"sub": "x", "role": "ADMIN", "iat": 1, "exp": 2**40,
                        "iss": "hotelmate-gateway"}, SECRET, algorithm="HS384"),       # other algorithm
    lambda: jwt.encode({"sub": "x", "role": "KING", "iat": 1, "exp": 2**40,
                        "iss": "hotelmate-gateway"}, SECRET, algorithm="HS256"),       # unknown role
    lambda: jwt.encode({"sub": "x", "role": "ADMIN", "iat": 1, "exp": 2**40,
                        "iss": "someone-else"}, SECRET, algorithm="HS256"),            # other issuer
    lambda: "not.a.jwt",
], ids=["expired", "forged", "alg-none", "hs384", "unknown-role", "other-issuer", "garbage"])
def test_bad_tokens_are_refused(make):
    with pytest.raises(InvalidToken):
        read_token(make(), SECRET)
