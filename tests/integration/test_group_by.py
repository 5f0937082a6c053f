# SPDX-License-Identifier: MIT
"""`tasks --group-by coro|state|thread` (issue 18): on every interpreter of the matrix, live
and on a gcore core of the same process, the exact counts of targets/task_groups.py (which
counts its own tasks with asyncio.all_tasks() before it blocks): per coroutine, per state
(running, pending, cancelling) and per thread, in JSON and in text."""
import re

import pytest

import helpers
from helpers import aiodbg, aiodbg_json

KINDS = ["live", "core"]
KEYS = ["coro", "state", "thread"]


@pytest.fixture(scope="module")
def target(row):
    t = helpers.launch_or_fail(row, "task_groups.py", timeout=90)
    yield t
    t.kill()


def where(kind, target, core):
    return ["attach", target.pid] if kind == "live" else helpers.core_args(core)


def want_groups(target, key):
    """{key: (count, {state: n})} from the target's own count."""
    g = target.truth["groups"][key]
    if key == "state":
        return {k: (n, None) for k, n in g.items()}
    return {(int(k) if key == "thread" else k): (sum(v.values()), v) for k, v in g.items()}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("key", KEYS)
def test_group_by_json(target, core, kind, key):
    doc = aiodbg_json(*where(kind, target, core), "-c", f"tasks --group-by {key} --json")
    assert doc["group_by"] == key
    assert doc["total"] == target.truth["total"] == 17
    want = want_groups(target, key)
    got = {g["key"]: g for g in doc["groups"]}
    assert set(got) == set(want), (got, want)
    for k, (count, states) in want.items():
        assert got[k]["count"] == count, k
        st = {s: n for s, n in got[k]["states"].items() if n}
        assert st == (states if states is not None else {k: count}), k
    # Largest first.
    counts = [g["count"] for g in doc["groups"]]
    assert counts == sorted(counts, reverse=True)


def test_known_numbers(target):
    """The target is what the tests above assume (so that they cannot pass on nothing)."""
    g = target.truth["groups"]
    assert g["state"] == {"running": 1, "pending": 14, "cancelling": 2}
    assert {k: sum(v.values()) for k, v in g["coro"].items()} == {
        "main": 1, "sleeper": 5, "waiter": 3, "stubborn": 2, "blocker": 1,
        "thread_main": 1, "thread_worker": 4}
    assert sorted(sum(v.values()) for v in g["thread"].values()) == [5, 12]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("key", KEYS)
def test_group_by_text(target, core, kind, key):
    r = aiodbg(*where(kind, target, core), "-c", f"tasks --group-by {key}")
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    head = lines[0].split()
    assert head[0] == "COUNT"
    assert head[-1] == {"coro": "COROUTINE", "state": "STATE", "thread": "THREAD"}[key]
    want = want_groups(target, key)
    rows = {}
    for ln in lines[1:-1]:
        cells = ln.split()
        rows[cells[-1]] = [int(x) for x in cells[:-1]]
    assert len(rows) == len(want)
    for k, (count, states) in want.items():
        cells = rows[str(k)]
        assert cells[0] == count, (k, ln)
        if states is not None:
            order = ["running", "pending", "cancelling", "cancelled", "finished"]
            assert cells[1:] == [states.get(s, 0) for s in order], k
    assert lines[-1] == f"17 tasks in {len(want)} groups"


@pytest.mark.parametrize("bad", ["tasks --group-by", "tasks --group-by name"])
def test_group_by_bad_usage(target, bad):
    r = aiodbg("attach", target.pid, "-c", bad)
    assert r.rc == 2
    assert re.search(r"--group-by takes coro, state or thread", r.err), r.err
