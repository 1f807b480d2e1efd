"""Catalogue PUTs, hotel info, availability and quotes through the HTTP API on a real database."""

from datetime import timedelta

from sqlalchemy import event, text

from inventory.cache import MemoryCatalogCache
from inventory.quoting import OneSession, availability

from .conftest import local_today, make_hotel


async def test_catalogue_puts_are_idempotent_upserts(client):
    slug = await make_hotel(client, rooms=2)
    again = await client.put(f"/api/v1/staff/hotels/{slug}/rooms/101", json={"room_type": "DBL", "floor": 1})
    assert again.status_code == 200 and again.json() == {"number": "101", "room_type": "DBL", "floor": "1", "in_service": True}
    hotel = (await client.get(f"/api/v1/hotels/{slug}")).json()
    assert hotel["timezone"] == "Europe/Lisbon" and hotel["currency"] == "EUR"
    assert hotel["room_types"] == [{"code": "DBL", "name": "Double", "max_adults": 2, "max_children": 1,
                                    "base_rate": {"amount": "100.00", "currency": "EUR"}}]
    assert hotel["cancellation_policy"] == {"free_until_hours": 24, "penalty": "FIRST_NIGHT", "value": None}
    policy = await client.put(f"/api/v1/staff/hotels/{slug}/cancellation-policy",
                              json={"free_until_hours": None, "penalty": "FULL_STAY"})
    assert policy.json() == {"free_until_hours": None, "penalty": "FULL_STAY", "value": None}


async def test_quote_applies_rates_promo_then_taxes(client):
    slug = await make_hotel(client, base_rate="100.50")
    ci = local_today() + timedelta(days=10)
    r = await client.put(f"/api/v1/staff/hotels/{slug}/rates", json=[
        {"room_type": "DBL", "from": str(ci + timedelta(days=1)), "to": str(ci + timedelta(days=1)), "price": "80.00"}])
    assert r.status_code == 200, r.text
    r = await client.put(f"/api/v1/staff/hotels/{slug}/taxes", json=[
        {"code": "VAT", "name": "VAT", "kind": "PERCENT", "value": "10"},
        {"code": "CITY", "name": "City tax", "kind": "PER_PERSON_PER_NIGHT", "value": "1.25"}])
    assert r.status_code == 200, r.text
    r = await client.put(f"/api/v1/staff/hotels/{slug}/promo-codes/SPRING", json={"percent_off": "12.5", "min_nights": 2})
    assert r.status_code == 200, r.text
    body = {"room_type": "DBL", "check_in": str(ci), "check_out": str(ci + timedelta(days=2)), "adults": 2,
            "children": 1, "promo_code": "SPRING"}
    quote = (await client.post(f"/api/v1/hotels/{slug}/quotes", json=body)).json()
    # 100.50 + 80.00 = 180.50; 12.5 % = 22.5625 -> 22.56; 157.94; VAT 15.794 -> 15.79; city 1.25 x 3 x 2 = 7.50
    assert [n["rate"]["amount"] for n in quote["nights"]] == ["100.50", "80.00"]
    assert (quote["subtotal"]["amount"], quote["discount"]["amount"], quote["total"]["amount"]) == ("180.50", "22.56", "181.23")
    assert [t["amount"]["amount"] for t in quote["taxes"]] == ["15.79", "7.50"]
    assert quote["cancellation_policy"]["penalty"] == "FIRST_NIGHT"


async def test_a_promo_code_of_one_hotel_is_unknown_at_another(client):
    first, second = await make_hotel(client), await make_hotel(client)
    await client.put(f"/api/v1/staff/hotels/{first}/promo-codes/ONLYHERE", json={"amount_off": "5.00"})
    ci = local_today() + timedelta(days=3)
    body = {"room_type": "DBL", "check_in": str(ci), "check_out": str(ci + timedelta(days=1)), "adults": 1,
            "promo_code": "ONLYHERE"}
    assert (await client.post(f"/api/v1/hotels/{first}/quotes", json=body)).json()["discount"]["amount"] == "5.00"
    other = await client.post(f"/api/v1/hotels/{second}/quotes", json=body)
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "promo_code"


async def test_bad_input_answers_problems_and_changes_nothing(client, db):
    slug = await make_hotel(client)
    ci = local_today() + timedelta(days=5)
    q = {"room_type": "DBL", "check_in": str(ci), "check_out": str(ci + timedelta(days=1)), "adults": 2}
    cases = [
        ("post", "/api/v1/hotels/nope/quotes", q, 404),
        ("post", f"/api/v1/hotels/{slug}/quotes", {**q, "room_type": "SUITE"}, 404),
        ("post", f"/api/v1/hotels/{slug}/quotes", {**q, "check_out": str(ci - timedelta(days=1))}, 422),
        ("post", f"/api/v1/hotels/{slug}/quotes", {**q, "check_in": str(local_today() - timedelta(days=1))}, 422),
        ("post", f"/api/v1/hotels/{slug}/quotes", {**q, "check_out": str(ci + timedelta(days=31))}, 422),
        ("post", f"/api/v1/hotels/{slug}/quotes", {**q, "adults": 3}, 422),
        ("post", f"/api/v1/hotels/{slug}/quotes", {**q, "check_in": "2027-02-30"}, 422),
        ("post", f"/api/v1/hotels/{slug}/quotes", {**q, "promo_code": "NOPE"}, 422),
        ("put", f"/api/v1/staff/hotels/{slug}/room-types/DBL", {"name": "X", "max_adults": 2, "base_rate": "1.001"}, 422),
        ("put", f"/api/v1/staff/hotels/{slug}/room-types/DBL", {"name": "X", "max_adults": 2, "base_rate": "abc"}, 422),
        ("put", f"/api/v1/staff/hotels/{slug}/rates", [{"room_type": "DBL", "from": str(ci), "to": str(ci), "price": "-5"}], 422),
        ("put", f"/api/v1/staff/hotels/{slug}/rates", [{"room_type": "DBL", "from": str(ci), "to": str(ci), "price": "1e400"}], 422),
        ("put", f"/api/v1/staff/hotels/{slug}/rates", [{"room_type": "DBL", "from": str(ci), "to": str(ci - timedelta(days=1)), "price": "5"}], 422),
        ("get", f"/api/v1/staff/hotels/{slug}/reports/occupancy?from={ci}&to={ci - timedelta(days=1)}", None, 422),
        ("put", f"/api/v1/staff/hotels/{slug}/taxes", [{"code": "V", "name": "V", "kind": "SOMETIMES", "value": "1"}], 422),
        ("put", f"/api/v1/staff/hotels/{slug}/cancellation-policy", {"free_until_hours": 24, "penalty": "PERCENT"}, 422),
        ("put", f"/api/v1/staff/hotels/{slug}/rates", [{"room_type": "SUITE", "from": str(ci), "to": str(ci), "price": "5"}], 422),
        ("put", f"/api/v1/staff/hotels/{slug}/rooms/999", {"room_type": "SUITE"}, 422),
        ("put", f"/api/v1/staff/hotels/{slug}/promo-codes/X", {"percent_off": "10", "amount_off": "5"}, 422),
        ("put", f"/api/v1/staff/hotels/{slug}", {"name": "X", "timezone": "Mars/Base", "currency": "EUR", "staff_email": "a@b"}, 422),
        ("put", f"/api/v1/staff/hotels/nope/rooms/1", {"room_type": "DBL"}, 404),
    ]
    async def snapshot():
        async with db.sessions() as s:
            return [(await s.execute(text(f"SELECT count(*), coalesce(sum(hashtext(t::text)), 0) FROM {t} t"))).one()
                    for t in ("hotels", "room_types", "rooms", "nightly_rates", "promo_codes", "taxes")]
    before = await snapshot()
    for method, path, body, status in cases:
        r = await (client.get(path) if method == "get" else getattr(client, method)(path, json=body))
        assert r.status_code == status, (path, body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        if status == 422:
            assert r.json()["errors"], r.json()
    after_a = await client.get(f"/api/v1/hotels/{slug}/availability",
                               params={"check_in": str(ci), "check_out": str(ci), "adults": 2})
    assert after_a.status_code == 422 and after_a.json()["errors"][0]["field"] == "check_out"
    assert await snapshot() == before


async def test_availability_lists_types_that_fit_with_nightly_prices(client):
    slug = await make_hotel(client, rooms=3)
    await client.put(f"/api/v1/staff/hotels/{slug}/room-types/FAM",
                     json={"name": "Family", "max_adults": 4, "max_children": 3, "base_rate": "150.00"})
    await client.put(f"/api/v1/staff/hotels/{slug}/rooms/201", json={"room_type": "FAM"})
    ci = local_today() + timedelta(days=2)
    params = {"check_in": str(ci), "check_out": str(ci + timedelta(days=2)), "adults": 2, "children": 0}
    types = (await client.get(f"/api/v1/hotels/{slug}/availability", params=params)).json()["room_types"]
    assert [(t["code"], t["available"], t["total"]["amount"]) for t in types] == [("DBL", 3, "200.00"), ("FAM", 1, "300.00")]
    assert types[0]["nights"] == [{"date": str(ci), "rate": {"amount": "100.00", "currency": "EUR"}},
                                  {"date": str(ci + timedelta(days=1)), "rate": {"amount": "100.00", "currency": "EUR"}}]
    big = (await client.get(f"/api/v1/hotels/{slug}/availability", params={**params, "adults": 3})).json()
    assert [t["code"] for t in big["room_types"]] == ["FAM"]


async def test_availability_issues_a_constant_number_of_queries(client, db):
    slug = await make_hotel(client, rooms=2)
    for code in ("A", "B", "C"):
        await client.put(f"/api/v1/staff/hotels/{slug}/room-types/{code}",
                         json={"name": code, "max_adults": 2, "base_rate": "90.00"})
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        counts = {}
        for nights in (1, 14):
            statements.clear()
            ci = local_today() + timedelta(days=7)
            async with db.sessions() as session:
                answer = await availability(OneSession(session), slug, ci, ci + timedelta(days=nights), 2, 0)
            assert len(answer["room_types"]) == 4 and len(answer["room_types"][0]["nights"]) == nights
            counts[nights] = len(statements)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert counts[1] == counts[14] == 5


async def test_a_cached_availability_issues_one_query(client, db):
    """The catalogue version and the rooms taken, in one statement; the priced room types from memory."""
    slug = await make_hotel(client, rooms=2)
    cache = MemoryCatalogCache()
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    ci = local_today() + timedelta(days=7)
    async with db.sessions() as session:
        first = await availability(OneSession(session), slug, ci, ci + timedelta(days=3), 2, 0, cache)
    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.sessions() as session:
            again = await availability(OneSession(session), slug, ci, ci + timedelta(days=3), 2, 0, cache)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert again == first and len(statements) == 1 and cache.hits == 1
