"""Staff accounts in the gateway's database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain.access import Identity, Role
from .tables import staff_accounts


@dataclass(frozen=True)
class StaffAccount:
    id: uuid.UUID
    email: str
    password_hash: str
    role: Role
    hotels: tuple[str, ...]
    created_at: datetime
    disabled_at: datetime | None = None
    token_version: int = 0

    @property
    def identity(self) -> Identity:
        return Identity(staff_id=str(self.id), role=self.role, hotels=frozenset(self.hotels),
                        version=self.token_version)


def _account(row) -> StaffAccount:
    return StaffAccount(row.id, row.email, row.password_hash, Role(row.role), tuple(row.hotels), row.created_at,
                        row.disabled_at, row.token_version)


async def find_by_email(session: AsyncConnection, email: str) -> StaffAccount | None:
    row = (await session.execute(sa.select(staff_accounts).where(staff_accounts.c.email == email.lower()))).first()
    return _account(row) if row else None


async def add(session: AsyncConnection, *, email: str, password_hash: str, role: Role, hotels: list[str],
              created_by: uuid.UUID | None) -> StaffAccount | None:
    """Insert an account; ``None`` when the email is taken."""
    stmt = (
        insert(staff_accounts)
        .values(id=uuid.uuid4(), email=email.lower(), password_hash=password_hash, role=role.value,
                hotels=sorted(set(hotels)), created_by=created_by)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(staff_accounts)
    )
    row = (await session.execute(stmt)).first()
    return _account(row) if row else None


async def admin_exists(session: AsyncConnection) -> bool:
    stmt = sa.select(sa.exists().where(staff_accounts.c.role == Role.ADMIN.value))
    return bool((await session.execute(stmt)).scalar_one())


async def find(session: AsyncConnection, account_id: uuid.UUID) -> StaffAccount | None:
    row = (await session.execute(sa.select(staff_accounts).where(staff_accounts.c.id == account_id))).first()
    return _account(row) if row else None


async def list_all(session: AsyncConnection) -> list[StaffAccount]:
    rows = (await session.execute(sa.select(staff_accounts).order_by(staff_accounts.c.email))).all()
    return [_account(row) for row in rows]


async def token_state(session: AsyncConnection, account_id: uuid.UUID) -> tuple[int, bool] | None:
    """``(token_version, disabled)`` of an account, or None when it does not exist."""
    row = (await session.execute(sa.select(staff_accounts.c.token_version, staff_accounts.c.disabled_at)
                                 .where(staff_accounts.c.id == account_id))).first()
    return (row.token_version, row.disabled_at is not None) if row else None


async def change(session: AsyncConnection, account_id: uuid.UUID, **values) -> StaffAccount | None:
    """Update an account (``role``, ``hotels``, ``password_hash``, ``disabled_at``) and bump its
    token version, so tokens issued before stop working; None when it does not exist."""
    stmt = (sa.update(staff_accounts).where(staff_accounts.c.id == account_id)
            .values(**values, token_version=staff_accounts.c.token_version + 1).returning(staff_accounts))
    row = (await session.execute(stmt)).first()
    return _account(row) if row else None


async def other_active_admins(session: AsyncConnection, account_id: uuid.UUID) -> int:
    stmt = sa.select(sa.func.count()).where(staff_accounts.c.role == Role.ADMIN.value,
                                            staff_accounts.c.disabled_at.is_(None), staff_accounts.c.id != account_id)
    return int((await session.execute(stmt)).scalar_one())
