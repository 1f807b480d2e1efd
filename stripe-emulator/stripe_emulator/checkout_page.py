"""The hosted payment page behind a Checkout Session's `url` (a stand-in for checkout.stripe.com)."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f6f9fc;color:#30313d;margin:0}
main{max-width:420px;margin:48px auto;background:#fff;border-radius:8px;padding:32px;
box-shadow:0 2px 8px rgba(0,0,0,.08)}
h1{font-size:20px;margin:0 0 8px}.amount{font-size:32px;font-weight:600;margin:8px 0 24px}
label{display:block;font-size:14px;margin-bottom:6px}
input{width:100%;box-sizing:border-box;padding:10px;font-size:16px;border:1px solid #ccd;
border-radius:6px}
button{margin-top:16px;width:100%;padding:12px;font-size:16px;border:0;border-radius:6px;
background:#635bff;color:#fff;cursor:pointer}
.error{background:#fdecea;color:#b3261e;padding:10px;border-radius:6px;margin-bottom:16px}
.ok{background:#e6f4ea;color:#1e6b34;padding:10px;border-radius:6px}
.hint{font-size:12px;color:#6a7383;margin-top:16px}
"""


def _doc(title: str, body: str, head_extra: str = "") -> str:
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{_STYLE}</style>{head_extra}</head>"
            f"<body><main>{body}</main></body></html>")


def format_amount(amount: int, currency: str) -> str:
    zero_decimal = {"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"}
    if currency.lower() in zero_decimal:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:.2f} {currency.upper()}"


def payment_page(session: dict[str, Any], action: str, error: str | None = None) -> str:
    name = session.get("metadata", {}).get("booking_id") or session.get("client_reference_id")
    title = f"Pay {escape(name)}" if name else "Pay HotelMate"
    err = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = (
        f"<h1>{title}</h1>"
        f'<p class="amount">{escape(format_amount(session["amount_total"], session["currency"]))}'
        f"</p>{err}"
        f'<form method="post" action="{escape(action)}">'
        f'<label for="card_number">Card number</label>'
        f'<input id="card_number" name="card_number" inputmode="numeric" autocomplete="off" '
        f'placeholder="4242 4242 4242 4242" required>'
        f'<button type="submit">Pay</button></form>'
        f'<p class="hint">Stripe emulator (test mode). 4242 4242 4242 4242 authorises, '
        f"4000 0000 0000 0002 is declined.</p>")
    return _doc("HotelMate checkout", body)


def success_page(session: dict[str, Any], message: str) -> str:
    target = session.get("success_url") or ""
    target = target.replace("{CHECKOUT_SESSION_ID}", session["id"])
    link = (f'<p><a id="continue" href="{escape(target)}">Return to the merchant</a></p>'
            if target else "")
    refresh = f'<meta http-equiv="refresh" content="2;url={escape(target)}">' if target else ""
    body = f'<h1>Thank you</h1><p class="ok" role="status">{escape(message)}</p>{link}'
    return _doc("Payment complete", body, refresh)


def error_page(title: str, message: str, link: str | None = None) -> str:
    back = f'<p><a href="{escape(link)}">Return to the merchant</a></p>' if link else ""
    return _doc(title, f'<h1>{escape(title)}</h1><p class="error" role="alert">'
                       f"{escape(message)}</p>{back}")
