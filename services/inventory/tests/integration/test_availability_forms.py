"""Availability's plain query (check_in, check_out, adults, children) is served by a lean route
(``FastAvailability``); every other form by FastAPI's. A guest sees no difference."""

import pytest

from starlette.routing import Match

from inventory.api.public import FastAvailability

from .conftest import make_hotel
from .test_catalog_cache import stay


def days() -> tuple[str, str]:
    dates = stay(nights=3)
    return dates["check_in"], dates["check_out"]


def lean(path: str, query: str) -> bool:
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query.encode(), "path_params": {}}
    return FastAvailability().matches(scope)[0] is Match.FULL


async def test_the_plain_query_and_other_forms_of_it_get_the_same_answer_byte_for_byte(client):
    slug = await make_hotel(client)
    ci, co = days()
    base = f"/api/v1/hotels/{slug}/availability"
    assert lean(base, f"check_in={ci}&check_out={co}&adults=2&children=0")
    plain = await client.get(f"{base}?check_in={ci}&check_out={co}&adults=2&children=0")
    assert plain.status_code == 200, plain.text
    assert plain.json()["room_types"][0]["available"] == 5
    reordered = await client.get(f"{base}?check_out={co}&check_in={ci}")  # defaults: 2 adults, no child
    assert lean(base, f"check_out={co}&check_in={ci}") and reordered.content == plain.content
    # Forms the lean route leaves to FastAPI's: an unknown parameter, a repeated one (FastAPI takes
    # the last), a zero-padded count.
    for other in (f"check_in={ci}&check_out={co}&adults=2&utm_source=x",
                  f"adults=3&check_in={ci}&check_out={co}&adults=2", f"check_in={ci}&check_out={co}&adults=02"):
        assert not lean(base, other)
        answer = await client.get(f"{base}?{other}")
        assert answer.status_code == 200, (other, answer.text)
        assert answer.content == plain.content, other
        assert answer.headers["content-type"] == plain.headers["content-type"]


@pytest.mark.parametrize("query", ["check_in={ci}", "check_in={ci}&check_out={co}&adults=0",
                                   "check_in={ci}&check_out={co}&adults=51", "check_in={ci}&check_out=2027-02-30",
                                   "check_in={ci}&check_out={co}&children=-1", "check_in={co}&check_out={ci}"])
async def test_bad_availability_questions_get_the_same_problem_in_either_form(client, query):
    slug = await make_hotel(client)
    ci, co = days()
    base = f"/api/v1/hotels/{slug}/availability"
    first = await client.get(f"{base}?{query.format(ci=ci, co=co)}")
    again = await client.get(f"{base}?{query.format(ci=ci, co=co)}&utm_source=x")  # never the lean route
    assert first.status_code == again.status_code and first.status_code in (400, 422), first.text
    assert first.headers["content-type"] == again.headers["content-type"] == "application/problem+json"
    assert {k: v for k, v in first.json().items() if k != "instance"} == {
        k: v for k, v in again.json().items() if k != "instance"}


async def test_an_unknown_hotel_is_a_404_problem_on_the_lean_route_too(client):
    ci, co = days()
    answer = await client.get(f"/api/v1/hotels/no-such-hotel/availability?check_in={ci}&check_out={co}")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
