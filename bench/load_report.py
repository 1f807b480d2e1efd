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
    """CPU seconds of each of the system's processes (and this driver) over a phase; also the servers
    beside them on this machine (all of PostgreSQL, RabbitMQ) and the whole machine (every core's busy
    time, whoever used it), so a figure per saga shows where the rest of the machine went."""

    def __init__(self, system: System) -> None:
        self.procs = {name: psutil.Process(p.popen.pid) for name, p in system.processes.items()}
        self.procs["load driver"] = psutil.Process(os.getpid())
        self.servers = {name: proc for name, proc in (("postgres", _server("postgres")),
                                                      ("rabbitmq", _server("beam.smp"))) if proc is not None}

    def sample(self) -> dict[str, float]:
        out = {}
        for name, proc in self.procs.items():
            times = proc.cpu_times()
            out[name] = times.user + times.system
        for name, top in self.servers.items():
            out[name] = _tree_seconds(top)
        machine = psutil.cpu_times()
        out["whole machine"] = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        return out

    @staticmethod
    def used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """CPU seconds each process used between two samples."""
        return {name: after[name] - before[name] for name in after}


def _server(name: str) -> psutil.Process | None:
    """The topmost process called ``name`` (PostgreSQL's postmaster, RabbitMQ's VM), if it runs here."""
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.info["name"] == name and proc.parent() is not None and proc.parent().name() != name:
                return proc
        except psutil.Error:
            continue
    return None


def _tree_seconds(top: psutil.Process) -> float:
    """CPU seconds of ``top``, its live children and the children it has reaped (PostgreSQL's backends)."""
    try:
        times = top.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in top.children(recursive=True):
            try:
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
            except psutil.Error:
                continue
        return total
    except psutil.Error:
        return 0.0


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


def _rate(result: dict, work: str) -> float:
    if work == "saga":
        return result.get("sagas_per_second", 0.0)
    return result["operations"].get(work, {}).get("per_second", 0.0)


def growth(levels: dict[str, dict]) -> list[str]:
    """How each closed-loop work's throughput grew from the fewest clients to the most (issue 12's
    ratios): requests/s for the reads, full sagas/s for the sagas."""
    counts = sorted(levels, key=int)
    lines = []
    if len(counts) < 2:
        return lines
    low, high = counts[0], counts[-1]
    for work in ("availability", "quote", "saga"):
        if work not in levels[low] or work not in levels[high]:
            continue
        a, b = _rate(levels[low][work], work), _rate(levels[high][work], work)
        ratio = f"{b / a:.2f}x" if a else "n/a"
        lines.append(f"  {work:12} {low} -> {high} clients: {a:g} -> {b:g}/s ({ratio})")
    return lines


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
