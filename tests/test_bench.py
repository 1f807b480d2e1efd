"""`make bench` runs through: a short run of bench/load.py plays every phase (a burst, each closed-loop
work, the open loop) against the whole system and ends with its invariants checked. The figures of so
short a run mean nothing; that the benchmark a user runs works, and says the invariants held, does."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# This worker's own databases and bus namespace: the benchmark names (and afterwards removes) its own.
WORKER_ONLY = ("HOTELMATE_TEST_RUN", "HOTELMATE_DB_PREFIX", "HOTELMATE_BUS_NAMESPACE")


@pytest.mark.long
def test_a_short_load_run_plays_every_phase_and_finds_the_invariants_held(tmp_path):
    env = {name: value for name, value in os.environ.items() if name not in WORKER_ONLY}
    figures = tmp_path / "load.json"
    run = subprocess.run(
        [sys.executable, "bench/load.py", "--clients", "2", "--seconds", "3", "--rate", "2", "--open-seconds", "3",
         "--burst", "5", "--json", str(figures)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    result = json.loads(figures.read_text())
    assert set(result["levels"]["2"]) == {"availability", "quote", "saga"}
    assert result["burst"]["distinct_bookings"] == 5 and result["open_loop"]["operations"]
    invariants = result["invariants"]
    assert invariants["nights_over_capacity"] == []
    assert invariants["emails"]["bookings"] > 0 and invariants["emails"]["lost"] == 0
    assert "invariants: nights over capacity 0, booking.reconcile exit 0, payments.reconcile exit 0" in run.stdout
