"""What ``bench/load.py`` measures and prints: latencies per operation and saga leg, errors and
refusals, CPU seconds per process, and the figures and table of one phase."""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from pathlib import Path

import psutil

from hotelmate_devtools.cleanup import percentile
from hotelmate_devtools.system import System


class Recorder:
    """Latencies per operation and per saga leg, and errors by kind, for one measured phase."""

    def __init__(self) -> None:
        self.ops: dict[str, list[float]] = defaultdict(list)
        self.legs: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # 429/503 + Retry-After, retried as told (not errors)
        self.sagas = 0

    def op(self, name: str, seconds: float) -> None:
        self.ops[name].append(seconds)

    def leg(self, name: str, seconds: float) -> None:
        self.legs[name].append(seconds)

    def error(self, kind: str) -> None:
        self.errors[kind] += 1


class CpuMeter:
    """CPU seconds of each of the system's processes (and this driver) over a phase."""

    def __init__(self, system: System) -> None:
        self.procs = {name: psutil.Process(p.popen.pid) for name, p in system.processes.items()}
        self.procs["load driver"] = psutil.Process(os.getpid())

    def sample(self) -> dict[str, float]:
        out = {}
        for name, proc in self.procs.items():
            times = proc.cpu_times()
            out[name] = times.user + times.system
        return out

    @staticmethod
    def used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """CPU seconds each process used between two samples."""
        return {name: after[name] - before[name] for name in after}


def summary(rec: Recorder, seconds: float, cpu: dict[str, float], unit: str) -> dict:
    """``cpu``: CPU seconds per process; also given per ``unit`` (an operation's name, or "saga"): on a
    machine shared with others, CPU per request is the figure that the neighbours' load disturbs least."""
    units = rec.sagas if unit == "saga" else len(rec.ops.get(unit, []))
    def stats(xs: list[float]) -> dict:
        return {"count": len(xs), "per_second": round(len(xs) / seconds, 1),
                **{f"p{q}_ms": round(percentile(xs, q) * 1000, 1) for q in (50, 95, 99)}}

    out = {"seconds": round(seconds, 1), "loadavg": Path("/proc/loadavg").read_text().split()[:3],
           "operations": {name: stats(xs) for name, xs in sorted(rec.ops.items())},
           "saga_legs": {name: stats(xs) for name, xs in rec.legs.items()},
           "errors": dict(rec.errors), "refused_and_retried": dict(rec.refused),
           "cpu_percent_of_one_core": {name: round(100 * used / seconds, 1) for name, used in cpu.items()},
           f"cpu_ms_per_{unit}": {name: round(1000 * used / units, 2) for name, used in cpu.items()} if units else {}}
    if rec.sagas:
        out["sagas_per_second"] = round(rec.sagas / seconds, 2)
    return out


def table(label: str, result: dict) -> str:
    lines = [f"== {label}  ({result['seconds']} s, loadavg {' '.join(result['loadavg'])})"]
    for section in ("operations", "saga_legs"):
        for name, s in result[section].items():
            lines.append(f"  {name:28} {s['per_second']:8.1f}/s  p50 {s['p50_ms']:8.1f}  p95 {s['p95_ms']:8.1f}  "
                         f"p99 {s['p99_ms']:8.1f} ms  (n={s['count']})")
    if "sagas_per_second" in result:
        lines.append(f"  full sagas (CONFIRMED)       {result['sagas_per_second']:8.2f}/s")
    for kind, n in result["errors"].items():
        lines.append(f"  error: {kind} x{n}")
    for kind, n in result.get("refused_and_retried", {}).items():
        lines.append(f"  refused with Retry-After, retried: {kind} x{n}")
    cpu = ", ".join(f"{k} {v}%" for k, v in sorted(result["cpu_percent_of_one_core"].items(), key=lambda kv: -kv[1]))
    lines.append(f"  cpu (% of one core): {cpu}")
    per = next((k for k in result if k.startswith("cpu_ms_per_")), "")
    if result.get(per):
        top = sorted(result[per].items(), key=lambda kv: -kv[1])
        lines.append(f"  {per.replace('_', ' ')}: " + ", ".join(f"{k} {v}" for k, v in top if v >= 0.05))
    return "\n".join(lines)
