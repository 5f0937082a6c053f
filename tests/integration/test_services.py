# SPDX-License-Identifier: MIT
"""Real services (issue 15): FastAPI under uvicorn with loop="uvloop" and http="httptools"
(targets/asgi_service.py), an aiohttp server with its own client (targets/aiohttp_service.py),
and loops on threads that run no Python frame of theirs (targets/loop_threads.py).

The packages are Debian's: bookworm's for /usr/bin/python3.11 (row debian-3.11) and the sid
root's, whose compiled ones (uvloop, httptools, pydantic, aiohttp's speedups) are built for
python3.14 only. So the full FastAPI/uvloop/httptools service must run on debian-3.11 and
sid-3.14 (a missing package there fails the test: `make check` installs them); the other sid
rows run what they can import (Starlette instead of FastAPI, asyncio's loop instead of
uvloop, h11 instead of httptools); pyenv's interpreters do not see Debian's dist-packages
and are skipped with that reason.

Live control on uvloop is the point: uvloop's run_forever is compiled, so no Python frame
names the loop; the agent is given the loop's id and finds the object (shared/agent/agent.py,
find_loop), and an idle uvloop loop is woken through its C-level self-pipe (inject.c).
"""
import functools
import json
import os
import re
import subprocess
import time

import pytest

import helpers
import test_live as tl
from helpers import aiodbg, aiodbg_json

# Rows whose interpreter must have the full stack (Debian packages it for them).
FULL = {"debian-3.11": ("fastapi", "uvloop", "httptools"),
        "sid-3.14": ("fastapi", "uvloop", "httptools")}
MODULES = ("fastapi", "starlette", "uvicorn", "uvloop", "httptools", "h11", "aiohttp", "anyio")


@functools.lru_cache(maxsize=None)
def importable(row):
    """The MODULES row's interpreter can import (as the targets run: -E -s)."""
    # Imported, not just found: sid's fastapi is there for every Python, the pydantic it
    # needs only for 3.14.
    code = ("import importlib, json\nok = []\nfor m in %r:\n    try:\n"
            "        importlib.import_module(m)\n        ok.append(m)\n"
            "    except Exception:\n        pass\nprint(json.dumps(ok))" % (MODULES,))
    p = subprocess.run(row.cmd("-E", "-s", "-c", code), capture_output=True, text=True,
                       env=helpers.TARGET_ENV, timeout=60)
    assert p.returncode == 0, p.stderr
    return frozenset(json.loads(p.stdout))


def asgi_stack(row):
    """(app, loop, http) of asgi_service.py for the row, or skip with the reason."""
    have = importable(row)
    if row.name in FULL:
        missing = [m for m in FULL[row.name] + ("uvicorn",) if m not in have]
        assert not missing, f"{row.python} cannot import {missing}: install Debian's " \
                            f"python3-fastapi, -uvicorn, -uvloop, -httptools (tests/env/deps.sh)"
    if row.name.startswith("pyenv"):
        pytest.skip("pyenv's interpreters do not see Debian's dist-packages (uvicorn, "
                    "starlette); debian-3.11 runs the service on 3.11")
    if "uvicorn" not in have or not ({"fastapi", "starlette"} & have) or \
            not ({"httptools", "h11"} & have):
        pytest.skip(f"{row.python} cannot import uvicorn with Starlette and an HTTP parser "
                    f"(has {sorted(have)})")
    return ("fastapi" if "fastapi" in have else "starlette",
            "uvloop" if "uvloop" in have else "asyncio",
            "httptools" if "httptools" in have else "h11")


def frames(stack):
    return [[f["function"], f["file"], f["line"]] for f in stack]


def by_id(doc):
    return {t["id"]: t for t in doc["tasks"]}


# ---------------------------------------------------------------------------------------
# The ASGI service, read-only: tasks and tree, live and from a core


@pytest.fixture(scope="module")
def target(row):
    stack = asgi_stack(row)
    t = helpers.launch_or_fail(row, "asgi_service.py", *stack, timeout=90)
    yield t
    t.kill()


def loop_type(stack):
    return {"uvloop": "uvloop.Loop", "asyncio": "asyncio.unix_events._UnixSelectorEventLoop"}[
        stack[1]]


def test_service_is_what_the_row_promises(row, target):
    """The target runs the stack asked for (a uvicorn that quietly fell back to asyncio's
    loop would make every other test here prove nothing about uvloop)."""
    t = target.truth
    assert t["loop"]["type"] == loop_type(asgi_stack(row))
    assert sorted(t["endpoints"]) == ["item", "order", "report"]
    for key, e in t["endpoints"].items():
        assert e["endpoint_index"] is not None, (key, e["stack"])
    assert t["endpoints"]["order"]["params"] == {"user": "alice", "order_id": 7}
    assert t["endpoints"]["item"]["params"] == {"item_id": 42, "q": "blue"}


@pytest.mark.parametrize("kind", ["live", "core"])
def test_endpoint_tasks_and_frames(target, core, kind):
    """`tasks --json` lists every endpoint's task with its exact coroutine stack, on the
    service's loop and thread, and who awaits it; `tree --json` has the same tasks."""
    args = ["attach", target.pid] if kind == "live" else helpers.core_args(core)
    doc = aiodbg_json(*args, "-c", "tasks --json")
    tree = aiodbg_json(*args, "-c", "tree --json")
    got = by_id(doc)
    in_tree = {t["id"] for t in tree["tasks"]}
    truth = target.truth
    for key, e in truth["endpoints"].items():
        assert e["task"] in got, f"endpoint {key}: task {e['task']} not listed"
        t = got[e["task"]]
        assert t["state"] == "pending"
        assert t["loop"] == truth["loop"]["id"]
        assert t["thread"] == truth["loop"]["thread"]
        assert frames(t["stack"]) == frames(e["stack"]), key
        ep = t["stack"][e["endpoint_index"]]
        assert [ep["function"], ep["file"], ep["line"]] == \
            [e["endpoint"]["function"], e["endpoint"]["file"], e["endpoint"]["line"]]
        if e["task_name"] is not None:
            assert t["name"] == e["task_name"]  # AnyIO names its tasks
        else:
            assert re.fullmatch(r"Task-\d+", t["name"]), t["name"]
        assert e["task"] in in_tree
        # The endpoint behind BaseHTTPMiddleware runs in a task of the AnyIO task group
        # that the request task (in the middleware's dispatch) hosts: awaited by it. The
        # others run in their request task itself, which nothing awaits.
        if e["mw_task"] is not None:
            assert t["awaited_by"] == [e["mw_task"]], key
        else:
            assert t["awaited_by"] == [], key
    loops = {lp["id"]: lp for lp in doc.get("loops", [])}
    if loops:
        assert loops[truth["loop"]["id"]]["thread"] == truth["loop"]["thread"]


# ---------------------------------------------------------------------------------------
# The ASGI service, live control on the endpoint tasks


@pytest.fixture
def service(row, start_target):
    stack = asgi_stack(row)
    t = tl.launch(start_target, row, "asgi_service.py", *stack, timeout=90)
    yield t


def run_ok(t, *commands, **kw):
    r = tl.run(t, *commands, **kw)
    assert r.rc == 0, f"rc {r.rc}\nstdout: {r.out}\nstderr: {r.err}"
    return r.out.splitlines()


def frame_text(f):
    return f"{f['function']} ({f['file']}:{f['line']})"


def test_pause_names_the_loop(row, service):
    truth = service.truth
    out = run_ok(service, "pause", "continue")
    lp = truth["loop"]
    assert out == [f"paused loop {lp['id']} on thread {lp['thread']} (MainThread)",
                   f"continued loop {lp['id']}"]


def test_endpoint_select_up_eval_await_cancel(row, service):
    """The done-when of issue 15: on the order endpoint's task, `select` (the innermost
    frame of the program: fetch_order), `up` to the endpoint read_order, `eval` its path
    parameters, `locals`, `await` on the service's own loop (uvloop where the row has it),
    `cancel` with a message, which the endpoint sees."""
    e = service.truth["endpoints"]["order"]
    lp = service.truth["loop"]
    task, stack, i = e["task"], e["stack"], e["endpoint_index"]
    assert stack[i - 1]["function"] == "fetch_order"
    name_of = {}
    out = run_ok(service, f"select {task}", "up", "eval order_id", "eval user",
                 "eval (order_id * 6, user.upper())", "locals",
                 "await asyncio.sleep(0.05, ("
                 "f'{type(asyncio.get_running_loop()).__module__}."
                 "{type(asyncio.get_running_loop()).__qualname__}', "
                 "hex(id(asyncio.get_running_loop())), asyncio.current_task().get_name()))",
                 f'cancel {task} "stop order 7"')
    m = re.fullmatch(rf"task {task} \((Task-\d+)\), frame #{i - 1} of {len(stack)}: (.*)", out[0])
    assert m, out[0]
    name_of[task] = m.group(1)
    assert m.group(2) == frame_text(stack[i - 1])
    assert out[1] == f"task {task} ({m.group(1)}), frame #{i} of {len(stack)}: " \
                     f"{frame_text(stack[i])}"
    assert out[2:5] == ["7", "'alice'", "(42, 'ALICE')"]
    assert out[5] == f"frame #{i}: {frame_text(stack[i])}"
    assert out[6:8] == ["  user = 'alice'", "  order_id = 7"]
    assert out[8] == repr((loop_type(asgi_stack(row)), lp["id"], "aiodbg-await"))
    assert out[9] == f'task {task} ({m.group(1)}): cancel() returned True; now pending, ' \
                     f'cancelling 1, message "stop order 7"'
    assert len(out) == 10, out
    tl.wait_log(service, "CANCELLED order ('stop order 7',)")
    # uvicorn answers the cancelled request with a 500; the other requests are untouched.
    tl.wait_log(service, "RESPONSE /users/alice/orders/7 500")
    log = service.stderr()
    assert "RESPONSE /items" not in log and "RESPONSE /mw" not in log, log
    tl.clean(service)


def test_middleware_endpoint_task(row, service):
    """The endpoint behind BaseHTTPMiddleware runs in a task of an AnyIO task group (named
    by AnyIO): eval, await in its context, cancel it."""
    e = service.truth["endpoints"]["report"]
    task, stack, i = e["task"], e["stack"], e["endpoint_index"]
    out = run_ok(service, f"select {task}", "eval name",
                 "await asyncio.sleep(0, (name, asyncio.current_task() is not None))",
                 f"cancel {task} weekly-off")
    assert out[0] == f"task {task} ({e['task_name']}), frame #{i} of {len(stack)}: " \
                     f"{frame_text(stack[i])}"
    assert out[1:3] == ["'weekly'", "('weekly', True)"]
    assert out[3] == f"task {task} ({e['task_name']}): cancel() returned True; now pending, " \
                     f'cancelling 1, message "weekly-off"'
    tl.wait_log(service, "CANCELLED report ('weekly-off',)")
    tl.clean(service)


# ---------------------------------------------------------------------------------------
# aiohttp: a server and its own client on one loop (uvloop and asyncio's)


def aiohttp_loop(row, kind):
    have = importable(row)
    if row.name in FULL:
        assert {"aiohttp", "uvloop"} <= have, \
            f"{row.python} cannot import aiohttp and uvloop: install Debian's python3-aiohttp, " \
            f"python3-uvloop (tests/env/deps.sh)"
    if row.name.startswith("pyenv"):
        pytest.skip("pyenv's interpreters do not see Debian's dist-packages (aiohttp); "
                    "debian-3.11 runs it on 3.11")
    if "aiohttp" not in have:
        pytest.skip(f"{row.python} cannot import aiohttp")
    if kind not in have and kind != "asyncio":
        pytest.skip(f"{row.python} cannot import {kind} (Debian builds it for another Python)")
    return kind


@pytest.fixture(scope="module", params=["uvloop", "asyncio"])
def web(request, row):
    kind = aiohttp_loop(row, request.param)
    t = helpers.launch_or_fail(row, "aiohttp_service.py", kind, timeout=90)
    t.started = time.time()
    yield t
    t.kill()


def test_aiohttp_tasks_live_and_core(web, gcore):
    """Handlers and client tasks with their exact stacks, names, loop and thread, live and
    from a core."""
    truth = web.truth
    assert truth["loop"]["type"] == ("uvloop.Loop" if truth["loop_kind"] == "uvloop" else
                                     "asyncio.unix_events._UnixSelectorEventLoop")
    core = gcore(web.pid)
    for args in (["attach", web.pid], helpers.core_args(core)):
        got = by_id(aiodbg_json(*args, "-c", "tasks --json"))
        for key, h in truth["handlers"].items():
            t = got[h["task"]]
            assert frames(t["stack"]) == frames(h["stack"]), key
            ep = t["stack"][h["endpoint_index"]]
            assert [ep["function"], ep["line"]] == [h["endpoint"]["function"],
                                                   h["endpoint"]["line"]]
            assert t["loop"] == truth["loop"]["id"] and t["thread"] == truth["loop"]["thread"]
        for key, c in truth["clients"].items():
            t = got[c["task"]]
            assert t["name"] == c["name"] == f"client-{key}"
            assert frames(t["stack"]) == frames(c["stack"]), key


@pytest.mark.parametrize("kind", ["uvloop", "asyncio"])
def test_aiohttp_handler_live_control(row, kind, start_target):
    """On a target of its own (it cancels a handler): select the feed handler's task, up
    from wait_feed to get_feed, eval the path parameter both ways, await on the server's
    loop (an idle uvloop loop: the agent is loaded through its self-pipe), cancel it with
    a message."""
    web = tl.launch(start_target, row, "aiohttp_service.py", aiohttp_loop(row, kind), timeout=90)
    h = web.truth["handlers"]["feed"]
    lp = web.truth["loop"]
    task, stack, i = h["task"], h["stack"], h["endpoint_index"]
    out = run_ok(web, f"select {task}", "up", "eval (user, request.match_info['user'])",
                 "await asyncio.sleep(0.05, hex(id(asyncio.get_running_loop())))",
                 f"cancel {task} no feed today")
    m = re.fullmatch(rf"task {task} \((Task-\d+)\), frame #{i - 1} of {len(stack)}: (.*)", out[0])
    assert m and m.group(2) == frame_text(stack[i - 1]), out[0]
    assert out[1] == f"task {task} ({m.group(1)}), frame #{i} of {len(stack)}: " \
                     f"{frame_text(stack[i])}"
    assert out[2:4] == ["('bob', 'bob')", repr(lp["id"])]
    assert out[4] == f'task {task} ({m.group(1)}): cancel() returned True; now pending, ' \
                     f'cancelling 1, message "no feed today"'
    tl.wait_log(web, "CANCELLED feed ('no feed today',)")
    tl.clean(web)


# ---------------------------------------------------------------------------------------
# Loops no Python frame names


@pytest.mark.parametrize("kind", ["uvloop", "asyncio"])
def test_loops_on_threads(row, kind, start_target):
    """Three loops (main thread; a thread started with _thread.start_new_thread(run_forever),
    which for uvloop has no Python frame at all; a threading.Thread running run_forever),
    each paused by its thread and awaited on in its own task: the expression runs on that
    loop, on that thread. Which way the agent finds each loop depends on the version: the
    loop where it was loaded (main, first), the task registries (≤3.13: all of them), the
    frames (3.14+: loop-b's Thread.run), the GC's objects (3.14+ with uvloop: loop-a)."""
    if row.name.startswith("pyenv") and kind == "uvloop":
        pytest.skip("pyenv's interpreters do not see Debian's python3-uvloop")
    if kind == "uvloop" and "uvloop" not in importable(row):
        assert row.name not in FULL, f"{row.python} cannot import uvloop"
        pytest.skip(f"{row.python} cannot import uvloop (Debian builds it for another Python)")
    t = tl.launch(start_target, row, "loop_threads.py", kind, timeout=90)
    loops = t.truth["loops"]
    want_type = "uvloop.Loop" if kind == "uvloop" else "asyncio.unix_events._UnixSelectorEventLoop"
    where = "hex(id(asyncio.get_running_loop())), threading.get_native_id()"
    cmds, want = [], []
    for key, name in (("main", "MainThread"), ("a", "?"), ("b", "loop-b")):
        lp = loops[key]
        assert lp["type"] == want_type
        cmds += ["pause" if key == "main" else f"pause --thread {lp['thread']}", "continue"]
        want += [f"paused loop {lp['id']} on thread {lp['thread']} ({name})",
                 f"continued loop {lp['id']}"]
    for key in ("a", "b", "main"):
        lp = loops[key]
        cmds += [f"select {lp['task_name']}", f"await asyncio.sleep(0, ({where}))"]
        want += [f"task {lp['task']} ({lp['task_name']}), frame #1 of 2: sleeper "
                 f"({t.truth['script']}:{t.truth['sleep_line']})",
                 repr((lp["id"], lp["thread"]))]
    assert run_ok(t, *cmds) == want
    tl.clean(t)


# ---------------------------------------------------------------------------------------
# GDB: aio pause / aio await on the uvloop service


def _gdb_cases():
    import test_gdb as tg

    return tg.CASES


@pytest.mark.parametrize("gdb_case", _gdb_cases(),
                         ids=[f"{g.name}-{r.name}" for g, r in _gdb_cases()])
def test_gdb_pause_await_on_uvloop(gdb_case, start_target):
    """`aio pause`, `aio select`/`up`/`p`, `aio await` (on the uvloop loop), `aio cancel`,
    `aio continue` from GDB attached to the FastAPI service."""
    import test_gdb as tg
    import test_gdb_live as tgl

    g, row = gdb_case
    if not os.path.exists(g.so):
        pytest.fail(f"{g.so} is missing: run `make gdbext gdbext-sid`", pytrace=False)
    stack = asgi_stack(row)
    if stack[1] != "uvloop":
        pytest.skip(f"{row.python} cannot import uvloop (Debian builds it for another Python)")
    t = tl.launch(start_target, row, "asgi_service.py", *stack, timeout=90)
    e, lp = t.truth["endpoints"]["order"], t.truth["loop"]
    task, st, i = e["task"], e["stack"], e["endpoint_index"]
    cmds = ["aio pause", f"aio select {task}", "aio up", "aio p (user, order_id)",
            "aio await asyncio.sleep(0.05, (type(asyncio.get_running_loop()).__module__, "
            "hex(id(asyncio.get_running_loop()))))",
            f"aio cancel {task} from gdb", "aio continue"]
    try:
        outs, out, err = tg.run_gdb(g, tgl.attach(g, row, t.pid), cmds)
    finally:
        g.cleanup()
    assert "aiodbg:" not in err, err[-3000:]
    assert outs[0] == f"paused loop {lp['id']} on thread {lp['thread']} (MainThread)\n", outs
    m = re.fullmatch(rf"task {task} \((Task-\d+)\), frame #{i - 1} of {len(st)}: .*\n", outs[1])
    assert m, outs[1]
    assert outs[2] == f"task {task} ({m.group(1)}), frame #{i} of {len(st)}: " \
                      f"{frame_text(st[i])}\n"
    assert outs[3] == "('alice', 7)\n"
    assert outs[4] == repr(("uvloop", lp["id"])) + "\n"
    assert outs[5] == f'task {task} ({m.group(1)}): cancel() returned True; now pending, ' \
                      f'cancelling 1, message "from gdb"\n'
    assert outs[6] == f"continued loop {lp['id']}\n"
    assert tgl.wait_log(t, "CANCELLED order ('from gdb',)"), t.stderr()
    assert not t.stopped_threads()
    tl.clean(t)
