"""The role table and hotel scope of SPEC §5, without I/O."""

import pytest

from gateway.domain.access import AccessDenied, Audience, Identity, Role, authorize, looks_like_jwt, route_for

ADMIN = Identity("a", Role.ADMIN, frozenset())
MANAGER = Identity("m", Role.MANAGER, frozenset({"h1"}))
RECEPTIONIST = Identity("r", Role.RECEPTIONIST, frozenset({"h1"}))

# (method, path, owning service, least role)
TABLE = [
    ("GET", "/api/v1/staff/hotels/h1/bookings", "booking", Role.RECEPTIONIST),
    ("GET", "/api/v1/staff/hotels/h1/bookings/BK-2026-000001", "booking", Role.RECEPTIONIST),
    ("POST", "/api/v1/staff/hotels/h1/bookings/BK-2026-000001/approve", "booking", Role.MANAGER),
    ("POST", "/api/v1/staff/hotels/h1/bookings/BK-2026-000001/decline", "booking", Role.MANAGER),
    ("POST", "/api/v1/staff/hotels/h1/bookings/BK-2026-000001/cancel", "booking", Role.MANAGER),
    ("PUT", "/api/v1/staff/hotels/h1/bookings/BK-2026-000001/room", "booking", Role.RECEPTIONIST),
    ("DELETE", "/api/v1/staff/hotels/h1/bookings/BK-2026-000001/room", "booking", Role.RECEPTIONIST),
    ("POST", "/api/v1/staff/hotels/h1/bookings/BK-2026-000001/check-in", "booking", Role.RECEPTIONIST),
    ("POST", "/api/v1/staff/hotels/h1/bookings/BK-2026-000001/check-out", "booking", Role.RECEPTIONIST),
    ("POST", "/api/v1/staff/hotels/h1/bookings/BK-2026-000001/no-show", "booking", Role.RECEPTIONIST),
    ("POST", "/api/v1/staff/hotels/h1/bookings/BK-2026-000001/something-new", "booking", Role.MANAGER),
    ("PUT", "/api/v1/staff/hotels/h1", "inventory", Role.ADMIN),
    ("PUT", "/api/v1/staff/hotels/h1/room-types/DBL", "inventory", Role.MANAGER),
    ("PUT", "/api/v1/staff/hotels/h1/rooms/101", "inventory", Role.MANAGER),
    ("PUT", "/api/v1/staff/hotels/h1/rates", "inventory", Role.MANAGER),
    ("PUT", "/api/v1/staff/hotels/h1/taxes", "inventory", Role.MANAGER),
    ("PUT", "/api/v1/staff/hotels/h1/promo-codes/SUMMER", "inventory", Role.MANAGER),
    ("PUT", "/api/v1/staff/hotels/h1/cancellation-policy", "inventory", Role.MANAGER),
    ("DELETE", "/api/v1/staff/hotels/h1/promo-codes/SUMMER", "inventory", Role.MANAGER),
    ("GET", "/api/v1/staff/hotels/h1/reports/occupancy", "inventory", Role.RECEPTIONIST),
    ("GET", "/api/v1/staff/hotels/h1/notifications", "notifications", Role.RECEPTIONIST),
    ("POST", "/api/v1/staff/hotels/h1/notifications/7/retry", "notifications", Role.RECEPTIONIST),
]


@pytest.mark.parametrize("method,path,service,least", TABLE)
@pytest.mark.parametrize("who", [ADMIN, MANAGER, RECEPTIONIST], ids=lambda i: i.role.value)
def test_role_table(method, path, service, least, who):
    route = route_for(method, path)
    assert route.service == service and route.audience is Audience.STAFF and route.hotel == "h1"
    if who.role.rank >= least.rank:
        authorize(who, route)
    else:
        with pytest.raises(AccessDenied) as denied:
            authorize(who, route)
        assert denied.value.status == 403


@pytest.mark.parametrize("who", [MANAGER, RECEPTIONIST], ids=lambda i: i.role.value)
def test_another_hotel_is_not_found_before_the_role_is_checked(who):
    with pytest.raises(AccessDenied) as denied:
        authorize(who, route_for("PUT", "/api/v1/staff/hotels/h2"))
    assert denied.value.status == 404


def test_admin_sees_every_hotel():
    authorize(ADMIN, route_for("POST", "/api/v1/staff/hotels/anywhere/bookings/X/approve"))


@pytest.mark.parametrize("method,path,service,audience", [
    ("GET", "/api/v1/hotels/h1", "inventory", Audience.PUBLIC),
    ("GET", "/api/v1/hotels/h1/availability", "inventory", Audience.PUBLIC),
    ("POST", "/api/v1/hotels/h1/quotes", "inventory", Audience.PUBLIC),
    ("POST", "/api/v1/hotels/h1/bookings", "booking", Audience.GUEST),
    ("GET", "/api/v1/hotels/h1/bookings/BK-1/cancellation-quote", "booking", Audience.GUEST),
    ("POST", "/api/v1/hotels/h1/bookings/BK-1/cancel", "booking", Audience.GUEST),
    ("POST", "/api/v1/webhooks/stripe", "payments", Audience.WEBHOOK),
])
def test_public_routing(method, path, service, audience):
    route = route_for(method, path)
    assert (route.service, route.audience) == (service, audience)


@pytest.mark.parametrize("path", ["/api/v1/internal/holds", "/internal/holds", "/api/v1/staff", "/api/v1/hotels",
                                  "/api/v1/staff/hotels", "/healthz", "/api/v1/webhooks/other"])
def test_unrouted_paths(path):
    assert route_for("GET", path) is None


def test_jwt_shape():
    assert looks_like_jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig")
    assert not looks_like_jwt("q8Xh0bY2Jv4n7VQe-opaque_guest_token_value")
    assert not looks_like_jwt("a.b.c")
