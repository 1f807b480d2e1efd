"""Token buckets and the merge of the API document, without I/O."""

from gateway.openapi import merge
from gateway.ratelimit import TokenBuckets, retry_after


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_bucket_allows_a_burst_then_waits():
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    wait = buckets.take("a")
    assert 0 < wait <= 1 and retry_after(wait) == "1"
    assert buckets.take("b") == 0  # keys are independent
    clock.now += 1.0
    assert buckets.take("a") == 0


def test_bucket_memory_is_bounded():
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=1, clock=clock)
    buckets.MAX_KEYS = 10
    for i in range(50):
        buckets.take(str(i))
        clock.now += 5
    assert len(buckets._buckets) <= 10


def _doc(paths, schemas):
    return {"openapi": "3.1.0", "info": {"title": "x", "version": "1"}, "paths": paths,
            "components": {"schemas": schemas}}


def test_merge_keeps_public_paths_and_renames_clashing_schemas():
    view = {"application/json": {"schema": {"$ref": "#/components/schemas/View"}}}
    ok = {"200": {"description": "ok", "content": view}, "422": {"description": "bad"}}
    inventory = _doc({"/api/v1/hotels/{hotel}": {"get": {"responses": ok}},
                      "/internal/holds": {"post": {"responses": ok}}, "/healthz": {"get": {"responses": ok}}},
                     {"View": {"type": "object", "title": "hotel"}})
    booking = _doc({"/api/v1/hotels/{hotel}/bookings/{id}": {"get": {"responses": ok}},
                    "/api/v1/staff/hotels/{hotel}/bookings": {"get": {"responses": ok}}},
                   {"View": {"type": "object", "title": "booking"}})
    doc = merge([("inventory", inventory), ("booking", booking)], title="t", version="1")
    assert set(doc["paths"]) == {"/api/v1/hotels/{hotel}", "/api/v1/hotels/{hotel}/bookings/{id}",
                                 "/api/v1/staff/hotels/{hotel}/bookings"}
    assert doc["components"]["schemas"]["View"]["title"] == "hotel"
    assert doc["components"]["schemas"]["booking_View"]["title"] == "booking"
    guest = doc["paths"]["/api/v1/hotels/{hotel}/bookings/{id}"]["get"]
    schema = guest["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"] == "#/components/schemas/booking_View"
    assert "application/problem+json" in guest["responses"]["422"]["content"]
    assert guest["security"] == [{"guestBearer": []}]
    assert doc["paths"]["/api/v1/staff/hotels/{hotel}/bookings"]["get"]["security"] == [{"staffBearer": []}]
