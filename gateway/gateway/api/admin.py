"""Staff accounts: an ADMIN creates, lists, disables and changes them (``/api/v1/admin/staff``);
each staff member changes their own password (``PUT /api/v1/auth/password``)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Response

from hotelmate_platform.problems import Problem

from ..adapters import repository
from ..domain.access import Identity, Role
from ..gate import require_staff
from ..identity import hash_password, verify_password
from ..runtime import GatewayRuntime, get_gateway
from .schemas import NewStaff, PasswordChange, StaffChange, StaffList, StaffView

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


def staff_view(account) -> StaffView:
    return StaffView(id=account.id, email=account.email, role=account.role, hotels=list(account.hotels),
                     created_at=account.created_at, disabled=account.disabled_at is not None)


def _admin_only(identity: Identity) -> None:
    if identity.role is not Role.ADMIN:
        raise Problem(403, "Managing staff accounts needs the ADMIN role.", code="forbidden")


@router.get("/api/v1/admin/staff", response_model=StaffList,
            responses={401: {"description": "No or bad staff token"}, 403: {"description": "Not an ADMIN"}})
async def list_staff(identity: Identity = Depends(require_staff),
                     gateway: GatewayRuntime = Depends(get_gateway)) -> StaffList:
    _admin_only(identity)
    async with gateway.db.sessions() as session:
        accounts = await repository.list_all(session)
    return StaffList(items=[staff_view(a) for a in accounts])


@router.patch("/api/v1/admin/staff/{account_id}", response_model=StaffView,
              responses={401: {"description": "No or bad staff token"}, 403: {"description": "Not an ADMIN"},
                         404: {"description": "No such account"},
                         409: {"description": "It would leave no active ADMIN"}})
async def change_staff(account_id: uuid.UUID, body: StaffChange, identity: Identity = Depends(require_staff),
                       gateway: GatewayRuntime = Depends(get_gateway)) -> StaffView:
    """Disable or enable an account, or change its role or hotels. Tokens issued before stop working
    within ``HOTELMATE_GATEWAY_TOKEN_CHECK_SECONDS``."""
    _admin_only(identity)
    async with gateway.db.unit_of_work() as uow:
        account = await repository.find(uow.session, account_id)
        if account is None:
            raise Problem(404, "No such staff account.", code="not-found")
        role = body.role or account.role
        hotels = [] if role is Role.ADMIN else (body.hotels if body.hotels is not None else list(account.hotels))
        if role is not Role.ADMIN and not hotels:
            raise Problem(422, "A MANAGER or RECEPTIONIST needs at least one hotel.", code="invalid-input",
                          errors=[{"field": "hotels", "message": "at least one hotel"}])
        disabled = account.disabled_at is not None if body.disabled is None else body.disabled
        if account.role is Role.ADMIN and (role is not Role.ADMIN or disabled) \
                and not await repository.other_active_admins(uow.session, account_id):
            raise Problem(409, "This is the last active ADMIN account.", code="last-admin")
        disabled_at = (account.disabled_at or utcnow()) if disabled else None
        changed = await repository.change(uow.session, account_id, role=role.value, hotels=sorted(set(hotels)),
                                          disabled_at=disabled_at)
    gateway.token_states.forget(str(account_id))
    log.info("staff %s changed account %s (role %s, %d hotels, disabled %s)", identity.staff_id, account_id,
             role.value, len(hotels), disabled)
    return staff_view(changed)


@router.put("/api/v1/auth/password", status_code=204,
            responses={401: {"description": "No or bad staff token, or wrong current password"}})
async def change_own_password(body: PasswordChange, identity: Identity = Depends(require_staff),
                              gateway: GatewayRuntime = Depends(get_gateway)) -> Response:
    """A staff member changes their own password; their older tokens stop working."""
    async with gateway.db.sessions() as session:
        account = await repository.find(session, uuid.UUID(identity.staff_id))
    if account is None or not await asyncio.to_thread(verify_password, account.password_hash, body.current_password):
        raise Problem(401, "The current password is wrong.", code="invalid-credentials")
    password_hash = await asyncio.to_thread(hash_password, body.new_password)
    async with gateway.db.unit_of_work() as uow:
        await repository.change(uow.session, account.id, password_hash=password_hash)
    gateway.token_states.forget(identity.staff_id)
    log.info("staff %s changed their password", identity.staff_id)
    return Response(status_code=204)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
