# SPDX-License-Identifier: MIT
"""Await edges that no task field names (issue 15), on every interpreter of the matrix, live
and on a gcore core of the same process: targets/asyncio_edges.py builds asyncio.wait,
as_completed, gather after a failure, wait_for(fut, 0), an async generator, a TaskGroup
parent busy in its body, done-callbacks of user code (functools.partial, a bound method),
AnyIO task groups (host awaiting in the body, in the group's exit, in tg.start(), a child in
its own CancelScope) and, on 3.12+, an eager task in its first step, and declares for every
named task the exact set of tasks that await it.

The answers where CPython 3.14's own graph has had bugs (peers-2026-12.md):
- as_completed (gh-156523): the children are awaited by the task iterating.
- gather after a failure (gh-157213): the child still running is awaited by nobody (the
  parent caught the error and waits elsewhere).
- wait_for(fut, 0) (gh-157058): the child, cancelled and handling it, is awaited by the
  task in wait_for.
- eager tasks (gh-157299): during its first step, awaited by the task that created it,
  whose stack is then where it is (inside create_task), down to its coroutine.
- async generators (gh-156980): the stack goes through the generator's frame.
On 3.14+, `python -m asyncio pstree` on the same process nests the children under the same
parents for the edges CPython records itself.

AnyIO: Debian bookworm's python3-anyio (3.6) on the host's 3.11 and the sid root's (4.x) on
3.13-3.15; the pyenv interpreters have no AnyIO and skip those tasks (said per test).
"""
import os
import shutil
import subprocess
import time

import pytest

import helpers
from helpers import aiodbg, aiodbg_json

KINDS = ["live", "core"]


@pytest.fixture(scope="module")
def target(row):
    t = helpers.launch_or_fail(row, "asyncio_edges.py", timeout=90)
    assert not t.truth["problems"], t.truth["problems"]
    yield t
    t.kill()


@pytest.fixture(scope="module")
def docs(target, core):
    return {
        "live": aiodbg_json("attach", target.pid, "-c", "tasks --json"),
        "core": aiodbg_json(*helpers.core_args(core), "-c", "tasks --json"),
    }


def src(target, core, kind):
    return ["attach", target.pid] if kind == "live" else helpers.core_args(core)


def minor(target):
    return int(target.truth["version"].split(".")[1])


def frames(stack):
    return [[f["function"], f["file"], f["line"]] for f in stack]


def names_by_id(target):
    return {t["id"]: t["name"] or "<main>" for t in target.truth["tasks"]}


def truth_named(target):
    return {t["name"]: t for t in target.truth["tasks"] if t["name"]}


def has_anyio(row):
    """Rows whose interpreter sees a Debian python3-anyio: the host's /usr/bin/python3.11
    (bookworm), the sid root's interpreters, and the free-threaded 3.13t (the sid root's,
    linked by tests/env/ft-packages.sh)."""
    return row.name.startswith(("debian-", "sid-", "ft-"))


@pytest.mark.parametrize("kind", KINDS)
def test_awaited_by_exact(target, docs, kind):
    """Every pending task's awaiters are exactly the declared ones (none for the parents,
    the main task, gf-child)."""
    got = {t["id"]: t for t in docs[kind]["tasks"]}
    name = names_by_id(target)
    checked = 0
    for want in target.truth["tasks"]:
        if want["state"] != "pending":
            continue
        assert want["id"] in got, f"task {want['name']} not found"
        have = sorted(name.get(i, i) for i in got[want["id"]]["awaited_by"])
        assert have == want["awaited_by_declared"], want["name"] or "<main>"
        checked += 1
    assert checked >= (29 if target.truth["anyio"] else 21)


@pytest.mark.parametrize("kind", KINDS)
def test_waiter_stacks_exact(target, docs, kind):
    """The stacks, innermost first, exactly as the target's own coroutine chains: the
    waiters inside wait()/_wait, as_completed's _wait_for_one/Queue.get, _cancel_and_wait,
    the async generator's frame, TaskGroup.start; the children in leaf()."""
    got = {t["id"]: t for t in docs[kind]["tasks"]}
    for want in target.truth["tasks"]:
        if want["state"] != "pending" or want["name"] in ("eager-parent", "eager-child"):
            continue
        assert frames(got[want["id"]]["stack"]) == frames(want["stack"]), want["name"]
    named = {t["name"]: t for t in docs[kind]["tasks"]}
    fn = lambda n: [f["function"] for f in named[n]["stack"]]
    assert fn("wait-parent") == ["_wait", "wait", "wait_parent"]
    assert fn("agen-parent") == ["_wait", "wait", "agen_wait", "agen_parent"]
    assert fn("wf0-parent") == ["_cancel_and_wait", "wait_for", "wf0_parent"]


@pytest.mark.parametrize("kind", KINDS)
def test_eager_first_step(row, target, docs, kind):
    """3.12+: the eager task is running its first step (it wrote the truth from there) and
    is awaited by eager-parent, whose stack runs from inside TaskGroup.create_task down to
    its coroutine's frame."""
    if minor(target) < 12:
        assert not target.truth["eager"]
        pytest.skip("eager tasks exist from 3.12 on")
    assert target.truth["eager"]
    want = truth_named(target)
    named = {t["name"]: t for t in docs[kind]["tasks"]}
    child, parent = named["eager-child"], named["eager-parent"]
    assert child["running"] is True
    assert child["awaited_by"] == [want["eager-parent"]["id"]]
    assert child["stack"][0]["function"] == "block_forever"
    assert frames(child["stack"][-1:]) == frames(want["eager-child"]["stack"])[-1:]
    assert parent["running"] is False and parent["awaited_by"] == []
    assert frames(parent["stack"][-1:]) == frames(want["eager-parent"]["stack"])
    fns = [f["function"] for f in parent["stack"]]
    assert "TaskGroup.create_task" in fns and fns.index("TaskGroup.create_task") == len(fns) - 2


@pytest.mark.parametrize("kind", KINDS)
def test_anyio_groups(row, target, docs, kind):
    """AnyIO task-group children are awaited by the host task from creation on: with the
    host busy in the group's body (as Starlette's BaseHTTPMiddleware's request task is),
    in the group's exit, in tg.start(), and with the child inside a CancelScope of its own."""
    version = target.truth["anyio"]
    if not has_anyio(row):
        assert version is None
        pytest.skip(f"{row.name}: no AnyIO for this interpreter (Debian's is not on its path)")
    assert version, f"{row.name}: python3-anyio missing (tests/env/deps.sh installs it)"
    assert version.split(".")[0] == ("3" if row.name.startswith("debian-") else "4"), version
    got = {t["name"]: t for t in docs[kind]["tasks"]}
    want = truth_named(target)
    for host, children in (("anyio-body-host", ["anyio-body-child"]),
                           ("anyio-exit-host", ["anyio-exit-child-0", "anyio-exit-child-1"]),
                           ("anyio-start-host", ["anyio-start-child"]),
                           ("anyio-scope-host", ["anyio-scope-child"])):
        for c in children:
            assert got[c]["awaited_by"] == [want[host]["id"]], (c, host)
    body = got["anyio-body-host"]
    assert [f["function"] for f in body["stack"]] == ["Event.wait", "anyio_body_host"]


@pytest.mark.parametrize("kind", KINDS)
def test_tree_nests_children(target, core, kind):
    """`tree` draws every declared child under its parent, one level deeper."""
    r = aiodbg(*src(target, core, kind), "-c", "tree")
    assert r.rc == 0, r.err
    lines = r.out.splitlines()

    def at(name):
        hits = [i for i, l in enumerate(lines) if f"(T) {name} " in l]
        assert len(hits) == 1, (name, hits)
        return hits[0], lines[hits[0]].index("(T)")

    pairs = [(p, t["name"]) for t in target.truth["tasks"] if t["state"] == "pending"
             for p in t["awaited_by_declared"]]
    assert len(pairs) == 10 + (5 if target.truth["anyio"] else 0) + (1 if target.truth["eager"] else 0)
    for parent, child in pairs:
        (pi, pcol), (ci, ccol) = at(parent), at(child)
        assert ci > pi and ccol == pcol + 4, (parent, child, lines[pi], lines[ci])
        # nothing in between sits at the parent's level or above
        assert all("(T)" not in l or l.index("(T)") > pcol for l in lines[pi + 1:ci]), (parent, child)
    assert "(T) gf-child " in r.out
    gf_line, gf_col = at("gf-child")
    assert gf_col == 0, lines[gf_line]


# Pairs CPython 3.14.10 records itself (the others are derived only by aiodbg).
CPYTHON_RECORDS = [("wait-parent", "wait-child-0"), ("wait-parent", "wait-child-1"),
                   ("ac-parent", "ac-child-0"), ("wf0-parent", "wf0-child"),
                   ("agen-parent", "agen-child"), ("tg-body-parent", "tg-body-child")]
ANYIO_RECORDS = [("anyio-body-host", "anyio-body-child"), ("anyio-exit-host", "anyio-exit-child-0")]


def pstree_children(text):
    """{task name: set of the task names nested under it} from pstree's drawing."""
    rows = [(l.index("(T) "), l[l.index("(T) ") + 4:].split(" ")[0]) for l in text.splitlines()
            if "(T) " in l]
    out = {}
    for i, (col, name) in enumerate(rows):
        kids = out.setdefault(name, set())
        for col2, name2 in rows[i + 1:]:
            if col2 <= col:
                break
            kids.add(name2)
    return out


def test_agrees_with_cpython_pstree(row, target):
    """3.14+: CPython's `python -m asyncio pstree` nests the same children under the same
    parents, for the edges it records."""
    if minor(target) < 14:
        pytest.skip("python -m asyncio pstree exists from 3.14 on")
    p = subprocess.run(row.cmd("-m", "asyncio", "pstree", str(target.pid)),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    theirs = pstree_children(p.stdout)
    ours = {t["name"]: t for t in aiodbg_json("attach", target.pid, "-c", "tasks --json")["tasks"]}
    want = truth_named(target)
    pairs = CPYTHON_RECORDS + (ANYIO_RECORDS if target.truth["anyio"] else [])
    for parent, child in pairs:
        assert child in theirs.get(parent, set()), (parent, child, p.stdout[-3000:])
        assert want[parent]["id"] in ours[child]["awaited_by"], (parent, child)


def test_crawler_example(row):
    """examples/crawler.py (the README's example): crawl awaits its fetches through
    asyncio.wait, fastest its mirrors through as_completed, main both through gather, on
    every row, live; its tree is drawn that way."""
    host_dir, inside_dir = helpers.SESSION.targets_dir(row.root)
    shutil.copy(os.path.join(helpers.TOP, "examples", "crawler.py"), host_dir)
    ready = f"ready-crawler-{row.name}"
    if os.path.exists(os.path.join(host_dir, ready)):
        os.unlink(os.path.join(host_dir, ready))
    proc = subprocess.Popen(row.cmd("-B", "-E", "-s", f"{inside_dir}/crawler.py",
                                    f"{inside_dir}/{ready}"),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=helpers.TARGET_ENV,
                            start_new_session=True)
    try:
        path = os.path.join(host_dir, ready)
        deadline = time.monotonic() + 60
        while not (os.path.exists(path) and open(path).read().endswith("\n")):
            assert proc.poll() is None and time.monotonic() < deadline, "crawler did not start"
            time.sleep(0.05)
        assert helpers.wait_quiescent(proc.pid) is None
        doc = aiodbg_json("attach", proc.pid, "-c", "tasks --json")
        by_id = {t["id"]: t["name"] for t in doc["tasks"]}
        awaited = {t["name"]: sorted(by_id[i] for i in t["awaited_by"]) for t in doc["tasks"]}
        main = next(t["name"] for t in doc["tasks"] if t["coro"] == "main")
        assert awaited == {main: [], "crawl": [main], "fastest": [main],
                           "fetch a.example": ["crawl"], "fetch b.example": ["crawl"],
                           "mirror m1.example": ["fastest"], "mirror m2.example": ["fastest"]}
        r = aiodbg("attach", proc.pid, "-c", "tree")
        assert r.rc == 0, r.err
        lines = [l for l in r.out.splitlines() if "(T) " in l]
        assert lines[0].startswith(f"(T) {main} ")
        col = {l[l.index("(T) ") + 4:].rsplit(" 0x", 1)[0]: l.index("(T)") for l in lines}
        assert col["crawl"] == col["fastest"] == 4
        assert {col[n] for n in col if n.startswith(("fetch", "mirror"))} == {8}
    finally:
        proc.kill()
        proc.wait()
        if os.path.exists(os.path.join(host_dir, ready)):
            os.unlink(os.path.join(host_dir, ready))
