"""``/book/{hotel}``: book a room; ``/book/{hotel}/bookings/{id}``: see, pay, pre-check-in, cancel.

The guest token lives in an HttpOnly cookie scoped to the one booking page's path, set from the
booking answer or from the emailed link's fragment (which a browser never sends to a server). So it
never appears in a URL the server sees, nor in its logs."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .common import HERE, call, templates

router = APIRouter(include_in_schema=False)
pages = templates(HERE / "templates")
COOKIE = "hotelmate_guest"
OPEN = ("REQUESTED", "PENDING_PAYMENT", "PENDING_APPROVAL", "CONFIRMED")


def booking_path(hotel: str, booking_id: str) -> str:
    return f"/book/{quote(hotel, safe='')}/bookings/{quote(booking_id, safe='')}"


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v).strip() for k, v in form.items()}


ASSETS = {"hotelmate.css": "text/css", "book.js": "text/javascript", "token.js": "text/javascript"}


@router.get("/assets/{name}")
async def asset(name: str):
    if name not in ASSETS:
        return Response(status_code=404)
    return Response((HERE / "static" / name).read_bytes(), media_type=ASSETS[name],
                    headers={"Cache-Control": "public, max-age=300"})


@router.get("/book/{hotel}", response_class=HTMLResponse)
async def booking_page(request: Request, hotel: str):
    return await _render_booking_page(request, hotel, dict(request.query_params))


async def _render_booking_page(request: Request, hotel: str, values: dict, error: str | None = None,
                               status: int = 200) -> Response:
    found = await call(request, "GET", f"/api/v1/hotels/{quote(hotel, safe='')}")
    if not found.ok:
        return pages.TemplateResponse(request, "message.html", {
            "title": "Hotel not found", "message": "There is no hotel at this address."}, status_code=404)
    info = found.body
    today = date.today()
    values.setdefault("check_in", (today + timedelta(days=7)).isoformat())
    values.setdefault("check_out", (today + timedelta(days=9)).isoformat())
    values.setdefault("adults", "2")
    values.setdefault("children", "0")
    if info["room_types"]:
        values.setdefault("room_type", info["room_types"][0]["code"])
    quote_answer = None
    if values.get("room_type"):
        quote_answer = await call(request, "POST", f"/api/v1/hotels/{quote(hotel, safe='')}/quotes", body={
            "room_type": values["room_type"], "check_in": values["check_in"], "check_out": values["check_out"],
            "adults": _int(values["adults"], 1), "children": _int(values["children"], 0),
            **({"promo_code": values["promo_code"]} if values.get("promo_code") else {})})
    return pages.TemplateResponse(request, "book.html", {
        "hotel": hotel, "info": info, "values": values, "error": error,
        "quote": quote_answer.body if quote_answer and quote_answer.ok else None,
        "quote_problem": quote_answer.problem() if quote_answer and not quote_answer.ok else None,
        "idempotency_key": values.get("idempotency_key") or secrets.token_urlsafe(16),
    }, status_code=status)


@router.post("/book/{hotel}")
async def place(request: Request, hotel: str):
    values = await _form(request)
    body = {
        "room_type": values.get("room_type", ""), "check_in": values.get("check_in", ""),
        "check_out": values.get("check_out", ""), "adults": _int(values.get("adults"), 0),
        "children": _int(values.get("children"), 0),
        "booker": {"first_name": values.get("first_name", ""), "last_name": values.get("last_name", ""),
                   "email": values.get("email", ""), **({"phone": values["phone"]} if values.get("phone") else {})},
    }
    if values.get("promo_code"):
        body["promo_code"] = values["promo_code"]
    if values.get("special_requests"):
        body["special_requests"] = values["special_requests"]
    answer = await call(request, "POST", f"/api/v1/hotels/{quote(hotel, safe='')}/bookings", body=body,
                        headers={"Idempotency-Key": values.get("idempotency_key") or secrets.token_urlsafe(16)})
    if answer.status != 202:
        return await _render_booking_page(request, hotel, values, error=answer.problem(),
                                          status=answer.status if 400 <= answer.status < 500 else 502)
    target = booking_path(hotel, answer.body["booking_id"])
    response = RedirectResponse(target, status_code=303)
    _set_token(response, target, answer.body["guest_token"])
    return response


def _set_token(response: Response, path: str, token: str) -> None:
    response.set_cookie(COOKIE, token, path=path, httponly=True, samesite="strict", max_age=400 * 86400,
                        secure=False)


@router.get("/book/{hotel}/bookings/{booking_id}", response_class=HTMLResponse)
async def booking(request: Request, hotel: str, booking_id: str):
    token = request.cookies.get(COOKIE)
    path = booking_path(hotel, booking_id)
    if not token:
        return pages.TemplateResponse(request, "token.html", {"path": path, "error": None})
    base = f"/api/v1/hotels/{quote(hotel, safe='')}/bookings/{quote(booking_id, safe='')}"
    wait = "?wait_for=PENDING_PAYMENT,PENDING_APPROVAL,CONFIRMED,DECLINED,UNAVAILABLE,CANCELLED,EXPIRED&timeout=8"
    view = await call(request, "GET", base, token=token)
    if view.ok and view.body["status"] == "REQUESTED":
        view = await call(request, "GET", base + wait, token=token)
    if view.status in (401, 404):
        response = pages.TemplateResponse(request, "token.html", {
            "path": path, "error": "This link does not open a booking. Check the link in your email."},
            status_code=404)
        response.delete_cookie(COOKIE, path=path)
        return response
    if not view.ok:
        return pages.TemplateResponse(request, "message.html", {"title": "Try again shortly",
                                                                "message": view.problem()}, status_code=502)
    data = view.body
    terms = None
    if data["status"] in ("PENDING_PAYMENT", "PENDING_APPROVAL", "CONFIRMED"):
        found = await call(request, "GET", base + "/cancellation-quote", token=token)
        terms = found.body if found.ok else None
    pre = await call(request, "GET", base + "/pre-check-in", token=token)
    return pages.TemplateResponse(request, "booking.html", {
        "hotel": hotel, "b": data, "path": path, "terms": terms, "open": data["status"] in OPEN,
        "pre": pre.body if pre.ok else None, "pre_available": pre.status != 404 or pre.ok,
        "message": request.query_params.get("done"), "error": request.query_params.get("error"),
    })


@router.post("/book/{hotel}/bookings/{booking_id}/token")
async def remember_token(request: Request, hotel: str, booking_id: str):
    """The token from the emailed link's fragment (sent by the page's script) or typed in: kept in
    the page's cookie, and the guest lands on the booking page itself."""
    values = await _form(request)
    path = booking_path(hotel, booking_id)
    response = RedirectResponse(path, status_code=303)
    token = values.get("token", "")
    if token:
        _set_token(response, path, token)
    return response


def _back(path: str, *, done: str | None = None, error: str | None = None) -> RedirectResponse:
    query = f"?done={quote(done)}" if done else f"?error={quote(error or '')}" if error else ""
    return RedirectResponse(path + query, status_code=303)


async def _as_guest(request: Request, hotel: str, booking_id: str, method: str, action: str, done: str,
                   body: dict | None = None) -> RedirectResponse:
    """Carry out ``action`` on the booking with the page's guest token, then back to the booking page."""
    path = booking_path(hotel, booking_id)
    token = request.cookies.get(COOKIE)
    if not token:
        return _back(path, error="Open the booking from your email first.")
    answer = await call(request, method, f"/api/v1/hotels/{quote(hotel, safe='')}/bookings/"
                        f"{quote(booking_id, safe='')}/{action}", body=body, token=token)
    return _back(path, done=done) if answer.ok else _back(path, error=answer.problem())


@router.post("/book/{hotel}/bookings/{booking_id}/cancel")
async def cancel(request: Request, hotel: str, booking_id: str):
    return await _as_guest(request, hotel, booking_id, "POST", "cancel", "Your booking is cancelled.")


@router.post("/book/{hotel}/bookings/{booking_id}/pre-check-in")
async def pre_check_in(request: Request, hotel: str, booking_id: str):
    form = await request.form()
    names = [str(n).strip() for n in form.getlist("party_name") if str(n).strip()]
    body = {"party_names": names, "arrival_time": str(form.get("arrival_time") or "").strip() or None,
            "special_requests": str(form.get("special_requests") or "").strip() or None}
    return await _as_guest(request, hotel, booking_id, "PUT", "pre-check-in",
                           "Thank you: your pre-check-in is saved.", body)


@router.get("/api/v1/hotels/{hotel}/bookings/{booking_id}", include_in_schema=False)
async def api_link_in_a_browser(request: Request, hotel: str, booking_id: str):
    """A browser opening the booking's API address (older emails, Stripe's return) lands on the page;
    the fragment with the token is kept by the browser across the redirect. API clients pass through."""
    from .. import proxy
    if "text/html" in request.headers.get("accept", "") and "authorization" not in request.headers:
        return RedirectResponse(booking_path(hotel, booking_id), status_code=303)
    return await proxy.forward(request)
