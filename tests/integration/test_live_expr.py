# SPDX-License-Identifier: MIT
"""Expressions that never hurt the program (issue 14), on every interpreter of the matrix:
eval/await have a timeout and Ctrl-C, which stop code running on the loop thread with an
exception raised in that thread; an await of a future or task of the program waits on it
through a shield, so that only what the expression created is cancelled; an expression
stuck in C is reported, and the loop runs on when it ends; `await 42`, a SyntaxError, a
selected task that has ended are said plainly; every outcome has its exit status (0 ok,
1 failed, 2 bad usage, 130 interrupted).

Target: targets/live_runaway.py (a heartbeat, book.upstream awaited by three readers). The
tests wait for states (the target's log, the heartbeat), never for a fixed time."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

import helpers
from test_live import Repl, clean, launch, ok, run, wait_log

INTERRUPTED_AFTER_1 = "interrupted after 1.0 s"
STILL_RUNNING = re.compile(r"^aiodbg: the expression of an interrupted eval is still running on "
                           r"loop 0x[0-9a-f]+; try again when it has finished$", re.M)


@pytest.fixture
def runaway(row, start_target):
    t = launch(start_target, row, "live_runaway.py", quiescent=False)
    yield t
    clean(t)


def heartbeat(t):
    return int(ok(t, "p heartbeat")[-1])


def assert_heartbeat_goes_on(t, timeout=30):
    """The loop runs again: the heartbeat advances between two separate commands."""
    first = heartbeat(t)
    deadline = time.monotonic() + timeout
    while heartbeat(t) <= first:
        assert time.monotonic() < deadline, "the program's heartbeat stopped"
        time.sleep(0.05)


def start_batch(t, *commands, json_out=False):
    args = [helpers.AIODBG, "attach", str(t.pid)] + (["--json"] if json_out else [])
    for c in commands:
        args += ["-c", c]
    return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def interrupt_batch(p, t, marker, count=1):
    """SIGINT to a batch aiodbg once the target logged marker; (rc, stdout, stderr)."""
    try:
        wait_log(t, marker, count)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    return p.returncode, out, err


# --- eval: the timeout, Ctrl-C, code stuck in C --------------------------------------------


def test_runaway_eval_is_stopped_by_its_timeout(runaway):
    # The expression of issue 14, stopped after --timeout; the loop goes on.
    r = run(runaway, 'p --timeout 1 log("SPINNING t1") or any(False for _ in iter(int, 1))',
            "p 6*7")
    assert r.rc == 1, f"rc {r.rc}\n{r.out}\n{r.err}"
    assert r.err == "", "the output shows the failure; it is not said again"
    lines = r.out.splitlines()
    assert lines[0] == "Traceback (most recent call last):", r.out
    # Where the interrupt lands is the expression's own code: inside the generator, or
    # (when it comes between two of its steps, seen on 3.15) the expression's frame.
    assert re.search(r'^  File "<aiodbg>", line 1, in <(genexpr|module)>$', r.out, re.M), r.out
    assert "aiodbg-" not in r.out, "an agent frame shows"
    assert lines[-2:] == [INTERRUPTED_AFTER_1, "42"], r.out
    assert_heartbeat_goes_on(runaway)
    # The REPL-wide setting (environment), and JSON.
    r = run(runaway, "p spin('t2')", env={"AIODBG_EVAL_TIMEOUT": "1"})
    assert r.rc == 1 and r.out.splitlines()[-1] == INTERRUPTED_AFTER_1, r
    r = helpers.aiodbg("attach", runaway.pid, "--json", "-c", "p --timeout 1 spin('t3')")
    assert r.rc == 1 and r.err == "", r
    doc = helpers.validate(json.loads(r.out), "p")
    assert doc["ok"] is False and doc["error"] == INTERRUPTED_AFTER_1 and doc["interrupted"] is True
    assert "in spin" in doc["traceback"], doc
    # The loop stays usable: pause, eval, continue.
    out = ok(runaway, "pause", "p heartbeat", "p heartbeat", "continue")
    assert out[0].startswith("paused loop") and out[1] == out[2], out
    assert out[3].startswith("continued loop"), out
    assert_heartbeat_goes_on(runaway)


def test_runaway_eval_under_a_pause_stays_paused(runaway):
    out = run(runaway, "pause", "p heartbeat", "p --timeout 1 spin('p1')", "p heartbeat",
              "continue")
    lines = out.out.splitlines()
    assert out.rc == 1 and INTERRUPTED_AFTER_1 in lines, out
    assert lines[1] == lines[-2], "the loop stays paused after the interrupted eval"
    assert lines[-1].startswith("continued loop"), out
    assert_heartbeat_goes_on(runaway)


def test_runaway_eval_ctrl_c_batch(runaway):
    p = start_batch(runaway, "p spin('b1')", "p 6*7")
    rc, out, err = interrupt_batch(p, runaway, "SPINNING b1")
    assert rc == 130, f"rc {rc}\n{out}\n{err}"
    assert out.splitlines()[-1] == "interrupted (Ctrl-C)", out
    assert "42" not in out.splitlines(), "a batch run stops at the interrupt"
    assert err.splitlines() == ["aiodbg: stopping the expression (Ctrl-C again: stop waiting "
                                "for it)", "aiodbg: interrupted"], err
    assert ok(runaway, "p 6*7") == ["42"]
    assert_heartbeat_goes_on(runaway)


def test_runaway_eval_ctrl_c_interactive(runaway):
    repl = Repl(runaway)
    try:
        # Ctrl-C on an eval under the loop's own pause: interrupted; the loop stays paused.
        assert "paused loop" in repl.command("pause")
        os.write(repl.fd, b"p spin('i1')\n")
        wait_log(runaway, "SPINNING i1")
        os.write(repl.fd, b"\x03")
        text = repl.until(repl.prompt)
        assert "interrupted (Ctrl-C)" in text and "aiodbg: interrupted" in text, text
        a = repl.command("p heartbeat")
        b = repl.command("p heartbeat")
        assert re.findall(r"^\d+$", a, re.M) == re.findall(r"^\d+$", b, re.M) != [], (a, b)
        assert "continued loop" in repl.command("continue")
        # ... and on an eval with the loop running: the loop runs on.
        os.write(repl.fd, b"p spin('i2')\n")
        wait_log(runaway, "SPINNING i2")
        os.write(repl.fd, b"\x03")
        assert "interrupted (Ctrl-C)" in repl.until(repl.prompt)
        assert re.search(r"^42$", repl.command("p 6*7"), re.M)
        assert repl.close() == 0
    finally:
        if repl.pid:
            repl.close()
    assert_heartbeat_goes_on(runaway)


def test_eval_stuck_in_c_is_reported(runaway):
    # time.sleep cannot be interrupted: said so; the next command says it still runs.
    r = run(runaway, "p --timeout 1 stuck(6)", "p 6*7")
    assert r.rc == 1, r
    assert re.search(r"^aiodbg: the expression was interrupted after 1\.0 s \(its timeout; "
                     r"--timeout S changes it\) but is still running in the target: .*; the "
                     r"loop runs on when it ends$", r.err, re.M), r.err
    assert STILL_RUNNING.search(r.err), r.err
    # When it ends, the loop paused for it runs on by itself.
    deadline = time.monotonic() + 30
    while run(runaway, "p 6*7").rc != 0:
        assert time.monotonic() < deadline, "the stuck expression never ended"
        time.sleep(0.1)
    assert_heartbeat_goes_on(runaway)
    # Under the user's pause (which lasts as long as the session): paused again when it ends.
    repl = Repl(runaway)
    try:
        assert "paused loop" in repl.command("pause")
        text = repl.command("p --timeout 1 stuck(5)")
        assert "the loop is paused again when it ends" in text, text
        deadline = time.monotonic() + 30
        while True:
            text = repl.command("p heartbeat")
            if not STILL_RUNNING.search(text):
                break
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
        a = re.findall(r"^\d+$", text, re.M)
        b = re.findall(r"^\d+$", repl.command("p heartbeat"), re.M)
        assert a == b != [], "the loop is paused again"
        assert "continued loop" in repl.command("continue")
        assert repl.close() == 0
    finally:
        if repl.pid:
            repl.close()
    assert_heartbeat_goes_on(runaway)


# --- await: what is cancelled, what is not ---------------------------------------------


def readers_alive(t):
    assert ok(t, "p book.upstream.done()", "p [r.done() for r in book.readers]") == \
        ["False", "[False, False, False]"]
    assert "cancelled" not in t.stderr(), t.stderr()


def readers_resume(t):
    """The program's future and its readers were left alone: resolving it wakes all three."""
    ok(t, 'p book.upstream.set_result("v")')
    for i in (1, 2, 3):
        wait_log(t, f"reader-{i} got 'v'")


def test_await_of_a_program_future_ctrl_c(runaway):
    p = start_batch(runaway, 'await log("AWAITING u1") or book.upstream', "p 6*7")
    rc, out, err = interrupt_batch(p, runaway, "AWAITING u1")
    assert rc == 130, f"rc {rc}\n{out}\n{err}"
    assert out.splitlines() == ["CancelledError: the expression was cancelled (interrupted)"], out
    assert err.splitlines() == ["aiodbg: stopping the expression (Ctrl-C again: stop waiting "
                                "for it)", "aiodbg: interrupted"], err
    readers_alive(runaway)
    # JSON too.
    p = start_batch(runaway, 'await log("AWAITING u2") or book.upstream', json_out=True)
    rc, out, err = interrupt_batch(p, runaway, "AWAITING u2")
    assert rc == 130 and helpers.validate(json.loads(out), "await") == {
        "schema": "aiodbg/1", "ok": False, "error": "CancelledError: the expression was cancelled (interrupted)",
        "interrupted": True}, (rc, out, err)
    readers_alive(runaway)
    assert_heartbeat_goes_on(runaway)
    readers_resume(runaway)


def test_await_timeout_cancels_only_what_the_expression_created(runaway):
    want = "CancelledError: the expression was cancelled (interrupted after 1.0 s)"
    for expr in ("book.upstream",  # the program's future
                 "book.readers[0]",  # a task of the program
                 "asyncio.gather(*book.readers)",  # a gather of them
                 "book.wait()",  # program code awaiting the program's future
                 "asyncio.wait_for(asyncio.shield(book.upstream), 60)"):
        r = run(runaway, f"await --timeout 1 {expr}", "p 6*7")
        assert r.rc == 1 and r.out.splitlines() == [want, "42"] and r.err == "", (expr, r)
        readers_alive(runaway)
    # What the expression created is cancelled: its own task.
    r = run(runaway, "await --timeout 1 asyncio.create_task(asyncio.sleep(3600, 'x'), "
            "name='mine')", "p any(t.get_name() == 'mine' for t in asyncio.all_tasks())")
    assert r.rc == 1 and r.out.splitlines() == [want, "False"], r
    assert_heartbeat_goes_on(runaway)
    readers_resume(runaway)


def test_await_of_synchronous_code_is_interrupted(runaway):
    # The expression's coroutine hogs the loop thread in one of its steps.
    r = run(runaway, "await --timeout 1 spin_async('a1')", "p 6*7")
    assert r.rc == 1 and r.err == "", r
    assert re.search(r"^  File .*live_runaway\.py\", line \d+, in spin_async$", r.out, re.M), r.out
    assert r.out.splitlines()[-2:] == [INTERRUPTED_AFTER_1, "42"], r.out
    assert_heartbeat_goes_on(runaway)
    p = start_batch(runaway, "await spin_async('a2')", "p 6*7")
    rc, out, err = interrupt_batch(p, runaway, "SPINNING a2")
    assert rc == 130 and out.splitlines()[-1] == "interrupted (Ctrl-C)", (rc, out, err)
    assert_heartbeat_goes_on(runaway)
    readers_alive(runaway)


# --- plain answers ---------------------------------------------------------------------


def test_await_of_what_cannot_be_awaited(runaway):
    r = run(runaway, "await 42")
    assert r.rc == 1 and r.err == "", r
    assert r.out.splitlines() == [
        "TypeError: object int can't be used in 'await' expression" if runaway.row.minor < (3, 14)
        else "TypeError: 'int' object can't be awaited"], r.out
    # What can be awaited still is, and statements still run.
    out = ok(runaway, "await compute(21)", "await asyncio.sleep(0, 'v')",
             "await await compute(1)", "await x = await compute(2)", "p x")
    assert out == ["42", "'v'", "2", "None", "4"], out


def test_unawaited_coroutines_of_an_eval_leave_no_trace(runaway):
    """A coroutine an eval creates and drops would print "coroutine ... was never awaited"
    on the program's stderr when freed: the agent closes it. One the program holds is
    left alone (it can still be awaited)."""
    out = ok(runaway, "eval asyncio.sleep(1)", "p [asyncio.sleep(1)], {1: compute(1)}",
             "eval globals().__setitem__('KEEP', [compute(2)])", "p (KEEP[0], 1), [KEEP]",
             "await KEEP[0]")
    assert re.fullmatch(r"<coroutine object sleep at 0x[0-9a-f]+>", out[0]), out
    assert out[-1] == "4", out
    assert_heartbeat_goes_on(runaway)
    assert "never awaited" not in runaway.stderr(), runaway.stderr()


def test_syntax_error_is_shown_as_python_shows_it(runaway):
    for cmd in ("p 1 +", "await 1 +"):
        r = run(runaway, cmd)
        assert r.rc == 1 and r.err == "", (cmd, r)
        lines = r.out.splitlines()
        assert lines[0] == '  File "<aiodbg>", line 1', (cmd, r.out)
        assert lines[1].strip() == "1 +" and lines[2].strip() == "^", (cmd, r.out)
        assert lines[-1].startswith("SyntaxError: "), (cmd, r.out)
        assert "Traceback" not in r.out and "During handling" not in r.out, r.out
        assert "aiodbg-" not in r.out and ".py" not in r.out, "an agent frame shows"
    doc = helpers.aiodbg_json("attach", runaway.pid, "--json", "-c", "p 1 +", expect_rc=1)
    assert doc["ok"] is False and doc["error"].startswith("SyntaxError: "), doc
    assert "During handling" not in doc["traceback"], doc


def test_selected_task_that_ended(runaway):
    r = run(runaway, "select doomed", "await finish_doomed()", "p 1", "p 6*7", "locals")
    assert r.rc == 1, r
    assert r.out.splitlines()[1:] == ["'done'", "42"], r.out
    m = re.search(r"^aiodbg: the selected task (0x[0-9a-f]+) \(doomed\) has (finished|ended), so "
                  r"it is no longer selected: 'select ID\|NAME' another one \(without a "
                  r"selection, eval and await use __main__\)$", r.err, re.M)
    assert m, r.err
    assert r.out.startswith(f"task {m.group(1)} (doomed)"), r.out
    assert "aiodbg: no task selected" in r.err, "the selection was dropped"
    r = run(runaway, "select victim", "cancel victim", "await asyncio.wait([victim])", "p 1")
    assert r.rc == 1, r
    assert re.search(r"^aiodbg: the selected task 0x[0-9a-f]+ \(victim\) (was cancelled|has "
                     r"ended), so it is no longer selected", r.err, re.M), r.err


def test_exit_statuses(runaway):
    def rc(*commands, env=None):
        r = run(runaway, *commands, env=env)
        return r.rc, r.err

    assert rc("p 6*7") == (0, "")
    assert rc("p 1/0") == (1, ""), "an expression that raised fails; the traceback says why"
    r = helpers.aiodbg("attach", runaway.pid, "--json", "-c", "p 1/0")
    assert (r.rc, r.err, json.loads(r.out)["ok"]) == (1, "", False), r
    assert rc("await --timeout 1 book.upstream") == (1, "")
    assert rc("await finish_doomed()")[0] == 0
    st, err = rc("cancel doomed")
    assert st == 1 and re.match(r"aiodbg: (task 0x[0-9a-f]+ \(doomed\) is finished, not pending"
                                r"|no task named 'doomed')$", err), err
    st, err = rc("continue")
    assert (st, err) == (1, "aiodbg: no loop is paused\n")
    for bad in ("cancel", "p", "await", "p --timeout 1x y", "p --timeout 5"):
        st, err = rc(bad)
        assert st == 2 and "usage" in err, (bad, st, err)
    st, err = rc("p 1", env={"AIODBG_EVAL_TIMEOUT": "soon"})
    assert st == 2 and "AIODBG_EVAL_TIMEOUT=soon" in err, err
    # --timeout 0: no timeout; `p --x` is Python, not an option.
    assert ok(runaway, "p --timeout 0 6*7", "p --heartbeat < 0") == ["42", "False"]
    readers_alive(runaway)
