"""Each process of a System logs to <log_dir>/<name>.log, and a failing test that ran a System ends
its report with the tail of each of those logs (the logtails plugin)."""

import subprocess
import sys
import textwrap

from hotelmate_devtools.logtails import tail
from hotelmate_devtools.system import Layout, System

STARTED = "smtp sink: SMTP on"  # what the smtp sink prints once it listens

FAILING_SUITE = '''
import pytest
from hotelmate_devtools.system import Layout, System

@pytest.fixture(scope="module")
def system():
    started = System(Layout.random_ports(), echo=False)
    started.start(["smtp-sink"])
    yield started
    started.stop()

def test_module_system_fails(system):
    assert False, "failure one"

def test_module_system_passes(system):
    pass

@pytest.fixture
def client(system):
    return "a client of " + system.layout.url("smtp-sink")

def test_module_system_through_another_fixture_fails(client):
    assert False, "failure four"

def test_own_system_fails():
    own = System(Layout.random_ports(), echo=False)
    own.start(["smtp-sink"])
    try:
        assert False, "failure two"
    finally:
        own.stop()

def test_without_system_fails_quietly():
    assert False, "failure three"
'''


def test_each_process_logs_to_its_own_file_and_a_restart_appends(tmp_path):
    system = System(Layout.random_ports(), echo=False, log_dir=tmp_path / "logs")
    system.start(["smtp-sink"])
    try:
        system.restart("smtp-sink")
    finally:
        system.stop()
    assert [p.name for p in (tmp_path / "logs").iterdir()] == ["smtp-sink.log"]
    assert (tmp_path / "logs" / "smtp-sink.log").read_text().count(STARTED) == 2


def test_a_failing_test_reports_the_tail_of_each_log_of_its_system(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_suite.py").write_text(textwrap.dedent(FAILING_SUITE))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "hotelmate_devtools.logtails", "-p", "no:cacheprovider",
         "--import-mode=importlib", "-q", "test_suite.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    out = run.stdout
    assert "4 failed, 1 passed" in out, out + run.stderr
    sections = out.split("_ test_")[1:]  # one block per failure, in order
    by_test = {block.split(" ", 1)[0]: block for block in sections}
    assert set(by_test) == {"module_system_fails", "module_system_through_another_fixture_fails",
                            "own_system_fails", "without_system_fails_quietly"}, out
    for name in ("module_system_fails", "module_system_through_another_fixture_fails", "own_system_fails"):
        assert "log tail: smtp-sink" in by_test[name], out
        assert STARTED in by_test[name], out
    assert "log tail" not in by_test["without_system_fails_quietly"], out


def test_tail_keeps_the_last_lines(tmp_path):
    log = tmp_path / "a.log"
    log.write_text("".join(f"line {n}\n" for n in range(1000)))
    assert tail(log, 3) == ["line 997\n", "line 998\n", "line 999\n"]
    assert tail(tmp_path.joinpath("a.log"), 5000)[0] == "line 0\n"
