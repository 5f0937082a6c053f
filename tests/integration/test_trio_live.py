# SPDX-License-Identifier: MIT
"""Live control on a Trio run (issue 16): pause, eval and await in a chosen task's frame
and Context on the run's thread (through the run's TrioToken), an await bounded by its
timeout that cancels only the expression, and cancel, which cancels the task's innermost
cancel scope; the program runs on. Against targets/trio_basic.py on every row that has
Trio (the others are skipped, saying so)."""
import os
import re
import signal
import subprocess
import time

import pytest

import helpers
from helpers import aiodbg, aiodbg_json
from test_trio import has_trio


@pytest.fixture(scope="module")
def target(row):
    if not has_trio(row):
        pytest.skip(f"{row.name}: this interpreter cannot import trio (no Trio installed for it)")
    t = helpers.launch_or_fail(row, "trio_basic.py", timeout=90)
    assert not t.truth["problems"], t.truth["problems"]
    yield t
    t.kill()


# The agent's source, as the target sees it: /tmp/aiodbg-XXXXXX/a.py (the test scripts
# themselves live under /tmp/aiodbg-tests/, which must not match).
AGENT_FILE = re.compile(r"/aiodbg-[A-Za-z0-9]{6}/a\.py$")


def agent_running(tasks):
    """A task of the run is running the agent's code: a live command's last callback
    (its reply, the end of a pause) is still finishing on the run's thread."""
    return any(AGENT_FILE.search(f["file"] or "") for t in tasks.values() for f in t["stack"])


def named(pid, runner):
    for _ in range(100):
        doc = aiodbg_json("attach", pid, "-c", "tasks --json")
        tasks = {t["name"]: t for t in doc["tasks"] if t.get("loop") == runner}
        if not agent_running(tasks):
            break
        time.sleep(0.05)
    return tasks


def run(pid, *cmds, rc=0):
    args = []
    for c in cmds:
        args += ["-c", c]
    r = aiodbg("attach", pid, *args, timeout=120)
    assert r.rc == rc, f"rc {r.rc}: {r.out}\n{r.err}"
    return r.out.splitlines()


def test_eval_in_task_frame_and_context(target):
    lines = target.truth["lines"]
    out = run(target.pid, "select receiver", "eval ch.statistics().tasks_waiting_receive",
              "select sleeper", "eval CV.get()", "eval CV.set('from-aiodbg') and None",
              "eval CV.get()", "select receiver", "eval CV.get()")
    # select starts at the program's frame, past Trio's own
    assert out[0].endswith(f"receiver ({target.truth['script']}:{lines['RECEIVER']})"), out[0]
    assert out[1] == "1"
    assert out[3] == '"sleeper\'s"'
    assert out[5] == "'from-aiodbg'"
    assert out[7] == "'unset'"


def test_await_runs_on_the_run(target):
    out = run(target.pid, "select leaf-0", "await trio.sleep(0.01)", "eval ev.is_set()")
    assert out[1:] == ["None", "False"]
    # the expression ran as a task of the run, in the selected task's Context: what it
    # sets, the task sees
    out = run(target.pid, "select deepest", "await trio.sleep(0.01); CV.set('via-await')",
              "eval CV.get()", "select deep", "eval CV.get()")
    assert out[1:3] == ["None", "'via-await'"]
    assert out[4] == "'unset'"


def test_unawaited_coroutines_of_an_eval_leave_no_trace(target):
    out = run(target.pid, "eval trio.sleep(1)", "p [trio.sleep(1)], {1: trio.sleep(2)}",
              "eval globals().__setitem__('KEEP', trio.sleep(0))", "await KEEP")
    assert out[0].startswith("<coroutine object sleep at 0x"), out
    assert out[-1] == "None", out
    out = run(target.pid, "p 6*7")  # the run has gone on
    assert out == ["42"]
    assert "never awaited" not in target.stderr(), target.stderr()


def test_await_timeout_cancels_only_the_expression(target):
    before = named(target.pid, target.truth["runner"])
    r = aiodbg("attach", target.pid, "-c", "select sleeper", "-c",
               "await --timeout 0.5 trio.sleep(30)", timeout=60)
    assert r.rc == 1, r
    assert "Cancelled: the expression was cancelled (interrupted after 0.5 s)" in r.out + r.err
    r = aiodbg("attach", target.pid, "-c", "eval --timeout 0.5 any(False for _ in iter(int, 1))",
               timeout=60)
    assert r.rc == 1 and "interrupted after 0.5 s" in r.out + r.err, r
    after = named(target.pid, target.truth["runner"])
    assert set(after) == set(before)
    for n, t in before.items():
        assert after[n]["stack"] == t["stack"], n
        assert after[n]["cancelling"] == t["cancelling"], n


def test_pause_continue(target):
    out = run(target.pid, "pause", "eval trio.lowlevel.current_root_task().name", "continue")
    assert out[0].startswith(f"paused loop {target.truth['runner']} on thread {target.pid}")
    assert out[1] == "'<init>'"
    assert out[2] == f"continued loop {target.truth['runner']}"


def test_cancel_innermost_scope(row, start_target):
    if not has_trio(row):
        pytest.skip(f"{row.name}: this interpreter cannot import trio")
    t = start_target(row, "trio_basic.py", timeout=90)
    runner = t.truth["runner"]
    before = named(t.pid, runner)
    shield = before["shielded"]["trio"]["cancel_scopes"][0]["id"]
    doc = aiodbg_json("attach", t.pid, "-c", 'cancel shielded "stop now" --json')["cancel"]
    assert doc == {"task": before["shielded"]["id"], "cancelled": True, "cancelling": 1,
                   "state": "pending", "message": "stop now", "scope": shield}, doc
    # leaf-0 has no scope of its own: its nursery's (group's) is cancelled, deep with it
    nursery_scope = before["leaf-0"]["trio"]["cancel_scopes"][0]
    assert nursery_scope["nursery"] == before["group"]["trio"]["child_nurseries"][0]
    out = run(t.pid, "cancel leaf-0")
    assert out == [f"task {before['leaf-0']['id']} (leaf-0): cancelled its cancel scope "
                   f"{nursery_scope['id']}",
                   "note: its innermost cancel scope is its nursery's: 1 other task of the "
                   "nursery is cancelled too"]
    gone = {"shielded", "group", "leaf-0", "deep", "deepest"}
    for _ in range(100):
        after = named(t.pid, runner)
        if not gone & set(after):
            break
    assert set(after) == set(before) - gone
    for n in after:
        assert after[n]["stack"] == before[n]["stack"], n


def test_await_ctrl_c_cancels_only_the_expression(target):
    """Ctrl-C during an await on the run cancels the expression's own scope; the run and
    its tasks go on as before."""
    before = named(target.pid, target.truth["runner"])
    mark = f"/tmp/aiodbg-trio-mark-{target.pid}"
    host_mark = target.row.host_path(mark)
    if os.path.exists(host_mark):
        os.unlink(host_mark)
    p = subprocess.Popen([helpers.AIODBG, "attach", str(target.pid), "-c", "select sleeper", "-c",
                          f"await open({mark!r}, 'w').close() or trio.sleep(30)", "-c", "p 6*7"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(host_mark):
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, "the await did not start"
            time.sleep(0.02)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
        if os.path.exists(host_mark):
            os.unlink(host_mark)
    assert p.returncode == 130, (out, err)
    assert out.splitlines()[1:] == ["Cancelled: the expression was cancelled (interrupted)"], out
    after = named(target.pid, target.truth["runner"])
    assert set(after) == set(before)
    for n, t in before.items():
        assert after[n]["stack"] == t["stack"], n
