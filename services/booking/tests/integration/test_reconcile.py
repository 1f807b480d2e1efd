"""The reconcile command against booking's database and stand-ins for payments and inventory."""

import asyncio
import os
import sys

from .booking_support import STAFF


async def run_reconcile(standin) -> tuple[int, str]:
    env = {**os.environ, "HOTELMATE_INVENTORY_URL": standin.url, "HOTELMATE_PAYMENTS_URL": standin.url}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "booking.reconcile", "--grace-seconds", "0",
                                                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode, out.decode() + err.decode()


async def test_reconcile_reports_drift_and_exits_1(saga, client, standin):
    confirmed_id, _, _ = await saga.confirmed()
    declined_id, _, _ = await saga.pending_approval()
    await client.post(f"/api/v1/staff/hotels/h1/bookings/{declined_id}/decline", json={"reason_code": "X"}, headers=STAFF)
    await saga.wait_status(declined_id, "DECLINED")
    payments, holds = standin.state.setdefault("payments", {}), standin.state.setdefault("holds", {})
    payments[confirmed_id] = {"booking_id": confirmed_id, "status": "CAPTURED"}
    holds[confirmed_id] = {"booking_id": confirmed_id, "status": "COMMITTED"}
    payments[declined_id] = {"booking_id": declined_id, "status": "AUTHORIZED"}  # the void never happened
    holds[declined_id] = {"booking_id": declined_id, "status": "RELEASED"}
    code, output = await run_reconcile(standin)
    assert code == 1, output
    assert f"DRIFT {declined_id}: authorisation left open on a DECLINED booking" in output
    assert confirmed_id not in output
