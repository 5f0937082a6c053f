# SPDX-License-Identifier: MIT
"""Fixtures of the integration suite (helpers in helpers.py).

- `row`: every test that takes it runs once per interpreter of the matrix (.cache/matrix.txt),
  with the row's name as its id. Module-scoped, so module fixtures can share a target per row.
- `start_target(row, script, *args)`: a running target with ground truth (killed and reaped at
  teardown, always).
- `gcore(pid)`: a core of a live process in a temp dir (removed at teardown).
- `core`: a core of the module's `target` fixture (each module that uses it defines
  `target`), made once per module and row.
- `aiodbg`, `aiodbg_json`, `aiodbg_jsonl`: run the binary under test; every JSON document
  they see is validated against docs/aiodbg.schema.json (helpers.validate).
- After every test: no target may be left stopped (state T or t).
- The session mounts /proc in the chroot roots it uses and unmounts it at the end.
"""
import os
import shutil

import pytest

import helpers
from helpers import ROWS, SESSION


def pytest_generate_tests(metafunc):
    if "row" in metafunc.fixturenames:
        metafunc.parametrize("row", ROWS, ids=[r.name for r in ROWS], scope="module")


def pytest_report_header(config):
    lines = [f"aiodbg: {helpers.AIODBG}" + ("" if os.path.exists(helpers.AIODBG) else " (MISSING)"),
             f"matrix: {helpers.MATRIX}"]
    lines += [f"  {r.name:<16} {r.version:<10} {r.root} {r.python}" for r in ROWS]
    if not ROWS:
        lines.append("  SKIP (matrix): no interpreters; run tests/env/matrix.sh")
    try:
        import jsonschema  # noqa: F401
        lines.append(f"schema: {helpers.SCHEMA_PATH} (every --json output is validated)")
    except ImportError:
        lines.append("schema: python3-jsonschema MISSING: JSON tests fail"
                     + (" (AIODBG_NO_SCHEMA=1: NOT VALIDATED)"
                        if os.environ.get("AIODBG_NO_SCHEMA") == "1" and not os.environ.get("CI") else ""))
    return lines


@pytest.fixture(scope="session", autouse=True)
def _session():
    try:
        yield SESSION
    finally:
        for t in list(helpers.Target.alive):
            t.kill()
        SESSION.close()


@pytest.fixture
def start_target():
    """start_target(row, script, *args, timeout=60, quiescent=True) -> Target."""
    started = []

    def start(row, script, *args, **kw):
        t = helpers.launch_or_fail(row, script, *args, **kw)
        started.append(t)
        return t

    try:
        yield start
    finally:
        for t in started:
            t.kill()


@pytest.fixture(scope="module")
def core(target):
    path = helpers.make_core(target.pid)
    yield path
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


@pytest.fixture
def gcore():
    """gcore(pid) -> path of a core of the live process pid (removed at teardown)."""
    dirs = []

    def make(pid):
        path = helpers.make_core(pid)
        dirs.append(os.path.dirname(path))
        return path

    try:
        yield make
    finally:
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def aiodbg():
    return helpers.aiodbg


@pytest.fixture
def aiodbg_json():
    return helpers.aiodbg_json


@pytest.fixture
def aiodbg_jsonl():
    return helpers.aiodbg_jsonl


@pytest.fixture(autouse=True)
def _never_left_stopped():
    """A debugger must never leave a target stopped: checked after every test, for every
    target still alive (including module-scoped ones)."""
    yield
    bad = []
    for t in list(helpers.Target.alive):
        st = t.stopped_threads()
        if st:
            bad.append(f"{t!r}: threads stopped: {st}")
            # Let the rest of the suite run against a working target.
            try:
                os.kill(t.pid, 18)  # SIGCONT
            except OSError:
                pass
    if bad:
        pytest.fail("target left stopped after the test: " + "; ".join(bad), pytrace=False)
