# SPDX-License-Identifier: MIT
"""Live control (issue 6): pause, continue, eval, await, cancel, select/locals, on every
interpreter of the matrix (the sid rows run in a chroot: the container case).

Targets (targets/live_basic.py, targets/live_modes.py) log every signal, unraisable
exception and loop exception-handler call to their output; after each test that output
must hold none, and no target may be left stopped (conftest checks that too)."""
import os
import pty
import re
import select
import signal
import subprocess
import time

import pytest

import helpers
from helpers import aiodbg

# What the targets print when something reached them that should not have.
BAD = re.compile(r"^(SIGNAL|UNRAISABLE|LOOP-EXCEPTION)\b.*$", re.M)
AIODBG_DIR = re.compile(r"^aiodbg-[A-Za-z0-9]{6}$")


def run(target, *commands, timeout=60, **kw):
    args = ["attach", target.pid]
    for c in commands:
        args += ["-c", c]
    return aiodbg(*args, timeout=timeout, **kw)


def ok(target, *commands, **kw):
    r = run(target, *commands, **kw)
    assert r.rc == 0, f"rc {r.rc}\nstdout: {r.out}\nstderr: {r.err}"
    return r.out.splitlines()


def clean(target, timeout=30):
    """Nothing unusual reached the program, and the agent's directory is gone. (Sessions of
    concurrent test runs have directories there too, for a moment: one is left behind when
    it is still there `timeout` seconds later.)"""
    log = target.stderr()
    assert not BAD.findall(log), f"the target saw: {BAD.findall(log)}\n{log}"
    tmp = target.host_path("/tmp")

    def agent_dirs():
        names = set()
        for n in os.listdir(tmp):
            try:
                if AIODBG_DIR.match(n) and \
                        os.stat(os.path.join(tmp, n)).st_mtime > target.started - 1:
                    names.add(n)
            except OSError:
                pass  # removed meanwhile
        return names

    left = agent_dirs()
    deadline = time.monotonic() + timeout
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left &= agent_dirs()
    assert not left, f"agent directories left in {tmp}: {sorted(left)}"


def launch(start_target, row, script, *args, **kw):
    t = start_target(row, script, *args, **kw)
    t.started = time.time()
    return t


def wait_log(t, text, count=1, timeout=30):
    """Wait until the target's log holds text `count` times."""
    deadline = time.monotonic() + timeout
    while t.stderr().count(text) < count:
        assert time.monotonic() < deadline, f"no {text!r} x{count} in the target's log:\n{t.stderr()}"
        time.sleep(0.05)


class Repl:
    """The interactive REPL on a pseudo-terminal (its controlling terminal: Ctrl-C is a
    real ^C, which the terminal turns into SIGINT)."""

    def __init__(self, t):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execv(helpers.AIODBG, [helpers.AIODBG, "attach", str(t.pid), "--no-color"])
            finally:
                os._exit(127)
        self.buf = b""
        self.prompt = f"(aiodbg {t.pid}) ".encode()
        self.until(self.prompt)

    def until(self, pattern, timeout=60):
        """Read until pattern (bytes or compiled bytes regex) shows after what was read
        before; returns the text read since then."""
        start = len(self.buf)
        deadline = time.monotonic() + timeout
        while True:
            tail = self.buf[start:]
            if (pattern.search(tail) if hasattr(pattern, "search") else pattern in tail):
                return tail.replace(b"\r", b"").decode(errors="replace")
            left = deadline - time.monotonic()
            assert left > 0, f"no {pattern!r} within {timeout}s; got:\n{tail[-3000:]!r}"
            r, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                assert data, f"the REPL ended; got:\n{tail[-3000:]!r}"
                self.buf += data

    def command(self, line, timeout=60):
        """Type line; the text up to the next prompt."""
        os.write(self.fd, line.encode() + b"\n")
        return self.until(self.prompt, timeout)

    def close(self):
        """Leave with `quit` (a Ctrl-D typed before libedit has the terminal in its own mode
        can be lost); the exit status."""
        try:
            os.write(self.fd, b"quit\n")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.pid = None
                    return os.waitstatus_to_exitcode(status)
                r, _, _ = select.select([self.fd], [], [], 0.1)
                if r:
                    try:
                        os.read(self.fd, 65536)
                    except OSError:
                        pass
            raise AssertionError("the REPL did not leave at quit")
        finally:
            if self.pid:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                self.pid = None
            os.close(self.fd)


@pytest.fixture
def basic(row, start_target):
    t = launch(start_target, row, "live_basic.py", quiescent=False)
    yield t
    clean(t)


def test_await_program_coroutine_and_task(basic):
    out = ok(basic, "await compute(21)", "p gate.set()", "await gated_task", "await gated_task")
    assert out == ["42", "None", "'opened'", "'opened'"]


def test_await_sleep_while_other_tasks_run(basic):
    out = ok(basic, "pause", "p ticks", "p ticks", "await asyncio.sleep(0.1)", "p ticks",
             "continue")
    a, b, c = int(out[1]), int(out[2]), int(out[4])
    assert a == b, "the loop must be paused between two evals"
    assert out[3] == "None"
    assert c >= a + 5, f"ticker did not run during the await: {a} -> {c}"


def test_expression_that_raises(basic):
    # A failure (exit status 1) that the traceback shows: not said again on stderr.
    r = run(basic, "p 1/0", "await fail()", "p 6*7")
    assert r.rc == 1 and r.err == "", r
    assert "ZeroDivisionError: division by zero" in r.out
    assert "ValueError: bad value" in r.out
    assert 'in fail' in r.out, "the traceback shows the program's frame"
    assert r.out.splitlines()[-1] == "42", "the session goes on after an error"
    doc = helpers.aiodbg_json("attach", basic.pid, "--json", "-c", "p 1/0", expect_rc=1)
    assert doc["ok"] is False and doc["error"] == "ZeroDivisionError: division by zero"
    assert "Traceback" in doc["traceback"]
    doc = helpers.aiodbg_json("attach", basic.pid, "--json", "-c", "p 6*7")
    assert doc == {"schema": "aiodbg/1", "ok": True, "repr": "42", "type": "int"}


def test_objects_bound_to_the_loop(basic):
    out = ok(basic, "await queue.get()", "await free_lock.acquire()", "p free_lock.locked()",
             "p free_lock.release()", "p lock.locked()", "p peer.send(b'ping\\n')",
             "await reader.readline()", "p writer.write(b'pong\\n')", "await writer.drain()",
             "p peer.recv(5)")
    assert out == ["'item-1'", "True", "True", "None", "True", "5", "b'ping\\n'", "None",
                   "None", "b'pong\\n'"]


def test_context_variables_and_locals(basic):
    # (await needs an awaitable: the write happens in one, which returns the token.)
    out = ok(basic, "select worker", "locals", "p local_a + 1", "p cv.get()",
             'await asyncio.sleep(0, cv.set("from-await"))', "p cv.get()")
    assert re.match(r"task 0x[0-9a-f]+ \(worker\), frame #1 of 2: worker \(.*live_basic.py:\d+\)",
                    out[0]), out[0]
    assert "  local_a = 41" in out
    # A cell variable shows its content, not the cell (the layout's localsplus_kind bits).
    assert "  in_cell = ['cell']" in out
    assert any(re.match(r"  peek = <function object at 0x[0-9a-f]+>$", ln) for ln in out), out
    assert out[-3] == "'w-value'"
    assert out[-2].startswith("<Token var=<ContextVar name='cv'")
    assert out[-1] == "'from-await'"
    # ... and the task's own code sees the write (it prints cv on cancellation).
    out = ok(basic, "cancel worker bye")
    deadline = time.time() + 10
    while "worker cancelled" not in basic.stderr() and time.time() < deadline:
        time.sleep(0.05)
    assert "worker cancelled: ('bye',) cv: from-await" in basic.stderr()


def test_cancel_with_message(basic):
    out = ok(basic, "pause", "cancel worker stop it", "continue")
    out = [ln for ln in out if ln.startswith("task ")]
    assert len(out) == 1, out
    assert re.match(r"task 0x[0-9a-f]+ \(worker\): cancel\(\) returned True; now pending, "
                    r"cancelling 1, message \"stop it\"", out[0]), out[0]
    deadline = time.time() + 10
    while "worker cancelled" not in basic.stderr() and time.time() < deadline:
        time.sleep(0.05)
    assert "worker cancelled: ('stop it',)" in basic.stderr()
    doc = helpers.aiodbg_json("attach", basic.pid, "-c", "tasks --json")
    w = [t for t in doc["tasks"] if t["name"] == "worker"][0]
    assert w["state"] == "pending"


def test_read_only_commands_while_paused(basic):
    r = run(basic, "pause", "tasks", "p ticks", "threads", "p ticks", "continue")
    assert r.rc == 0, r.err
    lines = r.out.splitlines()
    assert any("worker" in ln for ln in lines)
    nums = [ln for ln in lines if ln.isdigit()]
    assert len(nums) == 2 and nums[0] == nums[1], "paused: the ticker did not move"


def test_kill_debugger_while_paused(basic):
    p = subprocess.Popen([helpers.AIODBG, "attach", str(basic.pid)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        p.stdin.write("pause\n")
        p.stdin.flush()
        line = p.stdout.readline()
        assert line.startswith("paused loop"), line + p.stderr.read()
        p.kill()  # SIGKILL: no cleanup of ours runs
        p.wait()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # The channel closed; the agent must have resumed the loop at once.
    t0 = time.time()
    a = int(ok(basic, "p ticks")[0])
    time.sleep(0.2)
    b = int(ok(basic, "p ticks")[0])
    assert b > a, "the loop did not resume after the debugger was killed"
    assert time.time() - t0 < 10


def test_idle_loop_in_epoll_wait(row, start_target):
    t = launch(start_target, row, "live_modes.py", "idle")
    with open(f"/proc/{t.pid}/syscall") as f:
        nr = int(f.read().split()[0])
    assert nr in (232, 281, 441), f"not in epoll_wait: syscall {nr}"
    t0 = time.monotonic()
    out = ok(t, "pause", "p counter", "continue")
    assert out[0].startswith("paused loop") and out[1] == "0"
    assert time.monotonic() - t0 < 5
    clean(t)


def test_busy_loop_is_reported(row, start_target):
    t = launch(start_target, row, "live_modes.py", "busy", "60", quiescent=False)
    t0 = time.monotonic()
    r = run(t, "pause --timeout 2", timeout=30)
    took = time.monotonic() - t0
    assert r.rc != 0
    assert "busy" in r.out + r.err and "spin" in r.out + r.err, r.out + r.err
    assert "did not pause within 2.0 s" in r.err
    assert took < 15, f"gave up after {took:.1f}s"
    assert not t.stopped_threads()
    clean(t)


def test_inject_20_times_with_25_threads(row, start_target):
    t = launch(start_target, row, "live_modes.py", "threads", quiescent=False)
    results = []
    for _ in range(20):
        r = run(t, "p 6*7", timeout=60)
        results.append(r.out.strip() if r.rc == 0 else f"rc {r.rc}: {r.err.strip()}")
    assert results == ["42"] * 20
    # Each session's agent thread ends once its channel closes (it may need a moment to
    # get the GIL among 25 busy threads).
    assert helpers.wait_thread_count(t.pid, 26) == 26, "agent threads must end with their session"
    clean(t)


def test_remote_debugging_disabled_is_refused(row, tmp_path):
    if row.minor < (3, 14):
        pytest.skip("PEP 768 switches exist from 3.14 on")
    host_dir, inside_dir = helpers.SESSION.targets_dir(row.root)
    fifo = os.path.join(host_dir, f"fifo-nodebug-{os.getpid()}")
    os.mkfifo(fifo)
    proc = subprocess.Popen(row.cmd("-X", "disable-remote-debug", "-B", "-E", "-s",
                                    f"{inside_dir}/live_modes.py",
                                    f"{inside_dir}/{os.path.basename(fifo)}", "idle"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=helpers.TARGET_ENV, start_new_session=True)
    try:
        with open(fifo) as f:
            assert f.readline()
        r = aiodbg("attach", proc.pid, "-c", "pause")
        assert r.rc == 1
        assert "remote debugging disabled" in r.err and "disable-remote-debug" in r.err
        assert not helpers.stopped_threads(proc.pid)
    finally:
        proc.kill()
        proc.wait()
        os.unlink(fifo)


def test_ctrl_c_cancels_the_expression_not_the_program(basic):
    """Batch: Ctrl-C (SIGINT) during an await cancels the expression, and the run stops
    there with exit status 130; the program's tasks go on."""
    p = subprocess.Popen([helpers.AIODBG, "attach", str(basic.pid)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        p.stdin.write('await log("AWAITING") or asyncio.sleep(60)\np 6*7\n')
        p.stdin.flush()
        wait_log(basic, "AWAITING")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, out + err
    assert out.splitlines() == ["CancelledError: the expression was cancelled (interrupted)"], \
        out + err
    assert err.splitlines()[-1] == "aiodbg: interrupted", err
    assert "worker cancelled" not in basic.stderr()
    assert ok(basic, "p 6*7") == ["42"]


def test_abandoned_await_lets_the_loop_run(basic):
    """At the interactive prompt, a second Ctrl-C stops waiting for an await that ignores
    the first: while its expression still runs, the next command says so; when it ends, the
    loop paused only for that await runs again by itself."""
    repl = Repl(basic)
    try:
        os.write(repl.fd, b'await log("AWAITING") or stubborn(2.5)\n')
        wait_log(basic, "AWAITING")
        os.write(repl.fd, b"\x03")
        repl.until(b"Ctrl-C again: stop waiting")
        os.write(repl.fd, b"\x03")
        text = repl.until(repl.prompt)
        assert "aiodbg: stopped waiting for the expression, which is still running in the " \
               "target; the loop runs on when it ends" in text, text
        text = repl.command("p 6*7")
        assert re.search(r"^aiodbg: the expression of an interrupted await is still running on "
                         r"loop 0x[0-9a-f]+; try again when it has finished$", text, re.M), text
        deadline = time.monotonic() + 30
        nums = []
        while len(nums) < 2 or nums[-1] <= nums[0]:
            assert time.monotonic() < deadline, f"the loop did not run again: {nums}"
            nums += [int(n) for n in re.findall(r"^(\d+)$", repl.command("p ticks"), re.M)]
            time.sleep(0.05)
        assert repl.close() == 0
    finally:
        if repl.pid:
            repl.close()
