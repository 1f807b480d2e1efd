"""A work unit runs on one pytest-xdist worker from its first test to its last, on a bus namespace and
databases of its own: a folder whose conftest shares a session fixture is one unit, any other module
is a unit of its own (hotelmate_devtools.testing)."""

import json
import os
import subprocess
import sys
import textwrap
from collections import defaultdict

SHARED_CONFTEST = '''
import pytest

@pytest.fixture(scope="session")
def shared_thing():
    return "one per unit"
'''

RECORDING_TESTS = '''
import json, os
import pytest

@pytest.mark.parametrize("n", range(6))
def test_records_where_it_ran(n, request):
    with open(os.environ["UNITS_LOG"], "a") as log:
        log.write(json.dumps({"test": request.node.nodeid.split("@")[0], "worker": os.environ["PYTEST_XDIST_WORKER"],
                              "namespace": os.environ["HOTELMATE_BUS_NAMESPACE"]}) + "\\n")
'''


def test_a_folder_sharing_a_session_fixture_and_each_other_module_stay_on_one_worker(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "conftest.py").write_text(SHARED_CONFTEST)
    tests = RECORDING_TESTS.replace("(n, request)", "(n, request, shared_thing)")
    for name in ("test_one.py", "test_two.py", "test_three.py"):
        (shared / name).write_text(textwrap.dedent(tests))
    for name in ("test_alone.py", "test_apart.py", "test_aside.py"):
        (tmp_path / name).write_text(textwrap.dedent(RECORDING_TESTS))
    log = tmp_path / "units.log"
    only_xdist = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # the child starts in seconds without the others
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "xdist.plugin", "-p", "hotelmate_devtools.testing",
         "-p", "no:cacheprovider", "--import-mode=importlib", "-q", "-n", "2", "--dist", "loadgroup",
         "--no-loadscope-reorder", "."],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, **only_xdist, "UNITS_LOG": str(log)},
    )
    assert "36 passed" in run.stdout, run.stdout + run.stderr
    where: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for line in log.read_text().splitlines():
        record = json.loads(line)
        unit = "shared" if record["test"].startswith("shared/") else record["test"].split("::")[0]
        where[unit].add((record["worker"], record["namespace"]))
    assert set(where) == {"shared", "test_alone.py", "test_apart.py", "test_aside.py"}
    assert all(len(places) == 1 for places in where.values()), dict(where)  # one worker, one namespace each
    namespaces = [namespace for places in where.values() for _, namespace in places]
    assert len(set(namespaces)) == 4, namespaces
    assert {worker for places in where.values() for worker, _ in places} == {"gw0", "gw1"}, dict(where)

