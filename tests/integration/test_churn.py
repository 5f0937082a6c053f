# SPDX-License-Identifier: MIT
"""Snapshots and injections of a program that never holds still (issue 14), on every row.

targets/churn.py runs 25 busy threads, keeps 16 short-lived threads starting and ending all
the time, and an asyncio loop whose ticker creates and finishes tasks every millisecond.
Every snapshot must succeed with the right tasks (a thread state torn down while we read
the thread list is a race to read again, never "unsupported"), every injection must
answer, and the program is never left stopped (conftest)."""
import re

import helpers
from helpers import aiodbg, aiodbg_json

# Tasks the churn target has besides its named waiters.
OTHER_TASK = re.compile(r"^(tmp|ticker|Task-\d+)$")


def check_tasks(doc, truth):
    by_name = {}
    for t in doc["tasks"]:
        by_name.setdefault(t["name"], []).append(t)
    for name in truth["tasks"]:
        assert len(by_name.get(name, [])) == 1, (name, sorted(by_name))
        (t,) = by_name[name]
        assert t["state"] == "pending" and t["coro"] == truth["coro"], t
        assert t["stack"] and t["stack"][-1]["function"] == truth["coro"], t["stack"]
        assert t["stack"][0]["function"] == "Event.wait", t["stack"]
    stray = [n for n in by_name if n not in truth["tasks"] and not OTHER_TASK.match(n or "")]
    assert not stray, stray


def test_50_snapshots_under_churn(row, start_target):
    t = start_target(row, "churn.py", quiescent=False)
    failures = []
    for i in range(50):
        r = aiodbg("attach", t.pid, "-c", "tasks --json", timeout=120)
        if r.rc != 0:
            failures.append(f"snapshot {i}: rc {r.rc}: {r.err.strip()}")
            continue
        doc = helpers.json.loads(r.out)
        check_tasks(doc, t.truth)
        warnings = [w for w in doc.get("warnings", []) if "kept changing" in w]
        assert not warnings, warnings
    assert not failures, failures
    assert not t.stopped_threads()


def test_threads_under_churn(row, start_target):
    t = start_target(row, "churn.py", quiescent=False)
    for _ in range(10):
        doc = aiodbg_json("attach", t.pid, "-c", "threads --json", timeout=120)
        mains = [th for th in doc["threads"] if th["main"]]
        assert [th["tid"] for th in mains] == [t.pid], mains
        assert not any(th.get("agent") for th in doc["threads"])


def test_50_injections_under_churn(row, start_target):
    t = start_target(row, "churn.py", quiescent=False)
    results = []
    for _ in range(50):
        r = aiodbg("attach", t.pid, "-c", "p 6*7", timeout=120)
        results.append(r.out.strip() if r.rc == 0 else f"rc {r.rc}: {r.err.strip()}")
    bad = [x for x in results if x != "42"]
    assert not bad, bad
    assert not t.stopped_threads()
