"""A unit of work wakes a named worker signal only once its transaction has committed."""

import pytest

from hotelmate_platform.db import Database


async def test_a_committed_unit_of_work_sets_the_signal_it_named(db: Database):
    due = db.signal("test-work")
    async with db.unit_of_work() as uow:
        uow.wake("test-work")
        assert not due.is_set()  # not before the commit: the worker would find nothing yet
    assert due.is_set()
    assert not db.signal("other-work").is_set()


async def test_a_rolled_back_unit_of_work_sets_nothing(db: Database):
    due = db.signal("test-work")
    with pytest.raises(RuntimeError):
        async with db.unit_of_work() as uow:
            uow.wake("test-work")
            raise RuntimeError("the change failed")
    assert not due.is_set()
