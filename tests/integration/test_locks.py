# SPDX-License-Identifier: MIT
"""Lock holders, deadlocks and what tasks wait on (issue 15), on every interpreter of the
matrix, live and from a gcore core of the same process: targets/asyncio_locks.py builds a
two-lock deadlock, locks held with `async with` and with a bare acquire(), a Semaphore(2)
with two holders and a waiter, a Condition, a full and an empty Queue, an Event that is
never set, and tasks in asyncio.timeout(30), wait_for(..., 30) and sleep(30); it writes the
ids of every task and primitive and each deadline's loop time.

Time left on a deadline is checked against the clock, not against a fixed figure: live,
aiodbg reads the clock while the target is frozen, so `left` lies between `when` minus the
test's clock after and before the command; a core has no clock, and aiodbg takes the loop's
last reading (the loop went idle before the target wrote its truth), so `left` is at least
`when` minus the truth's clock and at most 30 s."""
import re
import time

import pytest

import helpers
from helpers import aiodbg, aiodbg_json

KINDS = ["live", "core"]


@pytest.fixture(scope="module")
def target(row):
    t = helpers.launch_or_fail(row, "asyncio_locks.py", timeout=90)
    assert not t.truth["problems"], t.truth["problems"]
    yield t
    t.kill()


def run(target, core, kind, *cmds, json=False):
    args = ["attach", target.pid] if kind == "live" else list(helpers.core_args(core))
    for c in cmds:
        args += ["-c", c]
    if json:
        return aiodbg_json(*args)
    r = aiodbg(*args)
    assert r.rc == 0, r.err
    return r.out


@pytest.fixture(scope="module")
def docs(target, core):
    """tasks --json live (with the test's clock around it) and from the core."""
    before = time.monotonic()
    live = run(target, core, "live", "tasks --json", json=True)
    after = time.monotonic()
    return {"live": live, "core": run(target, core, "core", "tasks --json", json=True),
            "clock": (before, after)}


def tasks_by_name(target, doc):
    ids = target.truth["tasks"]
    by_id = {t["id"]: t for t in doc["tasks"]}
    missing = [n for n, i in ids.items() if i not in by_id]
    assert not missing, f"tasks not found: {missing}"
    return {n: by_id[i] for n, i in ids.items()}


def waiting(target, doc, name):
    w = tasks_by_name(target, doc)[name]["waiting_on"]
    assert w is not None, name
    return w


@pytest.mark.parametrize("kind", KINDS)
def test_two_lock_deadlock(target, docs, kind):
    doc = docs[kind]
    ids, locks = target.truth["tasks"], target.truth["locks"]
    ab, ba = ids["transfer-a-b"], ids["transfer-b-a"]
    cycles = [sorted(c) for c in doc["cycles"]]
    assert sorted([ab, ba]) in cycles, doc["cycles"]
    i = cycles.index(sorted([ab, ba]))
    # Each task of the cycle waits for the lock the other one holds.
    through = dict(zip(doc["cycles"][i], doc["cycle_locks"][i]))
    assert through == {ab: locks["lock_b"], ba: locks["lock_a"]}
    for me, other, lock in (("transfer-a-b", ba, "lock_b"), ("transfer-b-a", ab, "lock_a")):
        w = waiting(target, doc, me)
        assert w["what"] == "Lock.acquire"
        assert w["primitive"] == {"type": "Lock", "id": locks[lock]}
        assert w["lock"] == locks[lock]
        assert w["held_by"] == [other]
        assert w["held_evidence"] == "async with"


@pytest.mark.parametrize("kind", KINDS)
def test_deadlock_in_tree_and_task(target, core, kind):
    ids, locks = target.truth["tasks"], target.truth["locks"]
    out = run(target, core, kind, "tree")
    cyc = [ln for ln in out.splitlines() if ln.startswith("cycle:")]
    want = {f"cycle: transfer-a-b {ids['transfer-a-b']} → transfer-b-a {ids['transfer-b-a']}",
            f"cycle: transfer-b-a {ids['transfer-b-a']} → transfer-a-b {ids['transfer-a-b']}"}
    assert len(cyc) == 1 and cyc[0] in want, out
    assert (f"  deadlock: transfer-a-b waits for Lock {locks['lock_b']}: "
            f"Lock.acquire held by transfer-b-a") in out.splitlines()
    assert (f"  deadlock: transfer-b-a waits for Lock {locks['lock_a']}: "
            f"Lock.acquire held by transfer-a-b") in out.splitlines()
    assert re.search(rf"^\(T\) transfer-a-b {ids['transfer-a-b']} \[pending\] awaiting "
                     r"Lock.acquire held by transfer-b-a$", out, re.M), out
    out = run(target, core, kind, "task transfer-b-a")
    assert "  awaiting:   Lock.acquire held by transfer-a-b\n" in out
    assert f"  on:         Lock {locks['lock_a']}\n" in out
    assert f"  held by:    transfer-a-b {ids['transfer-a-b']} (async with)\n" in out


@pytest.mark.parametrize("kind", KINDS)
def test_held_lock_names_its_holder(target, docs, core, kind):
    doc = docs[kind]
    ids, locks = target.truth["tasks"], target.truth["locks"]
    w = waiting(target, doc, "with-waiter")
    assert (w["primitive"]["id"], w["held_by"], w["held_evidence"]) == (
        locks["lock_c"], [ids["with-holder"]], "async with")
    w = waiting(target, doc, "bare-waiter")
    assert (w["primitive"]["id"], w["held_by"], w["held_evidence"]) == (
        locks["lock_d"], [ids["bare-holder"]], "acquire")
    # No lock cycle besides the deadlock.
    assert len(doc["cycles"]) == 1
    out = run(target, core, kind, "tasks")
    rows = {ln.split()[1]: ln for ln in out.splitlines()[1:] if len(ln.split()) > 1}
    assert "Lock.acquire held by with-holder" in rows["with-waiter"], out
    assert "Lock.acquire held by bare-holder" in rows["bare-waiter"], out


@pytest.mark.parametrize("kind", KINDS)
def test_semaphore_two_holders(target, docs, kind):
    doc = docs[kind]
    ids, locks = target.truth["tasks"], target.truth["locks"]
    w = waiting(target, doc, "sem-waiter")
    assert w["what"] == "Semaphore.acquire"
    assert w["primitive"] == {"type": "Semaphore", "id": locks["sem"]}
    assert sorted(w["held_by"]) == sorted([ids["sem-holder-0"], ids["sem-holder-1"]])
    assert w["held_evidence"] == "async with"


@pytest.mark.parametrize("kind", KINDS)
def test_condition(target, docs, kind):
    doc = docs[kind]
    ids, locks = target.truth["tasks"], target.truth["locks"]
    w = waiting(target, doc, "cond-waiter")
    assert w["what"] == "Lock.acquire"
    assert w["primitive"] == {"type": "Condition", "id": locks["cond"]}
    assert w["lock"] == locks["cond_lock"]
    # cond-sleeper is inside `async with cond` too, but waits in cond.wait(): released.
    assert w["held_by"] == [ids["cond-holder"]]
    w = waiting(target, doc, "cond-sleeper")
    assert w["what"] == "Condition.wait"
    assert w["primitive"] == {"type": "Condition", "id": locks["cond"]}
    assert "held_by" not in w


@pytest.mark.parametrize("kind", KINDS)
def test_queues_and_event(target, docs, core, kind):
    doc = docs[kind]
    q, ev = target.truth["queues"], target.truth["event"]
    w = waiting(target, doc, "q-putter")
    assert w["what"] == "Queue.put"
    assert w["primitive"] == {"type": "Queue", "id": q["full_q"]}
    assert w["queue"] == {"size": 1, "maxsize": 1, "getters": 0, "putters": 1}
    for name in ("q-getter-0", "q-getter-1"):
        w = waiting(target, doc, name)
        assert w["what"] == "Queue.get"
        assert w["primitive"] == {"type": "Queue", "id": q["empty_q"]}
        assert w["queue"] == {"size": 0, "maxsize": 0, "getters": 2, "putters": 0}
    w = waiting(target, doc, "event-waiter")
    assert w["what"] == "Event.wait"
    assert w["primitive"] == {"type": "Event", "id": ev}
    assert w["event_set"] is False
    out = run(target, core, kind, "task q-putter", "task q-getter-0", "task event-waiter")
    lines = out.splitlines()
    assert "  awaiting:   Queue.put (size 1 of 1, 0 getters, 1 putter)" in lines, out
    assert f"  on:         Queue {q['full_q']}" in lines, out
    assert "  queue:      size 1, maxsize 1, 0 getters, 1 putter" in lines, out
    assert "  awaiting:   Queue.get (size 0, 2 getters, 0 putters)" in lines, out
    assert "  queue:      size 0, maxsize 0, 2 getters, 0 putters" in lines, out
    assert "  awaiting:   Event.wait (not set)" in lines, out
    assert f"  on:         Event {ev}" in lines, out
    assert "  event:      not set" in lines, out


@pytest.mark.parametrize("kind", KINDS)
def test_deadlines(target, docs, core, kind):
    doc = docs[kind]
    before, after = docs["clock"]
    for name, via in (("timeout-30", "timeout"), ("waitfor-30", "wait_for"), ("sleep-30", "sleep")):
        when = target.truth["deadlines"][name]
        d = waiting(target, doc, name)["deadline"]
        assert d["via"] == via, name
        assert abs(d["when"] - when) < 1e-6, (name, d, when)
        if kind == "live":
            assert d["clock"] == "clock"
            assert when - after - 0.01 <= d["left"] <= when - before + 0.01, (name, d)
        else:
            assert d["clock"] == "loop"
            assert when - target.truth["monotonic"] - 0.01 <= d["left"] <= 30, (name, d)
        assert 0 < d["left"] <= 30
    out = run(target, core, kind, "task sleep-30")
    m = re.search(r"^  deadline:   ([0-9.]+) s left \(sleep; loop time ([0-9.]+)", out, re.M)
    assert m, out
    assert abs(float(m.group(2)) - target.truth["deadlines"]["sleep-30"]) < 0.001
    assert 0 < float(m.group(1)) <= 30
