"""The gateway's edges: limits, upstream failures, request ids, the webhook, the API document."""

import base64
import http.client



def test_login_is_rate_limited_per_account_and_address(gw, address):
    # The account's bucket at one address runs out before the address's own; another address (the
    # owner's) still may try: nobody elsewhere can lock the account.
    email, attacker = "limited@hotelmate.test", address()
    answers = [gw.post("/api/v1/auth/token", json={"email": email, "password": "wrong-password"},
                       headers={"X-Forwarded-For": attacker}) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [401, 401, 401]
    assert answers[3].status_code == 429
    assert int(answers[3].headers["Retry-After"]) >= 1
    assert answers[3].headers["content-type"] == "application/problem+json"
    owner = gw.post("/api/v1/auth/token", json={"email": email, "password": "wrong-password"},
                    headers={"X-Forwarded-For": address()})
    assert owner.status_code == 401


def test_login_is_rate_limited_per_address(gw, address):
    client_address = address()
    codes = [gw.post("/api/v1/auth/token", json={"email": f"who{i}@hotelmate.test", "password": "x"},
                     headers={"X-Forwarded-For": client_address}).status_code for i in range(7)]
    assert codes[:6] == [401] * 6 and codes[6] == 429


def test_public_routes_are_rate_limited_per_address(gw, address):
    client_address = address()
    codes = [gw.get("/api/v1/hotels/h1", headers={"X-Forwarded-For": client_address}) for _ in range(21)]
    assert all(a.status_code == 200 for a in codes[:20])
    assert codes[20].status_code == 429 and int(codes[20].headers["Retry-After"]) >= 1
    assert gw.get("/api/v1/hotels/h1", headers={"X-Forwarded-For": address()}).status_code == 200


def test_staff_routes_are_rate_limited_per_identity(gw, staff_factory):
    token = staff_factory("RECEPTIONIST")
    other = staff_factory("RECEPTIONIST")
    codes = [gw.get("/api/v1/staff/hotels/h1/bookings", headers={"Authorization": f"Bearer {token}"}).status_code
             for _ in range(151)]
    assert codes[:150] == [200] * 150 and codes[150] == 429
    assert gw.get("/api/v1/staff/hotels/h1/bookings", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_body_over_the_limit_is_413(gw, address):
    headers = {"X-Forwarded-For": address()}
    answer = gw.post("/api/v1/hotels/h1/quotes", content=b"x" * 5000, headers=headers)
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"

    def chunked():
        for _ in range(5):
            yield b"y" * 1000

    assert gw.post("/api/v1/hotels/h1/quotes", content=chunked(), headers=headers).status_code == 413
    assert gw.post("/api/v1/hotels/h1/quotes", content=b"z" * 4000, headers=headers).status_code == 200


def test_stripe_webhook_passes_byte_for_byte(gw):
    raw = b'{"id": "evt_1",  "type":"checkout.session.completed" ,\n "x": "\xc3\xa9"}'
    signature = "t=1700000000,v1=abcdef0123456789"
    for _ in range(30):  # not behind the public rate limit either
        answer = gw.post("/api/v1/webhooks/stripe", content=raw,
                         headers={"Stripe-Signature": signature, "Content-Type": "application/json"})
        assert answer.status_code == 200
    seen = answer.json()
    assert seen["service"] == "payments" and seen["path"] == "/api/v1/webhooks/stripe"
    assert base64.b64decode(seen["body"]) == raw
    assert seen["headers"]["stripe-signature"] == signature


def test_request_id_is_returned_and_propagated(gw, address):
    given = gw.get("/api/v1/hotels/h1/availability?check_in=2027-01-01",
                   headers={"X-Request-ID": "req-abc-123", "X-Forwarded-For": address()})
    assert given.headers["X-Request-ID"] == "req-abc-123"
    assert given.json()["headers"]["x-request-id"] == "req-abc-123"
    assert given.json()["query"] == "check_in=2027-01-01"
    made = gw.get("/api/v1/hotels/h1", headers={"X-Forwarded-For": address()})
    assert made.headers["X-Request-ID"] and made.json()["headers"]["x-request-id"] == made.headers["X-Request-ID"]


def test_routes_by_path_to_the_owning_service(gw, address):
    headers = {"X-Forwarded-For": address()}
    assert gw.get("/api/v1/hotels/h1", headers=headers).json()["service"] == "inventory"
    assert gw.post("/api/v1/hotels/h1/quotes", json={}, headers=headers).json()["service"] == "inventory"
    assert gw.post("/api/v1/hotels/h1/bookings", json={}, headers=headers).json()["service"] == "booking"


def test_unknown_and_sneaky_paths_are_404(gw, address):
    host, port = gw.base_url.host, gw.base_url.port
    for path in ("/api/v1/nothing", "/internal/inventory/secret", "/api/v1/internal/x",
                 "/api/v1/hotels/h1/../../staff/hotels/h1/rates", "/api/v1/hotels/h1/%2e%2e/x",
                 "/api/v1/hotels/h1//bookings"):
        # http.client sends the path as written (httpx would remove the dot segments first).
        connection = http.client.HTTPConnection(host, port, timeout=5)
        connection.request("GET", path, headers={"X-Forwarded-For": address()})
        answer = connection.getresponse()
        assert answer.status == 404, path
        assert answer.getheader("content-type") == "application/problem+json"
        connection.close()


def test_security_headers_on_every_answer(gw, address):
    answer = gw.get("/api/v1/hotels/h1", headers={"X-Forwarded-For": address()})
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert gw.get("/api/v1/nothing").headers["x-content-type-options"] == "nosniff"


def test_slow_service_is_503_with_retry_after(gw, address):
    answer = gw.get("/api/v1/hotels/slow", headers={"X-Forwarded-For": address()})
    assert answer.status_code == 503 and int(answer.headers["retry-after"]) >= 1
    assert answer.headers["content-type"] == "application/problem+json"


def test_one_api_document(gw):
    doc = gw.get("/api/v1/openapi.json").json()
    assert "/api/v1/auth/token" in doc["paths"] and "/api/v1/admin/staff" in doc["paths"]
    assert "/api/v1/staff/hotels/{hotel}/booking-things" in doc["paths"]
    assert not any(p.startswith("/internal") or p in ("/healthz", "/readyz") for p in doc["paths"])
    assert "inventory_Thing" in doc["components"]["schemas"] or "Thing" in doc["components"]["schemas"]
    assert gw.get("/api/v1/docs").status_code == 200


def test_stopped_service_is_503_and_the_rest_still_works(gw, tokens, standin_system, address):
    system, standins = standin_system
    standins.stop("notifications")
    try:
        down = gw.get("/api/v1/staff/hotels/h1/notifications", headers={"Authorization": f"Bearer {tokens['ADMIN']}"})
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        assert down.json()["status"] == 503 and down.headers["Retry-After"]
        assert gw.get("/api/v1/hotels/h1", headers={"X-Forwarded-For": address()}).status_code == 200
        assert gw.get("/api/v1/staff/hotels/h1/bookings",
                      headers={"Authorization": f"Bearer {tokens['ADMIN']}"}).status_code == 200
        ready = gw.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["notifications"].startswith("down")
        doc = gw.get("/api/v1/openapi.json").json()
        assert doc["info"]["x-services"]["notifications"] == "unavailable"
        assert "/api/v1/staff/hotels/{hotel}/notifications-things" not in doc["paths"]
    finally:
        standins.start("notifications")
    assert gw.get("/readyz").json()["status"] == "ready"


def test_cors_is_off_unless_configured(gw):
    answer = gw.options("/api/v1/hotels/h1", headers={"Origin": "https://evil.example",
                                                      "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in answer.headers


def test_refused_staff_tokens_are_rate_limited_per_address(gw, address):
    headers = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.guess", "X-Forwarded-For": address()}
    codes = [gw.get("/api/v1/staff/hotels/h1/bookings", headers=headers).status_code for _ in range(21)]
    assert codes[:20] == [401] * 20 and codes[20] == 429
