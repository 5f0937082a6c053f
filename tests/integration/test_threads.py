# SPDX-License-Identifier: MIT
"""`threads` and `bt` (issue 3): on every interpreter of the matrix, live and on a gcore core
of the same process, the exact function names, files and line numbers of five threads
blocked in known places (targets/threads_sleep.py computes the truth itself): a three-deep
call chain in time.sleep, a lock waiter, a non-ASCII function and thread name, a coroutine
and a generator frame driven by hand, and a recursion 1000 deep."""

import pytest

import helpers
from helpers import aiodbg, aiodbg_json


@pytest.fixture(scope="module")
def target(row):
    try:
        t = helpers.launch(row, "threads_sleep.py")
    except helpers.TargetError as e:
        pytest.fail(str(e), pytrace=False)
    assert not t.truth["problems"], t.truth["problems"]
    yield t
    t.kill()


def source(target, kind, core):
    return ["attach", str(target.pid)] if kind == "live" else helpers.core_args(core)


def frames(thread):
    return [[f["function"], f["file"], f["line"]] for f in thread["frames"]]


@pytest.mark.parametrize("kind", ["live", "core"])
def test_bt_json_exact_stacks(target, core, kind):
    doc = aiodbg_json(*source(target, kind, core), "-c", "bt --json")
    truth = target.truth
    got = {t["tid"]: t for t in doc["threads"]}
    assert len(doc["threads"]) == truth["thread_count"] == 5
    for want in truth["threads"]:
        t = got[want["tid"]]
        assert t["name"] == want["name"]
        assert t["main"] is want["main"]
        exp = truth["expect"][want["name"]]
        assert frames(t)[: len(exp)] == exp, want["name"]
        # The whole stack is what the target itself saw, frame for frame.
        assert frames(t) == [[f["function"], f["file"], f["line"]] for f in want["frames"]]
        assert all(f["kind"] == "python" for f in t["frames"])
    assert "warnings" not in doc, doc.get("warnings")


@pytest.mark.parametrize("kind", ["live", "core"])
def test_deep_recursion_and_cap(target, core, kind):
    truth = target.truth
    deep = next(t for t in truth["threads"] if t["name"] == "deep")
    doc = aiodbg_json(*source(target, kind, core), "-c", f"bt {deep['tid']} --json")
    (t,) = doc["threads"]
    recursing = [f for f in t["frames"] if f["function"] == "recurse"]
    assert len(recursing) == truth["deep"] == 1000
    # A walk cut by the cap says so, and keeps the innermost frames.
    doc = aiodbg_json(*source(target, kind, core), "-c",
                      f"bt {deep['tid']} --max-frames 100 --json")
    (t,) = doc["threads"]
    assert len(t["frames"]) == 100
    assert frames(t)[:100] == truth["expect"]["deep"][:100]
    assert any("cut at 100 frames" in w for w in doc["warnings"]), doc.get("warnings")


@pytest.mark.parametrize("kind", ["live", "core"])
def test_threads_table(target, core, kind):
    r = aiodbg(*source(target, kind, core), "-c", "threads")
    assert r.rc == 0, r.err
    truth = target.truth
    lines = r.out.splitlines()
    assert lines[0].split()[:4] == ["TID", "NAME", "MAIN", "GIL"]
    for want in truth["threads"]:
        row = next(l for l in lines[1:] if l.split()[0] == str(want["tid"]))
        fn, path, line = truth["expect"][want["name"]][0]
        assert want["name"] in row
        assert f"{fn} ({path}:{line})" in row
    doc = aiodbg_json(*source(target, kind, core), "-c", "threads --json")
    names = {t["tid"]: t["name"] for t in doc["threads"]}
    assert names == {t["tid"]: t["name"] for t in truth["threads"]}
    mains = [t["tid"] for t in doc["threads"] if t["main"]]
    assert mains == [t["tid"] for t in truth["threads"] if t["main"]]


@pytest.mark.parametrize("kind", ["live", "core"])
def test_bt_text_is_a_traceback(target, core, kind):
    truth = target.truth
    main = next(t for t in truth["threads"] if t["main"])
    r = aiodbg(*source(target, kind, core), "-c", f"bt {main['tid']}")
    assert r.rc == 0, r.err
    body = [l.strip() for l in r.out.splitlines()[2:]]
    # Outermost first, like a Python traceback.
    want = [f"{fn} ({path}:{line})" for fn, path, line in reversed(truth["expect"]["MainThread"])]
    assert body[-len(want):] == want


def test_bt_unknown_thread_fails(target):
    r = aiodbg("attach", str(target.pid), "-c", "bt 1")
    assert r.rc == 1
    assert "no Python thread 1" in r.err
