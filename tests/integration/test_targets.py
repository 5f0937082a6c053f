# SPDX-License-Identifier: MIT
"""The targets themselves, on every interpreter of the matrix: they start, reach their
blocking state, and their ground truth is complete and self-consistent. This does not run
aiodbg; it keeps the ground truth that the other tests rely on honest."""
import os

import helpers


def check_common(t, row):
    truth = t.truth
    assert truth["version"] == row.version
    assert truth["pid"] == t.pid
    assert os.path.basename(truth["executable_real"]).startswith("python")
    assert os.path.exists(row.host_path(truth["executable_real"]))
    assert isinstance(truth["free_threaded"], bool)


def test_three_threads(row, start_target):
    t = start_target(row, "three_threads.py")
    check_common(t, row)
    assert t.truth["thread_count"] == 4
    assert len(helpers.thread_states(t.pid)) == 4
    names = [th["name"] for th in t.truth["threads"]]
    assert names == ["MainThread", "waiter-0", "waiter-1", "waiter-2"]
    for th in t.truth["threads"][1:]:
        assert th["frames"][0]["function"] == "waiter"


def test_counter(row, start_target):
    t = start_target(row, "counter.py", quiescent=False)
    check_common(t, row)
    assert os.path.exists(t.host_path(t.truth["counter_file"]))


def test_threads_sleep(row, start_target):
    t = start_target(row, "threads_sleep.py")
    truth = t.truth
    check_common(t, row)
    assert truth["problems"] == []
    assert len(helpers.thread_states(t.pid)) == 5
    by_name = {th["name"]: th for th in truth["threads"]}
    assert set(by_name) == {"MainThread", "lock-waiter", "ñandú", "gen-coro", "deep"}
    assert by_name["MainThread"]["tid"] == t.pid and by_name["MainThread"]["main"]
    tids = [th["tid"] for th in truth["threads"]]
    assert len(set(tids)) == 5
    assert set(tids) == set(helpers.thread_states(t.pid))
    deep = [f for f in by_name["deep"]["frames"] if f["function"] == "recurse"]
    assert len(deep) == truth["deep"] == 1000
    main = [f["function"] for f in by_name["MainThread"]["frames"]]
    assert main == ["c", "b", "a", "main", "<module>"]
    assert by_name["ñandú"]["frames"][0]["function"] == "ñandú_wait"
    gc = [f["function"] for f in by_name["gen-coro"]["frames"][:3]]
    assert gc == ["gen_sleep", "coro_body", "drive"]


def test_asyncio_idle(row, start_target):
    t = start_target(row, "asyncio_idle.py")
    truth = t.truth
    check_common(t, row)
    assert truth["problems"] == []
    main = truth["threads"][0]
    assert main["main"] and main["tid"] == t.pid
    assert main["frames"][0]["file"].endswith("selectors.py")
    assert sorted(x["name"] or "" for x in truth["tasks"]) == ["", "idler"]
    assert truth["main_task"] in [x["id"] for x in truth["tasks"] if x["default_name"]]


def test_asyncio_basic(row, start_target):
    t = start_target(row, "asyncio_basic.py")
    truth = t.truth
    check_common(t, row)
    assert truth["problems"] == []
    tasks = {x["name"]: x for x in truth["tasks"] if x["name"]}
    for name in ["tg-parent", "tg-child-0", "gather-parent", "gather-child-0", "await-outer",
                 "await-middle", "await-inner", "shield-parent", "shield-child", "waitfor-parent",
                 "waitfor-child", "timeout-waiter", "lock-holder", "lock-waiter", "queue-getter",
                 "event-waiter", "agen-consumer", "thread-main", "thread-worker", "cycle-a", "cycle-b",
                 "cancel-requested", "cancel-unstarted", "cancel-handling", "cancel-uncancelled",
                 "cancel-finished", "tg-abort-parent", "tg-abort-failer", "tg-abort-slow-0"]:
        assert name in tasks, name
    if row.minor >= (3, 12):
        assert "eager-waiter" in tasks
    assert tasks["cancel-requested"]["cancelling"] == 1 and tasks["cancel-requested"]["state"] == "pending"
    assert tasks["cancel-unstarted"]["must_cancel"] is True
    assert tasks["cancel-handling"]["cancelling"] == 1
    assert tasks["cancel-uncancelled"]["cancelling"] == 0
    assert tasks["cancel-finished"]["state"] == "cancelled"
    assert tasks["tg-abort-failer"]["state"] == "finished"
    assert tasks["tg-abort-slow-0"]["cancelling"] == 1
    assert tasks["tg-abort-parent"]["cancelling"] >= 1
    assert tasks["thread-main"]["thread"] != t.pid
