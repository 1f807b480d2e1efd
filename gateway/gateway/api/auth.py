"""``POST /api/v1/auth/token``: email and password for a short-lived staff JWT."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from hotelmate_platform.problems import Problem

from ..adapters import repository
from ..gate import client_address, spend
from ..identity import issue_token, verify_password
from ..runtime import GatewayRuntime, get_gateway
from .schemas import TokenAnswer, TokenRequest

log = logging.getLogger(__name__)
router = APIRouter(tags=["staff identity"])


@router.post("/api/v1/auth/token", response_model=TokenAnswer,
             responses={401: {"description": "Wrong email or password"}, 429: {"description": "Too many attempts"}})
async def issue_staff_token(body: TokenRequest, request: Request, gateway: GatewayRuntime = Depends(get_gateway)):
    """Sign in a staff member. Attempts are limited per client address and per account and address."""
    email = body.email.strip().lower()
    address = client_address(request, gateway)
    # Per address, and per account from one address: guessing is slowed, yet an attacker elsewhere
    # cannot spend the owner's attempts and lock them out (docs/SECURITY.md).
    spend(gateway.limiters.login_address, address, "sign-in attempts")
    spend(gateway.limiters.login_account, f"{email}|{address}", "sign-in attempts for this account")
    async with gateway.db.sessions() as session:
        account = await repository.find_by_email(session, email)
    ok = await asyncio.to_thread(verify_password, account.password_hash if account else None, body.password)
    if not ok or account is None or account.disabled_at is not None:
        log.info("sign-in refused")
        raise Problem(401, "Wrong email or password.", code="invalid-credentials")
    token = issue_token(account.identity, gateway.jwt_secret, gateway.settings.jwt_ttl_seconds)
    log.info("staff %s signed in", account.id)
    answer = TokenAnswer(access_token=token, expires_in=gateway.settings.jwt_ttl_seconds, role=account.role,
                         hotels=list(account.hotels))
    return JSONResponse(answer.model_dump(mode="json"), headers={"Cache-Control": "no-store"})
