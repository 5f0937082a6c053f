# SPDX-License-Identifier: MIT
"""`threads` and `bt` (issue 3): on every interpreter of the matrix, live and on a gcore core
of the same process, the exact function names, files and line numbers of five threads
blocked in known places (targets/threads_sleep.py computes the truth itself): a three-deep
call chain in time.sleep, a lock waiter, a non-ASCII function and thread name, a coroutine
and a generator frame driven by hand, and a recursion 1000 deep."""
import json
import os
import re

import pytest

import helpers
from helpers import aiodbg, aiodbg_json


@pytest.fixture(scope="module")
def target(row):
    t = helpers.launch_or_fail(row, "threads_sleep.py")
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
    # ... and says how many outer frames it left out (issue 14), in JSON and in text,
    # where they would be: before the outermost frame shown.
    assert t["frames_omitted"] == len(deep["frames"]) - 100
    r = aiodbg(*source(target, kind, core), "-c", f"bt {deep['tid']} --max-frames 100")
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    i = lines.index("Traceback (most recent call last):")
    assert lines[i + 1] == f"  … {len(deep['frames']) - 100} frames not shown …", lines[i:i + 3]
    # Whole, nothing is marked.
    doc = aiodbg_json(*source(target, kind, core), "-c", f"bt {deep['tid']} --json")
    assert "frames_omitted" not in doc["threads"][0]


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


# ---------------------------------------------------------------------------------------
# bt --native: native frames from libunwind (live: the frozen threads; cores: NT_PRSTATUS
# and the files the core names), merged with the Python frames at the eval-loop entries.

SLEEP_NATIVE = re.compile(r"sleep|select|poll")
# What lies outermost on a main thread, whatever the libc: _start, __libc_start_main, the
# interpreter's main; stripped builds name some of them "??" but not all.
OUTER_NATIVE = {"_start", "__libc_start_main", "__libc_start_call_main", "main",
                "Py_BytesMain", "Py_RunMain"}


def python_frames(thread):
    return [[f["function"], f["file"], f["line"]] for f in thread["frames"] if f["kind"] == "python"]


def check_native_shape(f):
    assert set(f) >= {"function", "file", "line", "kind", "pc"}, f
    assert f["kind"] == "native"
    assert f["function"] and isinstance(f["function"], str)
    assert re.fullmatch(r"0x[0-9a-f]+", f["pc"]), f
    assert f["line"] is None
    if "offset" in f:
        assert isinstance(f["offset"], int) and f["offset"] > 0 and f["function"] != "??"


@pytest.fixture(scope="module")
def native_docs(target, core):
    """bt --native --json, live and on the core (one run each, shared by the tests)."""
    return {kind: aiodbg_json(*source(target, kind, core), "-c", "bt --native --json")
            for kind in ("live", "core")}


@pytest.mark.parametrize("kind", ["live", "core"])
def test_bt_native_python_frames_exact(target, native_docs, kind):
    doc = native_docs[kind]
    truth = target.truth
    got = {t["tid"]: t for t in doc["threads"]}
    assert len(doc["threads"]) == truth["thread_count"]
    for want in truth["threads"]:
        t = got[want["tid"]]
        # Every Python frame, in order, exactly as the target saw them; none left over.
        assert python_frames(t) == [[f["function"], f["file"], f["line"]] for f in want["frames"]]
        for f in t["frames"]:
            if f["kind"] == "native":
                check_native_shape(f)
            else:
                assert set(f) == {"function", "file", "line", "kind"}, f
        # Native frames outermost (clone/_start) and innermost (the blocking call).
        assert t["frames"][0]["kind"] == "native", want["name"]
        assert t["frames"][-1]["kind"] == "native", want["name"]
    assert not [w for w in doc.get("warnings", []) if "eval-loop" in w or "native" in w], \
        doc.get("warnings")
    assert doc["target"]["kind"] == ("process" if kind == "live" else "core")


@pytest.mark.parametrize("kind", ["live", "core"])
def test_bt_native_main_thread(target, native_docs, kind):
    doc = native_docs[kind]
    main = next(t for t in doc["threads"] if t["main"])
    frames = main["frames"]
    names = [f["function"] if f["kind"] == "python" else None for f in frames]
    # <module> -> main -> a -> b -> c: Python calls Python without entering the eval loop
    # again (3.11+), so the five frames are one segment, innermost first, side by side.
    chain = ["c", "b", "a", "main", "<module>"]
    i = names.index("c")
    assert names[i:i + 5] == chain, names
    inner, outer = frames[:i], frames[i + 5:]
    assert inner and outer and all(f["kind"] == "native" for f in inner + outer)
    # Inside c: time.sleep's C code, then libc's sleep.
    assert any(SLEEP_NATIVE.search(f["function"]) for f in inner), [f["function"] for f in inner]
    # Right around the segment are frames of the interpreter (the eval loop's caller and
    # the callee of the CALL in c), not of libc: the segment sits where the eval loop was.
    assert "python" in os.path.basename(inner[-1]["file"] or ""), inner[-1]
    assert "python" in os.path.basename(outer[0]["file"] or ""), outer[0]
    # The eval loop that ran them is replaced by them, not kept beside them.
    assert not any(f["function"].startswith("_PyEval_EvalFrameDefault") for f in frames)
    assert OUTER_NATIVE & {f["function"] for f in outer[-4:]}, [f["function"] for f in outer]


@pytest.mark.parametrize("kind", ["live", "core"])
def test_bt_native_reentered_eval_loop(target, native_docs, kind):
    """gen-coro: drive -> coro.send() -> coro_body -> next(g) -> gen_sleep. send() and
    next() are C calls that enter the eval loop again: three segments, each with native
    frames between it and the next."""
    doc = native_docs[kind]
    tid = next(t["tid"] for t in target.truth["threads"] if t["name"] == "gen-coro")
    frames = next(t for t in doc["threads"] if t["tid"] == tid)["frames"]
    names = [f["function"] if f["kind"] == "python" else None for f in frames]
    g, c, d = names.index("gen_sleep"), names.index("coro_body"), names.index("drive")
    assert g < c < d
    assert any(n is None for n in names[g + 1:c]), names[:d + 1]
    assert any(n is None for n in names[c + 1:d]), names[:d + 1]
    assert any(SLEEP_NATIVE.search(f["function"]) for f in frames[:g]), frames[:g]


@pytest.mark.parametrize("kind", ["live", "core"])
def test_bt_native_text(target, core, kind):
    main = next(t for t in target.truth["threads"] if t["main"])
    r = aiodbg(*source(target, kind, core), "-c", f"bt {main['tid']} --native")
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    assert lines[1] == "Traceback (most recent call last):"
    body = [l.strip() for l in lines[2:] if l.startswith("  ")]
    want = [f"{fn} ({path}:{line})" for fn, path, line in reversed(target.truth["expect"]["MainThread"])]
    i = body.index(want[0])
    assert body[i:i + len(want)] == want
    # Native lines: "function+0xOFF (object file)" or "?? 0xPC (object file)".
    native = body[:i] + body[i + len(want):]
    assert native and all(re.fullmatch(r"(\?\? 0x[0-9a-f]+|\S+?(\+0x[0-9a-f]+)?) \(.+\)", l)
                          for l in native), native
    assert any(SLEEP_NATIVE.search(l) for l in body[i + len(want):]), body[i + len(want):]
    assert "warning" not in r.out


def test_bt_native_max_frames(target):
    deep = next(t for t in target.truth["threads"] if t["name"] == "deep")
    doc = aiodbg_json("attach", str(target.pid), "-c", f"bt {deep['tid']} --native --max-frames 50 --json")
    (t,) = doc["threads"]
    assert len(t["frames"]) == 50
    assert any("cut at 50 frames" in w for w in doc["warnings"]), doc.get("warnings")
    # The innermost frames: native (the lock wait), then the recursion.
    assert t["frames"][0]["kind"] == "native"
    assert [f["function"] for f in t["frames"] if f["kind"] == "python"][:3] == ["recurse"] * 3


def test_bt_native_core_files(target, core, tmp_path):
    """Unwinding a core reads the code and unwind tables of the files it names, found the
    way the core target finds them. A core made in the sid root names files as the root
    sees them: given only the executable, the libc it names is the host's, another build;
    the walk stops there and says which file is missing and what to pass, and the Python
    frames are all still shown. A host core finds its files where it says, whatever
    --sysroot adds."""
    if target.row.host:
        doc = aiodbg_json("core", core, "--sysroot", str(tmp_path), "-c", "bt --native --json")
        main = next(t for t in doc["threads"] if t["main"])
        assert any(SLEEP_NATIVE.search(f["function"]) for f in main["frames"])
        return
    exe = target.row.host_path(target.row.python)
    doc = aiodbg_json("core", core, exe, "-c", f"bt {target.pid} --native --json")
    (main,) = doc["threads"]
    assert python_frames(main) == [[f["function"], f["file"], f["line"]]
                                   for f in target.truth["threads"][0]["frames"]]
    stopped = [w for w in doc["warnings"] if "native stack incomplete" in w]
    assert stopped and "libc.so" in stopped[0] and "--sysroot" in stopped[0], doc["warnings"]


# A thread that only reads the clock is mostly inside the vDSO (time.monotonic() makes no
# system call): no file backs it, so its image and unwind table are read from memory.
# About half the stops land there on an idle machine (11 of 20 cores on sid-3.14); the
# loop ends at the first, so the bound only matters on a loaded one (an ASan run once
# missed 12 in a row).
VDSO_TRIES = {"live": 200, "core": 40}


@pytest.fixture(scope="module")
def spinner(row):
    t = helpers.launch_or_fail(row, "clock_spin.py", quiescent=False)
    yield t
    t.kill()


@pytest.mark.parametrize("kind", ["live", "core"])
def test_bt_native_through_the_vdso(spinner, gcore, kind):
    """Stopped in the vDSO, the walk goes on through it: the frames there are named from its
    own symbols ('[vdso]' as their file), and every Python frame and the native frames out
    to the thread's start follow, as for any other stop."""
    want = spinner.truth["spinner"]
    with open(f"/proc/{spinner.pid}/maps") as f:
        lo, hi = next(tuple(int(x, 16) for x in ln.split()[0].split("-"))
                      for ln in f if ln.rstrip().endswith("[vdso]"))
    for _ in range(VDSO_TRIES[kind]):
        args = ["attach", str(spinner.pid)] if kind == "live" else helpers.core_args(gcore(spinner.pid))
        doc = aiodbg_json(*args, "-c", f"bt {want['tid']} --native --json")
        (t,) = doc["threads"]
        if lo <= int(t["frames"][0].get("pc", "0x0"), 16) < hi:
            break
    else:
        pytest.fail(f"no snapshot of {VDSO_TRIES[kind]} stopped the spinner in the vDSO")
    vdso = [f for f in t["frames"] if lo <= int(f.get("pc", "0x0"), 16) < hi]
    assert all(f["file"] == "[vdso]" for f in vdso), vdso
    for f in t["frames"]:
        if f["kind"] == "native":
            check_native_shape(f)
    assert any(re.fullmatch(r"(__vdso_)?clock_gettime", f["function"]) for f in vdso), vdso
    assert python_frames(t) == [[f["function"], f["file"], f["line"]] for f in want["frames"]]
    # Out to the thread's start: native frames outside the vDSO, outermost native too.
    assert t["frames"][-1]["kind"] == "native" and t["frames"][-1]["file"] != "[vdso]"
    assert len([f for f in t["frames"] if f["kind"] == "native"]) > len(vdso) + 3
    assert not doc.get("warnings"), doc.get("warnings")


def test_agent_thread_is_marked(row, start_target):
    """Live control's agent runs on a thread of its own while its session lasts: `threads`
    names it aiodbg-agent and marks it ("agent": true) rather than showing `?` at a deleted
    /tmp file; it ends with the session, so the next session does not see it (issue 14)."""
    t = start_target(row, "churn.py", 0, 0, 1, quiescent=False)
    r = aiodbg("attach", t.pid, "-c", "p 1", "-c", "threads --json", "-c", "threads",
               "-c", "bt")
    assert r.rc == 0, r.err
    first, rest = r.out.split("\n", 1)
    assert first == "1"
    doc, end = json.JSONDecoder().raw_decode(rest)
    agents = [th for th in doc["threads"] if th.get("agent")]
    assert len(agents) == 1, doc["threads"]
    (agent,) = agents
    assert agent["name"] == "aiodbg-agent" and not agent["main"] and agent["tid"] != t.pid
    assert all("agent" not in th for th in doc["threads"] if th is not agent)
    text = rest[end:]
    row_line = next(ln for ln in text.splitlines() if ln.split()[:1] == [str(agent["tid"])])
    assert row_line.split()[1] == "aiodbg-agent", row_line
    assert f'Thread {agent["tid"]} "aiodbg-agent" (aiodbg\'s agent, not the program\'s)' in text
    # The agent's thread ends once its session's channel closes.
    assert helpers.wait_thread_count(t.pid, 1) == 1
    doc = aiodbg_json("attach", t.pid, "-c", "threads --json")
    assert [th["tid"] for th in doc["threads"]] == [t.pid]
    assert not any(th.get("agent") for th in doc["threads"])


def test_long_thread_name_is_marked(row, start_target):
    """A thread name longer than aiodbg keeps says it was cut (issue 14)."""
    t = start_target(row, "deep_await.py")
    doc = aiodbg_json("attach", t.pid, "-c", "threads --json")
    th = next(x for x in doc["threads"] if x["tid"] == t.truth["long_thread"])
    assert th["name"] == "t" * 256 and th["name_truncated"] is True
    main = next(x for x in doc["threads"] if x["main"])
    assert "name_truncated" not in main
    r = aiodbg("attach", t.pid, "-c", f"bt {t.truth['long_thread']}")
    assert r.rc == 0, r.err
    assert r.out.startswith(f'Thread {t.truth["long_thread"]} "{"t" * 256}…"'), r.out[:400]
