"""Staff accounts in the gateway's database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

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

    @property
    def identity(self) -> Identity:
        return Identity(staff_id=str(self.id), role=self.role, hotels=frozenset(self.hotels))


def _account(row) -> StaffAccount:
    return StaffAccount(row.id, row.email, row.password_hash, Role(row.role), tuple(row.hotels), row.created_at)


async def find_by_email(session: AsyncSession, email: str) -> StaffAccount | None:
    row = (await session.execute(sa.select(staff_accounts).where(staff_accounts.c.email == email.lower()))).first()
    return _account(row) if row else None


async def add(session: AsyncSession, *, email: str, password_hash: str, role: Role, hotels: list[str],
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


async def admin_exists(session: AsyncSession) -> bool:
    stmt = sa.select(sa.exists().where(staff_accounts.c.role == Role.ADMIN.value))
    return bool((await session.execute(stmt)).scalar_one())
