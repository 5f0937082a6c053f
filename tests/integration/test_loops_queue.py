# SPDX-License-Identifier: MIT
"""Loops in several threads (issue 17, the free-threaded "loop per thread" design; run on
every interpreter of the matrix): targets/loops_queue.py feeds three worker threads through a
queue.Queue, each runs its own loop with a TaskGroup of two tasks. Live and on a core, every
loop is listed with its thread and every task with its loop and thread; `await` on one
worker's task runs on that worker's loop and thread."""
import time

import pytest

import helpers
import test_live as tl
from helpers import aiodbg, aiodbg_json


@pytest.fixture(scope="module")
def target(row):
    t = helpers.launch_or_fail(row, "loops_queue.py")
    t.started = time.time()  # for test_live.clean
    yield t
    t.kill()


def source(target, kind, core):
    return ["attach", str(target.pid)] if kind == "live" else helpers.core_args(core)


@pytest.mark.parametrize("kind", ["live", "core"])
def test_every_loop_and_task_on_its_thread(target, core, kind):
    truth = target.truth
    doc = aiodbg_json(*source(target, kind, core), "-c", "tasks --json")
    loops = {lp["id"]: lp for lp in doc["loops"]}
    tasks = {t["id"]: t for t in doc["tasks"]}
    want_loops = {truth["main"]["loop"]: truth["main"]["thread"]}
    want_loops.update((w["loop"], w["thread"]) for w in truth["workers"])
    assert {k: v["thread"] for k, v in loops.items()} == want_loops
    assert all(lp["running"] for lp in loops.values())
    for w in truth["workers"]:
        for name, tid in w["tasks"].items():
            t = tasks[tid]
            assert (t["name"], t["loop"], t["thread"], t["coro"]) == \
                (name, w["loop"], w["thread"], "job")
            assert [t["stack"][1]["file"], t["stack"][1]["line"]] == \
                [truth["script"], truth["job_line"]]
        # The worker's TaskGroup parent awaits both of its tasks, on the same loop.
        parents = {tasks[tid]["awaited_by"][0] for tid in w["tasks"].values()}
        (parent,) = parents
        assert tasks[parent]["loop"] == w["loop"]
        assert tasks[parent]["thread"] == w["thread"]
    feeder = tasks[truth["main"]["feeder"]]
    assert (feeder["name"], feeder["loop"], feeder["thread"]) == \
        ("feeder", truth["main"]["loop"], truth["main"]["thread"])
    assert len(tasks) == 2 + 3 * len(truth["workers"])
    # threads and bt name each thread's running loop too.
    for cmd in ("threads --json", "bt --json"):
        threads = aiodbg_json(*source(target, kind, core), "-c", cmd)["threads"]
        assert {th["loop"]: th["tid"] for th in threads if th["loop"]} == want_loops, cmd
    # The text table names each worker task's thread too.
    r = aiodbg(*source(target, kind, core), "-c", "tasks")
    assert r.rc == 0, r.err
    for w in truth["workers"]:
        for name, tid in w["tasks"].items():
            (line,) = [ln for ln in r.out.splitlines() if ln.startswith(tid + " ")]
            assert line.split()[1] == name and str(w["thread"]) in line.split(), line


def test_await_on_a_chosen_threads_loop(target):
    truth = target.truth
    where = "hex(id(asyncio.get_running_loop())), threading.get_native_id()"
    cmds, want = [], []
    for w in reversed(truth["workers"]):
        name = sorted(w["tasks"])[0]
        cmds += ["-c", f"select {name}", "-c", f"await asyncio.sleep(0, ({where}))"]
        want += [f"task {w['tasks'][name]} ({name}), frame #1 of 2: job "
                 f"({truth['script']}:{truth['job_line']})",
                 repr((w["loop"], w["thread"]))]
    r = aiodbg("attach", str(target.pid), *cmds, timeout=120)
    assert r.rc == 0, r.err
    assert r.out.splitlines() == want
    tl.clean(target)
