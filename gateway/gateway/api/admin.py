"""``POST /api/v1/admin/staff``: an ADMIN creates staff accounts."""

from __future__ import annotations

import asyncio
import logging
import uuid

from fastapi import APIRouter, Depends

from hotelmate_platform.problems import Problem

from ..adapters import repository
from ..domain.access import Identity, Role
from ..gate import require_staff
from ..identity import hash_password
from ..runtime import GatewayRuntime, get_gateway
from .schemas import NewStaff, StaffView

log = logging.getLogger(__name__)
router = APIRouter(tags=["staff identity"])


@router.post("/api/v1/admin/staff", status_code=201, response_model=StaffView,
             responses={401: {"description": "No or bad staff token"}, 403: {"description": "Not an ADMIN"},
                        409: {"description": "Email already used"}})
async def create_staff(body: NewStaff, identity: Identity = Depends(require_staff),
                       gateway: GatewayRuntime = Depends(get_gateway)) -> StaffView:
    if identity.role is not Role.ADMIN:
        raise Problem(403, "Creating staff accounts needs the ADMIN role.", code="forbidden")
    password_hash = await asyncio.to_thread(hash_password, body.password)
    hotels = [] if body.role is Role.ADMIN else body.hotels
    async with gateway.db.unit_of_work() as uow:
        account = await repository.add(uow.session, email=body.email, password_hash=password_hash, role=body.role,
                                       hotels=hotels, created_by=uuid.UUID(identity.staff_id))
    if account is None:
        raise Problem(409, "A staff account with this email exists.", code="email-taken")
    log.info("staff %s created %s account %s", identity.staff_id, account.role.value, account.id)
    return StaffView(id=account.id, email=account.email, role=account.role, hotels=list(account.hotels),
                     created_at=account.created_at)


async def ensure_first_admin(gateway: GatewayRuntime) -> None:
    """At start: the first ADMIN from HOTELMATE_ADMIN_EMAIL / HOTELMATE_ADMIN_PASSWORD if none exists."""
    settings = gateway.settings
    async with gateway.db.sessions() as session:
        if await repository.admin_exists(session):
            return
    if not settings.admin_email or not settings.admin_password:
        log.warning("no ADMIN account exists; set HOTELMATE_ADMIN_EMAIL and HOTELMATE_ADMIN_PASSWORD to create one")
        return
    password_hash = await asyncio.to_thread(hash_password, settings.admin_password)
    async with gateway.db.unit_of_work() as uow:
        account = await repository.add(uow.session, email=settings.admin_email, password_hash=password_hash,
                                       role=Role.ADMIN, hotels=[], created_by=None)
    if account:
        log.info("first ADMIN account %s created", account.id)
