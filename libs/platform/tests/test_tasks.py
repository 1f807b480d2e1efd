"""Background loops (``hotelmate_platform.tasks.supervise``): they outlive their failures, and stop
only when they are told to."""

import asyncio

import pytest

from hotelmate_platform.tasks import supervise


async def test_a_loop_whose_await_is_cancelled_from_inside_is_restarted_and_stops_when_told():
    # aiormq rejects a closing channel's pending publisher confirm with CancelledError: the relay
    # awaiting it must be restarted, not ended for good (a broker restart would leave a service that
    # never publishes again while it still answers ready).
    runs = 0
    restarted = asyncio.Event()

    async def relay() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            confirm = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(confirm.set_exception, asyncio.CancelledError())
            await confirm
        restarted.set()
        await asyncio.Future()  # runs until cancelled

    task = asyncio.create_task(supervise("outbox-relay", relay, restart_delay=0))
    await asyncio.wait_for(restarted.wait(), timeout=10)
    assert runs == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runs == 2  # stopping the loop does not start it again
