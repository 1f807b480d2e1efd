"""The leased job table kit on a real PostgreSQL: claims never overlap, a dead worker's job comes
back when its lease runs out, postponed jobs wait, finished jobs stay done, the loop wakes on a signal."""

import asyncio

import pytest
from sqlalchemy import text

from hotelmate_devtools.waiting import eventually
from hotelmate_platform.jobs import LeasedJobs, run_jobs_forever

JOBS = LeasedJobs("jobs", due="status = 'PENDING' AND next_attempt_at <= now()")


@pytest.fixture
async def db(kit_database):
    return await kit_database(
        "jobs_kit", "DROP TABLE IF EXISTS jobs",
        "CREATE TABLE jobs (id bigserial PRIMARY KEY, status text NOT NULL DEFAULT 'PENDING', "
        "attempts int NOT NULL DEFAULT 0, next_attempt_at timestamptz NOT NULL DEFAULT now(), "
        "last_error text, finished_at timestamptz)",
        "INSERT INTO jobs (status) SELECT 'PENDING' FROM generate_series(1, 5)", pool_size=3)


async def test_two_workers_claiming_at_once_never_get_the_same_job(db):
    async with db.sessions() as first, db.sessions() as second:
        async with first.begin(), second.begin():
            mine = await JOBS.claim(first, limit=3, lease_seconds=30)  # still locked: the second skips them
            theirs = await JOBS.claim(second, limit=3, lease_seconds=30)
    assert len(mine) == 3 and len(theirs) == 2
    assert not {r.id for r in mine} & {r.id for r in theirs}
    assert all(r.attempts == 1 for r in [*mine, *theirs])


async def test_a_job_whose_worker_died_is_claimed_again_once_its_lease_runs_out(db):
    async with db.sessions() as session, session.begin():
        claimed = await JOBS.claim(session, limit=5, lease_seconds=0.3)
    async with db.sessions() as session, session.begin():
        assert await JOBS.claim(session, limit=5, lease_seconds=30) == []  # leased
    async def claim_again():
        async with db.sessions() as session, session.begin():
            return await JOBS.claim(session, limit=5, lease_seconds=30)
    again = await eventually(claim_again, timeout=10)
    assert {r.id for r in again} == {r.id for r in claimed} and all(r.attempts == 2 for r in again)


async def test_postponed_jobs_wait_and_finished_jobs_are_never_claimed(db):
    async with db.sessions() as session, session.begin():
        first, second, *rest = await JOBS.claim(session, limit=5, lease_seconds=0)
        await JOBS.postpone(session, first.id, delay_seconds=3600, error="try later")
        await JOBS.finish(session, second.id, {"status": "DONE", "last_error": None}, stamp=("finished_at",))
    async with db.sessions() as session, session.begin():
        due = {r.id for r in await JOBS.claim(session, limit=5, lease_seconds=30)}
        row = (await session.execute(text("SELECT * FROM jobs WHERE id = :i"), {"i": second.id})).one()
        postponed = (await session.execute(text("SELECT last_error FROM jobs WHERE id = :i"), {"i": first.id})).scalar()
    assert due == {r.id for r in rest}
    assert row.status == "DONE" and row.finished_at is not None and postponed == "try later"


async def test_the_loop_runs_again_at_once_while_it_finds_work_and_wakes_on_the_signal():
    wake, rounds, work = asyncio.Event(), [], [2, 1]

    async def run_once() -> int:
        rounds.append(work[0] if work else 0)
        return work.pop(0) if work else 0

    loop = asyncio.create_task(run_jobs_forever(run_once, wake=wake, poll_seconds=3600))
    try:
        assert await eventually(lambda: rounds == [2, 1, 0])  # two busy rounds, then it waits
        work.append(4)
        wake.set()
        assert await eventually(lambda: rounds[:4] == [2, 1, 0, 4])
    finally:
        loop.cancel()
