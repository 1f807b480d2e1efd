"""Stripe-shaped errors: {"error": {"type", "code", "message", "param", "doc_url", ...}}."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.extra = extra or {}

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        err: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            err["param"] = self.param
        if request_id:
            err["request_log_url"] = (
                f"https://dashboard.stripe.com/test/logs/{request_id}?t=0"
            )
        err.update(self.extra)
        return {"error": err}


def missing(kind: str, obj_id: str, param: str = "id") -> StripeError:
    return StripeError(
        404, f"No such {kind}: '{obj_id}'", code="resource_missing", param=param
    )


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(400, message, code=code, param=param)


def unexpected_state(message: str, obj: dict[str, Any] | None = None) -> StripeError:
    extra = {"payment_intent": obj} if obj and obj.get("object") == "payment_intent" else None
    return StripeError(400, message, code="payment_intent_unexpected_state", extra=extra)


def api_error(message: str = "An unknown error occurred") -> StripeError:
    return StripeError(500, message, type="api_error")


def auth_error(message: str) -> StripeError:
    return StripeError(401, message)


def idempotency_mismatch(key: str) -> StripeError:
    return StripeError(
        400,
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{key}' if you meant to execute a "
        "different request.",
        type="idempotency_error",
    )


def idempotency_in_progress(key: str) -> StripeError:
    return StripeError(
        409,
        f"There is currently another in-progress request using this Idempotency-Key ('{key}'). "
        "Please try again later.",
        type="idempotency_error",
    )
