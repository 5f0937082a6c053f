# SPDX-License-Identifier: MIT
"""Trio (issue 16): on every interpreter of the matrix that has Trio, live and on a gcore
core of the same process, the exact tasks of targets/trio_basic.py (which writes its own
ground truth before it blocks): names, coroutine stacks (function, file, line), the nursery
tree (parent task, parent nursery, child nurseries), each task's cancel-scope chain (scope
ids, deadlines, shield, cancel_called, cancelled_caught, which scope a cancellation comes
from), what each task waits on, and the deadlock through two trio.Locks.

Rows whose interpreter cannot import trio are skipped, saying so: Debian's python3-trio
(0.22) serves the host's python3.11, sid's (0.34) the sid root's 3.13-3.15; a pyenv build
sees neither (only what was installed into it).
"""
import subprocess

import pytest

import helpers
from helpers import aiodbg, aiodbg_json

KINDS = ["live", "core"]


def has_trio(row):
    p = subprocess.run(row.cmd("-c", "import trio"), capture_output=True, text=True, timeout=60)
    return p.returncode == 0


@pytest.fixture(scope="module")
def target(row):
    if not has_trio(row):
        pytest.skip(f"{row.name}: this interpreter cannot import trio (no Trio installed for it)")
    t = helpers.launch_or_fail(row, "trio_basic.py", timeout=90)
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


def trio_tasks(doc):
    return {t["id"]: t for t in doc["tasks"] if t.get("runtime") == "trio"}


def by_name(target):
    return {t["name"]: t for t in target.truth["tasks"]}


def got_by_name(doc, runner):
    """The tasks of one run by name (each run has its own <init>)."""
    return {t["name"]: t for t in trio_tasks(doc).values() if t["loop"] == runner}


def new_trio(target):
    return tuple(int(x) for x in target.truth["trio"].split(".")[:2]) >= (0, 28)


@pytest.mark.parametrize("kind", KINDS)
def test_every_task_exact(target, docs, kind):
    got = trio_tasks(docs[kind])
    want = {t["id"]: t for t in target.truth["tasks"]}
    assert set(got) == set(want), "the Trio tasks found are not the run's"
    for tid, w in want.items():
        t = got[tid]
        assert t["name"] == w["name"]
        assert t["state"] == "pending"
        assert t["loop"] == w["runner"], w["name"]
        assert t["trio"]["runner"] == w["runner"], w["name"]
        assert t["thread"] == w["tid"], w["name"]
        assert t["coro"] == w["coro"], w["name"]
        assert t["running"] is w["running"], w["name"]
        assert frames(t["stack"]) == frames(w["stack"]), w["name"]
    # one run per thread: the main thread's and trio-thread's
    runners = sorted([lp for lp in docs[kind]["loops"] if lp["type"] == "Runner"],
                     key=lambda lp: lp["thread"] != target.pid)
    assert runners == [
        {"id": target.truth["runner"], "thread": target.pid, "type": "Runner", "running": True},
        {"id": target.truth["thread"]["runner"], "thread": target.truth["thread"]["tid"],
         "type": "Runner", "running": True}]
    assert target.truth["thread"]["tid"] != target.pid


@pytest.mark.parametrize("kind", KINDS)
def test_second_run_running_task(target, docs, kind):
    """trio-thread's run: thread-stall is running (it blocks the thread in time.sleep), so
    its stack is the thread's, down to its coroutine; the others wait as usual."""
    named = got_by_name(docs[kind], target.truth["thread"]["runner"])
    stall = named["thread-stall"]
    assert stall["running"] is True
    assert stall["waiting_on"] is None
    assert [f["function"] for f in stall["stack"]] == ["stall", "thread_stall"]
    assert named["thread-sleeper"]["waiting_on"]["what"] == "sleep"
    assert named[target.truth["thread"]["main"]]["waiting_on"]["what"] == "Event.wait"
    assert named["<init>"]["trio"]["parent_task"] is None
    assert stall["trio"]["parent_task"] == named[target.truth["thread"]["main"]]["id"]


@pytest.mark.parametrize("kind", KINDS)
def test_nursery_tree(target, docs, kind):
    got = trio_tasks(docs[kind])
    for w in target.truth["tasks"]:
        t = got[w["id"]]
        assert t["trio"]["parent_task"] == w["parent"], w["name"]
        assert t["trio"]["parent_nursery"] == w["nursery"], w["name"]
        assert t["trio"]["child_nurseries"] == w["child_nurseries"], w["name"]
        assert t["awaited_by"] == ([w["parent"]] if w["parent"] else []), w["name"]
    names = {t["id"]: t["name"] for t in target.truth["tasks"]}
    parent = {t["name"]: names.get(t["parent"]) for t in target.truth["tasks"]
              if t["runner"] == target.truth["runner"]}
    main = target.truth["main"]
    # The nesting the program built, spelled out.
    assert parent["deepest"] == "deep" and parent["deep"] == "group"
    assert parent["leaf-0"] == "group" and parent["group"] == main
    assert parent[main] == "<init>" and parent["<init>"] is None
    for n in ("shielded", "deadline-stuck", "cancel-stuck", "receiver", "sender", "sleeper",
              "lock-a-b", "lock-b-a"):
        assert parent[n] == main, n


@pytest.mark.parametrize("kind", KINDS)
def test_cancel_scopes(target, docs, kind):
    got = trio_tasks(docs[kind])
    for w in target.truth["tasks"]:
        t = got[w["id"]]["trio"]
        assert len(t["cancel_scopes"]) == len(w["scopes"]), w["name"]
        for gs, ws in zip(t["cancel_scopes"], w["scopes"]):
            assert gs["id"] == ws["id"], w["name"]
            assert gs["deadline"] == ws["deadline"], w["name"]
            for k in ("shield", "cancel_called", "cancelled_caught", "effectively_cancelled"):
                assert gs[k] is ws[k], (w["name"], k)
        # the run's clock: live, read now; a core knows when the loop last woke
        assert t["now_source"] == ("clock" if kind == "live" else "last wake"), w["name"]
        if w["runner"] != target.truth["runner"]:
            continue  # another run, another clock (each SystemClock has its own offset)
        # (the loop's last wake came before main computed the truth)
        diff = t["now"] - target.truth["now"]
        assert (0 <= diff < 600) if kind == "live" else (-60 < diff <= 0), (w["name"], diff)
    named = got_by_name(docs[kind], target.truth["runner"])

    def scopes(name):
        return named[name]["trio"]["cancel_scopes"]

    # fail_after(3600) around the receive: a deadline about an hour away
    left = scopes("receiver")[0]["deadline_left"]
    assert 3000 < left <= 3600, left
    assert 3000 < scopes("sleeper")[0]["deadline_left"] <= 3600
    assert named["receiver"]["cancelling"] is False
    # deadline passed, the task cannot be aborted: being cancelled by that scope
    dl = named["deadline-stuck"]
    assert dl["cancelling"] is True
    assert dl["trio"]["cancelled_by"] == scopes("deadline-stuck")[0]["id"]
    assert -600 < scopes("deadline-stuck")[0]["deadline_left"] < 0
    assert scopes("deadline-stuck")[0]["cancel_source"] == "deadline"
    # cancel() by main
    cs = named["cancel-stuck"]
    assert cs["cancelling"] is True
    assert cs["trio"]["cancelled_by"] == scopes("cancel-stuck")[0]["id"]
    if new_trio(target):
        assert scopes("cancel-stuck")[0]["cancel_source"] == "explicit"
        assert scopes("cancel-stuck")[0]["cancel_reason"] == "stop now"
        assert cs["cancel"]["message"] == "stop now"
    else:
        assert scopes("cancel-stuck")[0]["cancel_source"] is None
    # shielded: the outer scope's deadline passed, the shield holds it off
    sh = named["shielded"]
    assert sh["cancelling"] is False
    assert sh["trio"]["cancelled_by"] is None
    assert sh["trio"]["shielded_by"] == scopes("shielded")[0]["id"]
    assert scopes("shielded")[0]["shield"] is True
    assert scopes("shielded")[1]["cancel_called"] is True
    assert -600 < scopes("shielded")[1]["deadline_left"] < 0
    # the nursery scopes are named as such
    main = named[target.truth["main"]]
    nursery = main["trio"]["child_nurseries"][0]
    assert scopes("sleeper")[1]["nursery"] == nursery
    assert all(not t["cancelling"] for n, t in named.items()
               if n not in ("deadline-stuck", "cancel-stuck"))


@pytest.mark.parametrize("kind", KINDS)
def test_waiting_on_and_lock_deadlock(target, docs, kind):
    named = got_by_name(docs[kind], target.truth["runner"])
    what = {n: (t["waiting_on"] or {}).get("what") for n, t in named.items()}
    assert what["leaf-0"] == what["deepest"] == what["shielded"] == "Event.wait"
    assert what[target.truth["main"]] == "Event.wait"
    assert what["group"] == what["deep"] == what["<init>"] == "nursery"
    assert what["receiver"] == "MemoryReceiveChannel.receive"
    assert what["sender"] == "MemorySendChannel.send"
    assert what["sleeper"] == "sleep"
    assert what["deadline-stuck"] == what["cancel-stuck"] == "wait_task_rescheduled"
    assert what["<TrioToken.run_sync_soon task>"] == "wait_readable"
    a, b = named["lock-a-b"], named["lock-b-a"]
    assert what["lock-a-b"] == what["lock-b-a"] == "Lock.acquire"
    assert a["waiting_on"]["type"] == "Lock"
    assert a["trio"]["lock_owner"] == b["id"] and b["trio"]["lock_owner"] == a["id"]
    assert a["waiting_on"]["id"] != b["waiting_on"]["id"]
    assert sorted(map(sorted, docs[kind]["cycles"])) == [sorted([a["id"], b["id"]])]
    for n, t in named.items():
        if n not in ("lock-a-b", "lock-b-a"):
            assert t["trio"]["lock_owner"] is None, n


@pytest.mark.parametrize("kind", KINDS)
def test_text_commands(target, core, kind):
    args = ["attach", target.pid] if kind == "live" else helpers.core_args(core)
    lines = target.truth["lines"]
    script = target.truth["script"]
    r = aiodbg(*args, "-c", "tasks", "-c", "tree", "-c", "task deadline-stuck", "-c",
               "task shielded", "-c", "bt")
    assert r.rc == 0, r.err
    out = r.out
    # tasks: where the program called into Trio, what it waits on, the cancel state
    row = [ln for ln in out.splitlines() if " receiver " in ln][0]
    assert "MemoryReceiveChannel.…" in row or "MemoryReceiveChannel.receive" in row
    assert f"receiver trio_basic.py:{lines['RECEIVER']}" in row
    assert "deadline 3" in row
    row = [ln for ln in out.splitlines() if " deadline-stuck " in ln][0]
    assert "cancel(deadline)" in row
    # tree: the nursery tree, the lock holders
    assert "│   ├── (T) leaf-0 " in out and "│   └── (T) deep " in out
    assert "│       └── (T) deepest " in out
    assert "awaiting Lock.acquire held by lock-b-a" in out
    assert "awaiting Lock.acquire held by lock-a-b" in out
    assert "cycle: lock-" in out
    # task: the scope chain, where the cancellation comes from
    assert "  runtime:    trio, run " + target.truth["runner"] in out
    assert "<- the task's cancellation comes from here" in out
    assert " shield  <- holds off an outer cancellation" in out
    assert f"    deadline_stuck ({script}:{lines['DEADLINE-STUCK']})" in out


def test_no_trio_no_tasks(row, start_target):
    """A program without Trio shows no Trio task (and the asyncio ones as before)."""
    t = start_target(row, "asyncio_idle.py")
    doc = aiodbg_json("attach", t.pid, "-c", "tasks --json")
    assert not [x for x in doc["tasks"] if x.get("runtime") == "trio"]
