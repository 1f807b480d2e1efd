"""``/console/``: sign in, bookings (filters, search, bulk decisions), a booking's detail and the
desk's actions, failed emails and retry, the occupancy report. Every action is a plain form post
to the staff API through the gateway; the staff JWT lives in an HttpOnly cookie scoped to /console."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..pages.common import call, templates

router = APIRouter(prefix="/console", include_in_schema=False)
pages = templates(Path(__file__).resolve().parent / "templates")
COOKIE = "hotelmate_staff"
STATUSES = ["REQUESTED", "PENDING_PAYMENT", "PENDING_APPROVAL", "CONFIRMED", "CHECKED_IN", "CHECKED_OUT",
            "NO_SHOW", "DECLINED", "CANCELLED", "EXPIRED", "UNAVAILABLE", "PAYMENT_FAILED"]
ACTIONS = {"approve": "approve", "check-in": "check-in", "check-out": "check-out", "no-show": "no-show"}


def _q(value: str) -> str:
    return quote(value, safe="")


def _signed_out() -> RedirectResponse:
    response = RedirectResponse("/console/", status_code=303)
    response.delete_cookie(COOKIE, path="/console")
    return response


def _back(path: str, *, done: str | None = None, error: str | None = None) -> RedirectResponse:
    sep = "&" if "?" in path else "?"
    query = urlencode({"done": done} if done else {"error": error} if error else {})
    return RedirectResponse(path + (sep + query if query else ""), status_code=303)


async def _staff(request: Request, method: str, path: str, body=None):
    return await call(request, method, path, body=body, token=request.cookies.get(COOKIE))


@router.get("/", response_class=HTMLResponse)
async def home(request: Request):
    if not request.cookies.get(COOKIE):
        return pages.TemplateResponse(request, "sign_in.html", {"error": request.query_params.get("error")})
    hotels = [h for h in (request.cookies.get("hotelmate_hotels") or "").split(",") if h]
    return pages.TemplateResponse(request, "home.html", {"hotels": hotels or ["demo"]})


@router.post("/sign-in")
async def sign_in(request: Request):
    form = await request.form()
    answer = await call(request, "POST", "/api/v1/auth/token", body={
        "email": str(form.get("email") or ""), "password": str(form.get("password") or "")})
    if not answer.ok:
        return pages.TemplateResponse(request, "sign_in.html", {"error": answer.problem()},
                                      status_code=answer.status if answer.status < 500 else 502)
    response = RedirectResponse("/console/", status_code=303)
    response.set_cookie(COOKIE, answer.body["access_token"], path="/console", httponly=True, samesite="strict",
                        max_age=answer.body["expires_in"])
    response.set_cookie("hotelmate_hotels", ",".join(answer.body.get("hotels") or []), path="/console",
                        httponly=True, samesite="strict", max_age=answer.body["expires_in"])
    return response


@router.post("/sign-out")
async def sign_out():
    return _signed_out()


@router.get("/go")
async def go(hotel: str = ""):
    return RedirectResponse(f"/console/{_q(hotel.strip() or 'demo')}/bookings", status_code=303)


def _guard(answer) -> Response | None:
    return _signed_out() if answer.status == 401 else None


@router.get("/{hotel}/bookings", response_class=HTMLResponse)
async def bookings(request: Request, hotel: str):
    if not request.cookies.get(COOKIE):
        return _signed_out()
    params = request.query_params
    query = [(k, params[k]) for k in ("q", "arrival_from", "arrival_to", "cursor") if params.get(k)]
    query += [("status", s) for s in params.getlist("status") if s]
    answer = await _staff(request, "GET", f"/api/v1/staff/hotels/{_q(hotel)}/bookings?{urlencode(query)}")
    if (guard := _guard(answer)) is not None:
        return guard
    return pages.TemplateResponse(request, "bookings.html", {
        "hotel": hotel, "items": answer.body.get("items", []) if answer.ok else [],
        "next_cursor": answer.body.get("next_cursor") if answer.ok else None,
        "problem": None if answer.ok else answer.problem(), "statuses": STATUSES,
        "chosen": params.getlist("status"), "params": params,
        "done": params.get("done"), "error": params.get("error")},
        status_code=200 if answer.ok else answer.status)


@router.post("/{hotel}/bookings/bulk")
async def bulk(request: Request, hotel: str):
    form = await request.form()
    ids = [str(i) for i in form.getlist("booking_id")]
    action = str(form.get("action") or "")
    reason = str(form.get("reason_code") or "").strip()
    path = f"/console/{_q(hotel)}/bookings"
    if not ids:
        return _back(path, error="Choose at least one booking.")
    if action not in ("approve", "decline"):
        return _back(path, error="Choose approve or decline.")
    if action == "decline" and not reason:
        return _back(path, error="A decline needs a reason.")
    failed = []
    for booking_id in ids:
        body = {"reason_code": reason, "note": str(form.get("note") or "") or None} if action == "decline" else None
        answer = await _staff(request, "POST", f"/api/v1/staff/hotels/{_q(hotel)}/bookings/{_q(booking_id)}/{action}",
                              body)
        if (guard := _guard(answer)) is not None:
            return guard
        if not answer.ok:
            failed.append(f"{booking_id}: {answer.problem()}")
    done = f"{len(ids) - len(failed)} of {len(ids)} bookings: {action}d."
    return _back(path, done=done + (" Not done: " + " | ".join(failed) if failed else ""))


@router.get("/{hotel}/bookings/{booking_id}", response_class=HTMLResponse)
async def detail(request: Request, hotel: str, booking_id: str):
    if not request.cookies.get(COOKIE):
        return _signed_out()
    base = f"/api/v1/staff/hotels/{_q(hotel)}/bookings/{_q(booking_id)}"
    answer = await _staff(request, "GET", base)
    if (guard := _guard(answer)) is not None:
        return guard
    if not answer.ok:
        return pages.TemplateResponse(request, "message.html", {"title": "Booking not found",
                                                                "message": answer.problem()}, status_code=answer.status)
    pre = await _staff(request, "GET", base + "/pre-check-in")
    return pages.TemplateResponse(request, "detail.html", {
        "hotel": hotel, "b": answer.body, "pre": pre.body if pre.ok else None,
        "done": request.query_params.get("done"), "error": request.query_params.get("error")})


@router.post("/{hotel}/bookings/{booking_id}/{action}")
async def act(request: Request, hotel: str, booking_id: str, action: str):
    form = await request.form()
    base = f"/api/v1/staff/hotels/{_q(hotel)}/bookings/{_q(booking_id)}"
    path = f"/console/{_q(hotel)}/bookings/{_q(booking_id)}"
    if action in ACTIONS:
        answer = await _staff(request, "POST", f"{base}/{ACTIONS[action]}")
    elif action == "decline":
        answer = await _staff(request, "POST", f"{base}/decline", {
            "reason_code": str(form.get("reason_code") or "").strip(), "note": str(form.get("note") or "") or None})
    elif action == "cancel":
        answer = await _staff(request, "POST", f"{base}/cancel", {
            "reason": str(form.get("reason") or "").strip(), "waive_fee": form.get("waive_fee") == "on"})
    elif action == "room":
        number = str(form.get("room_number") or "").strip()
        answer = await (_staff(request, "PUT", f"{base}/room", {"room_number": number}) if number
                        else _staff(request, "DELETE", f"{base}/room"))
    else:
        return _back(path, error="Unknown action.")
    if (guard := _guard(answer)) is not None:
        return guard
    return _back(path, done=f"Done: {action}.") if answer.ok else _back(path, error=answer.problem())


@router.get("/{hotel}/emails", response_class=HTMLResponse)
async def emails(request: Request, hotel: str):
    if not request.cookies.get(COOKIE):
        return _signed_out()
    status = request.query_params.get("status", "FAILED")
    query = f"?status={_q(status)}" if status else ""
    answer = await _staff(request, "GET", f"/api/v1/staff/hotels/{_q(hotel)}/notifications{query}")
    if (guard := _guard(answer)) is not None:
        return guard
    return pages.TemplateResponse(request, "emails.html", {
        "hotel": hotel, "items": answer.body["items"] if answer.ok else [], "status": status,
        "problem": None if answer.ok else answer.problem(),
        "done": request.query_params.get("done"), "error": request.query_params.get("error")})


@router.post("/{hotel}/emails/{notification_id}/retry")
async def retry(request: Request, hotel: str, notification_id: str):
    answer = await _staff(request, "POST", f"/api/v1/staff/hotels/{_q(hotel)}/notifications/{_q(notification_id)}/retry")
    if (guard := _guard(answer)) is not None:
        return guard
    path = f"/console/{_q(hotel)}/emails"
    return _back(path, done="Email queued again.") if answer.ok else _back(path, error=answer.problem())


@router.get("/{hotel}/occupancy", response_class=HTMLResponse)
async def occupancy(request: Request, hotel: str):
    if not request.cookies.get(COOKIE):
        return _signed_out()
    start = request.query_params.get("from") or date.today().isoformat()
    try:
        end = request.query_params.get("to") or (date.fromisoformat(start) + timedelta(days=13)).isoformat()
    except ValueError:
        end = start
    answer = await _staff(request, "GET", f"/api/v1/staff/hotels/{_q(hotel)}/reports/occupancy?"
                          + urlencode({"from": start, "to": end}))
    if (guard := _guard(answer)) is not None:
        return guard
    return pages.TemplateResponse(request, "occupancy.html", {
        "hotel": hotel, "report": answer.body if answer.ok else None, "start": start, "end": end,
        "problem": None if answer.ok else answer.problem()}, status_code=200 if answer.ok else answer.status)


REPORTS = ("arrivals", "departures", "in-house", "revenue")


@router.get("/{hotel}/reports", response_class=HTMLResponse)
async def reports(request: Request, hotel: str):
    if not request.cookies.get(COOKIE):
        return _signed_out()
    params = request.query_params
    day = params.get("date") or date.today().isoformat()
    start = params.get("from") or date.today().replace(day=1).isoformat()
    end = params.get("to") or date.today().isoformat()
    period = params.get("period") or "day"
    base = f"/api/v1/staff/hotels/{_q(hotel)}/reports"
    found = {}
    for kind, query in (("arrivals", {"date": day}), ("departures", {"date": day}), ("in-house", {}),
                        ("revenue", {"from": start, "to": end, "period": period})):
        answer = await _staff(request, "GET", f"{base}/{kind}?{urlencode(query)}")
        if (guard := _guard(answer)) is not None:
            return guard
        found[kind] = answer.body if answer.ok else {"problem": answer.problem()}
    return pages.TemplateResponse(request, "reports.html", {
        "hotel": hotel, "day": day, "start": start, "end": end, "period": period, "r": found,
        "csv": {kind: f"/console/{_q(hotel)}/reports/{kind}.csv?" + urlencode(
            {"from": start, "to": end, "period": period} if kind == "revenue" else {"date": day})
            for kind in REPORTS}})


@router.get("/{hotel}/reports/{kind}.csv")
async def report_csv(request: Request, hotel: str, kind: str):
    if kind not in REPORTS:
        return Response("No such report.", status_code=404, media_type="text/plain")
    query = [(k, v) for k, v in request.query_params.items() if k in ("date", "from", "to", "period")]
    answer = await call(request, "GET", f"/api/v1/staff/hotels/{_q(hotel)}/reports/{kind}?"
                        + urlencode([*query, ("format", "csv")]), token=request.cookies.get(COOKIE), raw=True)
    if answer.status == 401:
        return _signed_out()
    if answer.status != 200:
        return Response(answer.body, status_code=answer.status, media_type="application/problem+json")
    return Response(answer.body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=\"%s-%s.csv\"" % (
                        re.sub(r"[^A-Za-z0-9_-]", "_", hotel), kind)})


# The catalogue: each form is one PUT of the staff API (the gateway checks the role: ADMIN for the
# hotel itself, MANAGER for the rest).
def _opt(value) -> str | None:
    value = str(value or "").strip()
    return value or None


def _int_or_text(value):
    text = str(value or "").strip()
    try:
        return int(text)
    except ValueError:
        return text


def _catalogue_put(kind: str, form) -> tuple[str, object] | None:
    f = {k: str(v).strip() for k, v in form.items()}
    if kind == "hotel":
        return "", {k: (_int_or_text(f.get(k)) if k in ("hold_minutes", "approval_hours") else f.get(k, ""))
                    for k in ("name", "timezone", "currency", "check_in_time", "check_out_time", "hold_minutes",
                              "approval_hours", "staff_email")}
    if kind == "room-type":
        return f"/room-types/{_q(f.get('code', ''))}", {
            "name": f.get("name", ""), "max_adults": _int_or_text(f.get("max_adults")),
            "max_children": _int_or_text(f.get("max_children") or 0), "base_rate": f.get("base_rate", "")}
    if kind == "room":
        return f"/rooms/{_q(f.get('number', ''))}", {"room_type": f.get("room_type", ""), "floor": _opt(f.get("floor")),
                                                    "in_service": f.get("in_service") == "on"}
    if kind == "rate":
        return "/rates", [{"room_type": f.get("room_type", ""), "from": f.get("from", ""), "to": f.get("to", ""),
                           "price": f.get("price", "")}]
    if kind == "taxes":
        taxes = []
        for line in f.get("taxes", "").splitlines():
            if line.strip():
                parts = [p.strip() for p in line.split(";")]
                parts += [""] * (4 - len(parts))
                taxes.append({"code": parts[0], "name": parts[1], "kind": parts[2], "value": parts[3]})
        return "/taxes", taxes
    if kind == "promo":
        body = {"active": f.get("active") == "on", "valid_from": _opt(f.get("valid_from")),
                "valid_to": _opt(f.get("valid_to"))}
        body["percent_off" if f.get("discount_kind") == "percent" else "amount_off"] = f.get("discount", "")
        return f"/promo-codes/{_q(f.get('code', ''))}", body
    if kind == "policy":
        return "/cancellation-policy", {"free_until_hours": _int_or_text(f.get("free_until_hours")) if f.get(
            "free_until_hours") else None, "penalty": f.get("penalty", ""), "value": _opt(f.get("value"))}
    return None


@router.get("/{hotel}/catalogue", response_class=HTMLResponse)
async def catalogue(request: Request, hotel: str):
    if not request.cookies.get(COOKIE):
        return _signed_out()
    answer = await call(request, "GET", f"/api/v1/hotels/{_q(hotel)}")
    return pages.TemplateResponse(request, "catalogue.html", {
        "hotel": hotel, "info": answer.body if answer.ok else None, "today": date.today().isoformat(),
        "done": request.query_params.get("done"), "error": request.query_params.get("error")})


@router.post("/{hotel}/catalogue/{kind}")
async def catalogue_put(request: Request, hotel: str, kind: str):
    path = f"/console/{_q(hotel)}/catalogue"
    found = _catalogue_put(kind, await request.form())
    if found is None:
        return _back(path, error="Unknown part of the catalogue.")
    suffix, body = found
    answer = await _staff(request, "PUT", f"/api/v1/staff/hotels/{_q(hotel)}{suffix}", body)
    if (guard := _guard(answer)) is not None:
        return guard
    return _back(path, done=f"Saved: {kind}.") if answer.ok else _back(path, error=answer.problem())
