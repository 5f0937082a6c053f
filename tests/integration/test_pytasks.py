# SPDX-License-Identifier: MIT
"""Pure-Python tasks (issue 4): asyncio.tasks._PyTask objects, made by a task factory in
targets/asyncio_pytasks.py, on every interpreter of the matrix, live and on a gcore core.
They live in asyncio.tasks' registries on every version (3.14+ too: _py_register_task),
keep their fields as attributes (Future's defaults are class attributes), and await and
are awaited by native tasks.

CPython's own view differs on 3.14+: asyncio.all_tasks() (the C version) leaves pure-Python
tasks out (only asyncio.tasks._py_all_tasks() lists them), so the target hands its tasks
to the truth explicitly, and the truth records in_all_tasks; aiodbg finds them anyway."""

import pytest

import helpers
from helpers import aiodbg, aiodbg_json


@pytest.fixture(scope="module")
def target(row):
    t = helpers.launch_or_fail(row, "asyncio_pytasks.py", timeout=90)
    assert not t.truth["problems"], t.truth["problems"]
    yield t
    t.kill()


@pytest.fixture(scope="module")
def docs(target, core):
    return {
        "live": aiodbg_json("attach", target.pid, "-c", "tasks --json"),
        "core": aiodbg_json(*helpers.core_args(core), "-c", "tasks --json"),
    }


def frames(stack):
    return [[f["function"], f["file"], f["line"]] for f in stack]


KINDS = ["live", "core"]
NAMED = ["native-on-py", "py-cancelling", "py-parent", "py-waiter"]


@pytest.mark.parametrize("kind", KINDS)
def test_pure_python_tasks_found_exactly(target, docs, kind):
    got = {t["id"]: t for t in docs[kind]["tasks"]}
    want = {t["id"]: t for t in target.truth["tasks"]}
    assert set(got) == set(want), (sorted(got), sorted(want))
    minor = int(target.truth["version"].split(".")[1])
    for w in want.values():  # the CPython limitation of the module docstring
        if w["name"] and w["name"].startswith("py-"):
            assert w["in_all_tasks"] == (minor < 14), w["name"]
    assert sorted(t["name"] for t in target.truth["tasks"] if t["name"]) == NAMED
    assert not docs[kind].get("warnings"), docs[kind]["warnings"]
    for tid, w in want.items():
        g = got[tid]
        if w["name"]:
            assert g["name"] == w["name"]
        assert g["state"] == w["state"] == "pending", w["name"]
        assert g["coro"] == w["coro"], w["name"]
        assert frames(g["stack"]) == frames(w["stack"]), w["name"]
        assert g["loop"] == w["loop"] and g["thread"] == w["thread"], w["name"]


@pytest.mark.parametrize("kind", KINDS)
def test_pure_python_cancellation(target, docs, kind):
    w = next(t for t in target.truth["tasks"] if t["name"] == "py-cancelling")
    g = next(t for t in docs[kind]["tasks"] if t["name"] == "py-cancelling")
    # cancel("stop now") went to the future it waited on (Task.cancel), so the task's own
    # _cancel_message stays None, in both Task implementations.
    assert w["cancelling"] == 1 and not w["must_cancel"], w
    assert g["cancelling"] is True
    assert g["cancel"] == {"requested": False, "count": 1, "message": w["cancel_message"]}
    others = [t for t in docs[kind]["tasks"] if t["name"] != "py-cancelling"]
    assert not any(t["cancelling"] or t["cancel"]["count"] for t in others)


@pytest.mark.parametrize("kind", KINDS)
def test_edges_between_native_and_pure_python_tasks(target, docs, kind):
    got = {t["id"]: t for t in docs[kind]["tasks"]}
    ids = {t["name"]: t["id"] for t in target.truth["tasks"] if t["name"]}
    main = target.truth["main_task"]
    assert set(got[ids["py-waiter"]]["awaited_by"]) == {ids["py-parent"], ids["native-on-py"]}
    assert got[ids["py-parent"]]["awaited_by"] == [main]
    for name, awaited in (("py-parent", "py-waiter"), ("native-on-py", "py-waiter")):
        assert got[ids[name]]["waiting_on"]["task"] == ids[awaited], name
    assert got[main]["waiting_on"]["task"] == ids["py-parent"]
    assert got[ids["py-waiter"]]["waiting_on"]["what"] == "Event.wait"
    assert got[ids["py-waiter"]]["waiting_on"]["task"] is None
    for w in target.truth["tasks"]:
        if "awaited_by" in w:  # 3.14+: what CPython itself recorded
            assert set(w["awaited_by"]) <= set(got[w["id"]]["awaited_by"]), w["name"]


@pytest.mark.parametrize("kind", KINDS)
def test_tree_of_mixed_tasks(target, core, kind):
    args = ["attach", target.pid] if kind == "live" else helpers.core_args(core)
    r = aiodbg(*args, "-c", "tree")
    assert r.rc == 0, r.err
    lines = [line for line in r.out.splitlines() if "(T)" in line]
    # py-waiter appears under both of its waiters; py-parent under main.
    assert sum("py-waiter" in line for line in lines) == 2, r.out
    assert any(line.startswith("└── (T) py-parent") for line in lines), r.out
