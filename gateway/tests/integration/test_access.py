"""Staff routes through the gateway: each role against each route class, hotel scope, tokens."""

import base64
import json
import os
import time

import jwt
import pytest

from gateway.domain.access import Identity, Role
from gateway.identity import issue_token
from hotelmate_devtools.signing import run_service_key
from hotelmate_platform import trust

# (method, path under /api/v1/staff/hotels/{hotel}, owning service, least role allowed)
STAFF_ROUTES = [
    ("GET", "/bookings", "booking", "RECEPTIONIST"),
    ("GET", "/bookings/BK-2026-000001", "booking", "RECEPTIONIST"),
    ("POST", "/bookings/BK-2026-000001/approve", "booking", "MANAGER"),
    ("POST", "/bookings/BK-2026-000001/decline", "booking", "MANAGER"),
    ("POST", "/bookings/BK-2026-000001/cancel", "booking", "MANAGER"),
    ("PUT", "/bookings/BK-2026-000001/room", "booking", "RECEPTIONIST"),
    ("DELETE", "/bookings/BK-2026-000001/room", "booking", "RECEPTIONIST"),
    ("POST", "/bookings/BK-2026-000001/check-in", "booking", "RECEPTIONIST"),
    ("POST", "/bookings/BK-2026-000001/check-out", "booking", "RECEPTIONIST"),
    ("POST", "/bookings/BK-2026-000001/no-show", "booking", "RECEPTIONIST"),
    ("PUT", "", "inventory", "ADMIN"),
    ("PUT", "/room-types/DBL", "inventory", "MANAGER"),
    ("PUT", "/rooms/101", "inventory", "MANAGER"),
    ("PUT", "/rates", "inventory", "MANAGER"),
    ("PUT", "/taxes", "inventory", "MANAGER"),
    ("PUT", "/promo-codes/SUMMER", "inventory", "MANAGER"),
    ("PUT", "/cancellation-policy", "inventory", "MANAGER"),
    ("GET", "/reports/occupancy?from=2027-01-01&to=2027-01-31", "inventory", "RECEPTIONIST"),
    ("GET", "/notifications", "notifications", "RECEPTIONIST"),
]
RANK = {"RECEPTIONIST": 1, "MANAGER": 2, "ADMIN": 3}


def call(gw, token, method, suffix, hotel="h1"):
    kwargs = {"json": {}} if method in ("POST", "PUT") else {}
    return gw.request(method, f"/api/v1/staff/hotels/{hotel}{suffix}",
                      headers={"Authorization": f"Bearer {token}"}, **kwargs)


@pytest.mark.parametrize("role", ["ADMIN", "MANAGER", "RECEPTIONIST"])
def test_each_role_against_each_staff_route(gw, tokens, role):
    for method, suffix, service, least in STAFF_ROUTES:
        answer = call(gw, tokens[role], method, suffix)
        if RANK[role] >= RANK[least]:
            assert answer.status_code == 200, (method, suffix, role, answer.text)
            seen = answer.json()
            assert seen["service"] == service and seen["method"] == method
            assert seen["headers"]["x-hotelmate-staff-role"] == role
            assert seen["headers"]["x-hotelmate-staff-id"]
            assert "authorization" not in seen["headers"]  # the JWT stays at the gateway
        else:
            assert answer.status_code == 403, (method, suffix, role, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ["MANAGER", "RECEPTIONIST"])
def test_another_hotel_answers_404(gw, tokens, role):
    for method, suffix, _service, _least in STAFF_ROUTES:
        answer = call(gw, tokens[role], method, suffix, hotel="h2")
        assert answer.status_code == 404, (method, suffix, role, answer.text)
        assert answer.json()["status"] == 404


def test_admin_acts_on_every_hotel(gw, tokens):
    assert call(gw, tokens["ADMIN"], "POST", "/bookings/BK-2026-000001/approve", hotel="h2").status_code == 200


def test_staff_scoped_to_two_hotels_sees_both(gw, staff_factory):
    token = staff_factory("MANAGER", ("h3", "h4"))
    assert call(gw, token, "GET", "/bookings", hotel="h3").status_code == 200
    assert call(gw, token, "GET", "/bookings", hotel="h4").status_code == 200
    assert call(gw, token, "GET", "/bookings", hotel="h1").status_code == 404


def test_client_sent_identity_headers_are_replaced(gw, tokens):
    answer = gw.get("/api/v1/staff/hotels/h1/bookings", headers={
        "Authorization": f"Bearer {tokens['RECEPTIONIST']}", "X-HotelMate-Staff-Role": "ADMIN",
        "X-HotelMate-Staff-Id": "someone-else", "X-HotelMate-Anything": "x"})
    seen = answer.json()["headers"]
    assert seen["x-hotelmate-staff-role"] == "RECEPTIONIST"
    assert seen["x-hotelmate-staff-id"] != "someone-else"
    assert "x-hotelmate-anything" not in seen
    vouched = trust.verify(seen["x-hotelmate-assertion"], run_service_key())  # what services believe
    assert (vouched.role, vouched.staff_id) == ("RECEPTIONIST", seen["x-hotelmate-staff-id"])
    guest = gw.get("/api/v1/hotels/h1/bookings/BK-2026-000001", headers={"X-HotelMate-Staff-Role": "ADMIN"})
    sent = guest.json()["headers"]
    assert [k for k in sent if k.startswith("x-hotelmate-")] == ["x-hotelmate-assertion"]
    assert trust.verify(sent["x-hotelmate-assertion"], run_service_key()).staff_id is None


def _unsigned(claims: dict) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _claims(role="ADMIN", **extra):
    now = int(time.time())
    return {"iss": "hotelmate-gateway", "sub": "00000000-0000-0000-0000-000000000001", "role": role,
            "hotels": [], "iat": now, "exp": now + 600, **extra}


def test_bad_staff_tokens_answer_401(gw):
    secret = os.environ["HOTELMATE_JWT_SECRET"]
    admin = Identity("00000000-0000-0000-0000-000000000001", Role.ADMIN, frozenset())
    bad = {
        "expired": issue_token(admin, secret, 60, now=time.time() - 3600),
        "forged": issue_token(admin, "not-the-secret-" * 4, 600),
        "alg none": _unsigned(_claims()),
        "other algorithm": jwt.encode(_claims(), secret, algorithm="HS512"),
        "no expiry": jwt.encode({k: v for k, v in _claims().items() if k != "exp"}, secret, algorithm="HS256"),
        "garbage": "eyJhbGciOi.not.a-token",
    }
    for name, token in bad.items():
        answer = gw.get("/api/v1/staff/hotels/h1/bookings", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, name
        assert answer.headers["content-type"] == "application/problem+json"
    assert gw.get("/api/v1/staff/hotels/h1/bookings").status_code == 401
    assert gw.get("/api/v1/staff/hotels/h1/bookings", headers={"Authorization": "Basic YTpi"}).status_code == 401


def test_guest_token_on_a_staff_route_is_401(gw, address):
    guest_token = "q8Xh0bY2Jv4n7VQe-opaque_guest_token_value"
    answer = gw.get("/api/v1/staff/hotels/h1/bookings/BK-2026-000001",
                    headers={"Authorization": f"Bearer {guest_token}", "X-Forwarded-For": address()})
    assert answer.status_code == 401


def test_staff_token_on_a_guest_route_is_401(gw, tokens, address):
    for path in ("/api/v1/hotels/h1/bookings/BK-2026-000001", "/api/v1/hotels/h1/bookings/BK-2026-000001/cancel"):
        method = "POST" if path.endswith("cancel") else "GET"
        answer = gw.request(method, path, headers={"Authorization": f"Bearer {tokens['ADMIN']}",
                                                   "X-Forwarded-For": address()})
        assert answer.status_code == 401, path


def test_guest_token_passes_through_unchanged(gw, address):
    guest_token = "q8Xh0bY2Jv4n7VQe-opaque_guest_token_value"
    answer = gw.get("/api/v1/hotels/h1/bookings/BK-2026-000001",
                    headers={"Authorization": f"Bearer {guest_token}", "X-Forwarded-For": address()})
    assert answer.status_code == 200
    assert answer.json()["service"] == "booking"
    assert answer.json()["headers"]["authorization"] == f"Bearer {guest_token}"


def test_admin_staff_needs_admin(gw, tokens):
    body = {"email": "new-one@hotelmate.test", "password": "a-long-enough-password", "role": "RECEPTIONIST",
            "hotels": ["h1"]}
    assert gw.post("/api/v1/admin/staff", json=body, headers={"Authorization": f"Bearer {tokens['MANAGER']}"}
                   ).status_code == 403
    assert gw.post("/api/v1/admin/staff", json=body).status_code == 401


def test_admin_staff_rejects_duplicates_and_bad_input(gw, tokens):
    auth = {"Authorization": f"Bearer {tokens['ADMIN']}"}
    body = {"email": "dup@hotelmate.test", "password": "a-long-enough-password", "role": "MANAGER", "hotels": ["h1"]}
    assert gw.post("/api/v1/admin/staff", json=body, headers=auth).status_code == 201
    assert gw.post("/api/v1/admin/staff", json={**body, "email": "DUP@hotelmate.test"}, headers=auth).status_code == 409
    invalid = gw.post("/api/v1/admin/staff", json={**body, "email": "x@y.z", "password": "short", "role": "KING"},
                      headers=auth)
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in invalid.json()["errors"]} >= {"password", "role"}
    assert gw.post("/api/v1/admin/staff", json={**body, "email": "nohotel@hotelmate.test", "hotels": []},
                   headers=auth).status_code == 422
