"""In-memory Stripe state and its rules. Methods are synchronous; the app calls them under a lock.

Every state change that Stripe would announce appends an event through `self.emit`.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from . import objects
from .errors import StripeError, invalid, missing, unexpected_state
from .params import capture_amount, session_params

log = logging.getLogger(__name__)

# test cards: number -> (card facts, decline or None)
_VISA = {"brand": "visa", "country": "US", "funding": "credit"}
CARDS: dict[str, tuple[dict[str, str], dict[str, str] | None]] = {
    "4242424242424242": (_VISA, None),
    "5555555555554444": ({"brand": "mastercard", "country": "US", "funding": "credit"}, None),
    "4000000000000002": (_VISA, {"code": "card_declined", "decline_code": "generic_decline",
                                 "message": "Your card was declined."}),
    "4000000000009995": (_VISA, {"code": "card_declined",
                                 "decline_code": "insufficient_funds",
                                 "message": "Your card has insufficient funds."}),
    "4000000000000069": (_VISA, {"code": "expired_card", "decline_code": "expired_card",
                                 "message": "Your card has expired."}),
}
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation",
              "requires_action", "processing")
_PREFIXES = {"cs_": "checkout.session", "pi_": "payment_intent", "ch_": "charge",
             "re_": "refund", "evt_": "event"}


@dataclass
class Ctx:
    """Who asked: carried into events' `request` field."""
    request_id: str | None = None
    idempotency_key: str | None = None


@dataclass
class PayResult:
    outcome: str  # "authorized" | "succeeded" | "declined" | "invalid_card"
    message: str
    session: dict[str, Any]


class Store:
    def __init__(self, fixtures: objects.Fixtures, *, public_url: str, api_version: str,
                 authorization_lifetime: float) -> None:
        self.fx = fixtures
        self.public_url = public_url
        self.api_version = api_version
        self.authorization_lifetime = authorization_lifetime
        self.on_event: Callable[[dict[str, Any]], None] = lambda evt: None
        self.reset()

    def reset(self) -> None:
        self.objects: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in _PREFIXES.values()}
        self.session_extra: dict[str, dict[str, Any]] = {}  # cs id -> capture method, pi data
        self.pi_session: dict[str, str] = {}  # pi id -> cs id

    # ----------------------------------------------------------------- helpers
    def emit(self, type_: str, obj: dict[str, Any], ctx: Ctx | None,
             previous: dict[str, Any] | None = None) -> None:
        ctx = ctx or Ctx()
        evt = objects.event(self.fx, type=type_, obj=obj, api_version=self.api_version,
                            request_id=ctx.request_id, idempotency_key=ctx.idempotency_key,
                            previous_attributes=previous)
        self.objects["event"][evt["id"]] = evt
        log.info("event %s %s for %s", evt["id"], type_, obj.get("id"))
        self.on_event(evt)

    def get(self, kind: str, obj_id: str) -> dict[str, Any]:
        found = self.objects[kind].get(obj_id)
        if found is None:
            raise missing(kind, obj_id)
        return found

    def render(self, obj: dict[str, Any], expand: list[str] | None = None) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        for path in expand or []:
            self._expand(out, path.split("."))
        return out

    def _expand(self, node: Any, path: list[str]) -> None:
        if not isinstance(node, dict) or not path:
            return
        key, rest = path[0], path[1:]
        if key == "data" and isinstance(node.get("data"), list):
            for item in node["data"]:
                self._expand(item, rest)
            return
        value = node.get(key)
        if isinstance(value, str):
            kind = next((k for p, k in _PREFIXES.items() if value.startswith(p)), None)
            if kind is None or value not in self.objects[kind]:
                raise invalid(f"This property cannot be expanded ({key}).", param="expand")
            node[key] = value = copy.deepcopy(self.objects[kind][value])
        self._expand(value, rest)

    # ----------------------------------------------------------------- checkout sessions
    def create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        p = session_params(params, now=time.time())
        sid = objects.new_id("cs_test_a1", 56)
        session = objects.checkout_session(
            self.fx, sid=sid, amount=p["amount"], currency=p["currency"],
            expires_at=p["expires_at"], params=params, url=f"{self.public_url}/c/pay/{sid}")
        self.objects["checkout.session"][sid] = session
        self.session_extra[sid] = p
        log.info("checkout session %s created: %s %s, capture=%s", sid, p["amount"],
                 p["currency"], p["capture_method"])
        return session

    def expire_session(self, sid: str, ctx: Ctx | None, *, automatic: bool = False) -> dict:
        session = self.get("checkout.session", sid)
        if session["status"] != "open":
            raise invalid('Only Checkout Sessions with a status in ["open"] can be expired.')
        session.update(status="expired", url=None)
        if automatic:
            session["expires_at"] = min(session["expires_at"], objects.now())
        pid = session.get("payment_intent")
        if pid and self.objects["payment_intent"][pid]["status"] in CANCELABLE:
            self._cancel(self.objects["payment_intent"][pid], "abandoned", ctx)
        self.emit("checkout.session.expired", session, ctx)
        return session

    def lapse_if_due(self, session: dict[str, Any]) -> None:
        """An open session past its expires_at expires now, whether or not the sweeper has run."""
        if session["status"] == "open" and session["expires_at"] <= time.time():
            self.expire_session(session["id"], None, automatic=True)

    def pay_session(self, sid: str, card_number: str, ctx: Ctx | None = None) -> PayResult:
        session = self.get("checkout.session", sid)
        self.lapse_if_due(session)
        if session["status"] != "open":
            raise invalid(f"This Checkout Session is no longer active (status "
                          f"{session['status']}).")
        number = "".join(ch for ch in str(card_number) if ch.isdigit())
        if number not in CARDS:
            return PayResult("invalid_card", "Your card number is invalid.", session)
        card_facts, decline = CARDS[number]
        card = {**card_facts, "last4": number[-4:], "fingerprint": f"fp{number[-6:]}EMU"}
        extra = self.session_extra[sid]
        pi = self._intent_for(session, extra)
        capture_before = None if decline else int(time.time() + self.authorization_lifetime)
        ch = objects.charge(self.fx, pi=pi, card=card, email=session.get("customer_email"),
                            succeeded=decline is None, decline=decline,
                            capture_before=capture_before)
        self.objects["charge"][ch["id"]] = ch
        pi.update(latest_charge=ch["id"], payment_method=ch["payment_method"])
        if decline:
            pi.update(status="requires_payment_method", last_payment_error={
                "type": "card_error", "charge": ch["id"], "code": decline["code"],
                "decline_code": decline["decline_code"], "message": decline["message"],
                "doc_url": f"https://stripe.com/docs/error-codes/{decline['code']}",
                "payment_method": {"id": ch["payment_method"], "object": "payment_method",
                                   "type": "card"}})
            self.emit("charge.failed", ch, ctx)
            self.emit("payment_intent.payment_failed", pi, ctx)
            log.info("checkout session %s: card declined (%s)", sid, decline["decline_code"])
            return PayResult("declined", decline["message"], session)
        pi["last_payment_error"] = None
        customer_details = self.fx.base("checkout.session")["customer_details"]
        customer_details.update(email=session.get("customer_email"), name=None,
                                address={**customer_details["address"], "country": "US"})
        session.update(status="complete", url=None, customer_details=customer_details)
        if extra["capture_method"] == "manual":
            pi.update(status="requires_capture", amount_capturable=pi["amount"])
            ch["captured"] = False
            self.emit("charge.succeeded", ch, ctx)
            self.emit("payment_intent.amount_capturable_updated", pi, ctx)
            self.emit("checkout.session.completed", session, ctx)
            log.info("checkout session %s: authorised %s on %s", sid, pi["amount"], pi["id"])
            return PayResult("authorized", "Payment authorised.", session)
        self._mark_captured(pi, ch, pi["amount"])
        session["payment_status"] = "paid"
        self.emit("charge.succeeded", ch, ctx)
        self.emit("payment_intent.succeeded", pi, ctx)
        self.emit("checkout.session.completed", session, ctx)
        return PayResult("succeeded", "Payment succeeded.", session)

    def _intent_for(self, session: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        if session.get("payment_intent"):
            return self.objects["payment_intent"][session["payment_intent"]]
        pi = objects.payment_intent(
            self.fx, amount=session["amount_total"], currency=session["currency"],
            capture_method=extra["capture_method"], metadata=extra["pi_metadata"],
            description=extra["pi_description"], receipt_email=extra["receipt_email"])
        self.objects["payment_intent"][pi["id"]] = pi
        self.pi_session[pi["id"]] = session["id"]
        session["payment_intent"] = pi["id"]
        return pi

    # ----------------------------------------------------------------- payment intents
    def capture(self, pid: str, params: dict[str, Any], ctx: Ctx | None) -> dict[str, Any]:
        pi = self.get("payment_intent", pid)
        if pi["status"] != "requires_capture":
            raise unexpected_state(
                f"This PaymentIntent could not be captured because it has a status of "
                f"{pi['status']}. Only a PaymentIntent with one of the following statuses "
                f"may be captured: requires_capture.", pi)
        ch = self.objects["charge"][pi["latest_charge"]]
        capture_before = ch["payment_method_details"]["card"].get("capture_before")
        if capture_before is not None and time.time() >= capture_before:
            self._cancel(pi, "automatic", ctx, expired=True)
            raise StripeError(400, "The charge cannot be captured as the authorization has "
                              "expired.", code="charge_expired_for_capture",
                              extra={"charge": ch["id"]})
        amount = capture_amount(params, pi["amount_capturable"])
        self._mark_captured(pi, ch, amount)
        sid = self.pi_session.get(pid)
        if sid:
            self.objects["checkout.session"][sid]["payment_status"] = "paid"
        self.emit("charge.captured", ch, ctx)
        self.emit("payment_intent.succeeded", pi, ctx)
        log.info("payment intent %s captured %s", pid, amount)
        return pi

    def _mark_captured(self, pi: dict[str, Any], ch: dict[str, Any], amount: int) -> None:
        pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
        released = ch["amount"] - amount
        ch.update(captured=True, amount_captured=amount, amount_refunded=released,
                  balance_transaction=objects.new_id("txn_3"), refunded=False)

    def cancel(self, pid: str, params: dict[str, Any], ctx: Ctx | None) -> dict[str, Any]:
        pi = self.get("payment_intent", pid)
        reason = params.get("cancellation_reason")
        allowed = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
        if reason is not None and reason not in allowed:
            raise invalid(f"Invalid cancellation_reason: must be one of {', '.join(allowed)}",
                          param="cancellation_reason")
        if pi["status"] not in CANCELABLE:
            raise unexpected_state(
                f"You cannot cancel this PaymentIntent because it has a status of "
                f"{pi['status']}. Only a PaymentIntent with one of the following statuses may "
                f"be canceled: {', '.join(CANCELABLE)}.", pi)
        sid = self.pi_session.get(pid)
        if sid and self.objects["checkout.session"][sid]["status"] == "open":
            raise unexpected_state(
                "This PaymentIntent's Checkout Session is still open. Expire the Checkout "
                f"Session ({sid}) instead of canceling the PaymentIntent.", pi)
        self._cancel(pi, reason, ctx)
        return pi

    def _cancel(self, pi: dict[str, Any], reason: str | None, ctx: Ctx | None,
                expired: bool = False) -> None:
        ch = self.objects["charge"].get(pi.get("latest_charge") or "")
        pi.update(status="canceled", canceled_at=objects.now(), cancellation_reason=reason,
                  amount_capturable=0)
        if ch and ch["status"] == "succeeded" and not ch["captured"]:
            ch.update(amount_refunded=ch["amount"], refunded=True)  # authorisation released
            if expired:
                self.emit("charge.expired", ch, ctx)
        self.emit("payment_intent.canceled", pi, ctx)
        log.info("payment intent %s canceled (%s)", pi["id"], reason)

    def expire_authorization(self, pid: str, cancel: bool = True) -> dict[str, Any]:
        pi = self.get("payment_intent", pid)
        if pi["status"] != "requires_capture":
            raise unexpected_state(f"PaymentIntent has status {pi['status']}, not "
                                   "requires_capture; there is no authorisation to expire.", pi)
        ch = self.objects["charge"][pi["latest_charge"]]
        ch["payment_method_details"]["card"]["capture_before"] = objects.now() - 1
        if cancel:
            self._cancel(pi, "automatic", None, expired=True)
        return pi

    # ----------------------------------------------------------------- refunds
    def create_refund(self, params: dict[str, Any], ctx: Ctx | None) -> dict[str, Any]:
        pid, cid = params.get("payment_intent"), params.get("charge")
        if not pid and not cid:
            raise invalid("One of the following params should be provided for this request: "
                          "payment_intent or charge.")
        if pid:
            pi = self.get("payment_intent", pid)
            if pi["status"] != "succeeded" or not pi.get("latest_charge"):
                raise invalid(f"This PaymentIntent ({pid}) does not have a successful charge "
                              "to refund.", param="payment_intent",
                              code="charge_not_refundable" if pi["latest_charge"] else None)
            ch = self.objects["charge"][pi["latest_charge"]]
        else:
            ch = self.get("charge", cid)
        if cid and ch["id"] != cid:
            raise invalid("The charge does not belong to this PaymentIntent.", param="charge")
        if not ch["captured"]:
            raise invalid(f"Charge {ch['id']} has not been captured.",
                          code="charge_not_refundable", param="charge")
        refunded = sum(r["amount"] for r in ch["refunds"]["data"])
        remaining = ch["amount_captured"] - refunded
        if remaining <= 0:
            raise invalid(f"Charge {ch['id']} has already been refunded.",
                          code="charge_already_refunded")
        amount = capture_amount(params, remaining, name="amount", refund=True)
        reason = params.get("reason")
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise invalid("Invalid reason: must be one of duplicate, fraudulent, or "
                          "requested_by_customer", param="reason")
        re = objects.refund(self.fx, amount=amount, ch=ch, reason=reason,
                            metadata=params.get("metadata") or {})
        self.objects["refund"][re["id"]] = re
        previous = {"amount_refunded": ch["amount_refunded"], "refunded": ch["refunded"]}
        ch["refunds"]["data"].insert(0, copy.deepcopy(re))
        ch["refunds"]["total_count"] = len(ch["refunds"]["data"])
        ch["amount_refunded"] += amount
        ch["refunded"] = ch["amount_refunded"] >= ch["amount"]
        self.emit("refund.created", re, ctx)
        self.emit("charge.refunded", ch, ctx, previous)
        log.info("refund %s of %s on %s", re["id"], amount, ch["id"])
        return re

    # ----------------------------------------------------------------- time
    def sweep(self) -> None:
        """Expire open sessions past expires_at and authorisations past capture_before."""
        for session in list(self.objects["checkout.session"].values()):
            self.lapse_if_due(session)
        t = time.time()
        for pi in list(self.objects["payment_intent"].values()):
            if pi["status"] != "requires_capture":
                continue
            ch = self.objects["charge"][pi["latest_charge"]]
            before = ch["payment_method_details"]["card"].get("capture_before")
            if before is not None and before <= t:
                self._cancel(pi, "automatic", None, expired=True)
