# SPDX-License-Identifier: MIT
"""Snapshots that go wrong (issue 14), on every row: the debugger killed in the middle of a
100k-task snapshot never leaves the program stopped and a new session works; a program
that another tracer holds, or that has exited, is reported as what it is (exit status 3),
not as a permission problem."""
import os
import random
import re
import signal
import subprocess
import time
import zlib

import pytest

import helpers
from helpers import aiodbg, aiodbg_json, assert_one_line_error


def wait_for(what, predicate, timeout=60.0):
    """Poll predicate() until it is true; fail the test with `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)
        time.sleep(0.01)


def status_field(pid, name):
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(rf"^{name}:\s*(.*)$", f.read(), re.M)
    except OSError:
        return None
    return m.group(1).strip() if m else None


def process_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    return s[s.rindex(")") + 2]


def test_killed_during_100k_snapshot(row, start_target):
    t = start_target(row, "churn.py", 0, 0, 100000, timeout=180, quiescent=False)
    t0 = time.monotonic()
    doc = aiodbg_json("attach", t.pid, "-c", "tasks --json", timeout=300)
    took = time.monotonic() - t0
    assert len([x for x in doc["tasks"] if x["coro"] == "waiter"]) == 100000
    # Seeded, so that a failure can be replayed; the delays spread over one whole session
    # of this program (attach, the freeze, the reading, the output).
    rng = random.Random(zlib.crc32(f"faults-{row.name}".encode()))
    for sig in (signal.SIGKILL, signal.SIGTERM):
        delay = rng.uniform(0.0, took)
        p = subprocess.Popen([helpers.AIODBG, "attach", str(t.pid), "-c", "tasks --json"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)  # a random moment, not a wait for a state: that is the test
        p.send_signal(sig)
        p.wait(timeout=60)
        # The kernel lets go of every thread when its tracer dies; a handler thaws first.
        wait_for(f"pid {t.pid} to run again after {sig.name} at {delay:.3f}s",
                 lambda: not t.stopped_threads(), timeout=10)
        assert process_state(t.pid) not in (None, "Z", "X")
        doc = aiodbg_json("attach", t.pid, "-c", "info --json", timeout=120)
        assert doc["target"]["pid"] == t.pid
    doc = aiodbg_json("attach", t.pid, "-c", "tasks --json", timeout=300)
    assert len([x for x in doc["tasks"] if x["coro"] == "waiter"]) == 100000


def test_traced_by_gdb(row, start_target, tmp_path):
    t = start_target(row, "churn.py", 0, 0, 1, quiescent=False)
    fifo = tmp_path / "release"
    os.mkfifo(fifo)
    gdb = subprocess.Popen(["gdb", "-nx", "-q", "-batch", "-p", str(t.pid),
                            "-ex", f"shell read x < {fifo}"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_for("gdb to attach", lambda: status_field(t.pid, "TracerPid") == str(gdb.pid))
        r = aiodbg("attach", t.pid, "-c", "tasks")
        line = assert_one_line_error(r, rc=3)
        assert line == (f"aiodbg: process {t.pid} is traced by gdb (pid {gdb.pid}); detach it "
                        "first (only one tracer can stop a process)"), line
    finally:
        with open(fifo, "w") as f:
            f.write("\n")
        gdb.wait(timeout=60)
    wait_for("gdb to detach", lambda: status_field(t.pid, "TracerPid") == "0")
    wait_for(f"pid {t.pid} to run again", lambda: not t.stopped_threads(), timeout=10)
    doc = aiodbg_json("attach", t.pid, "-c", "tasks --json")
    assert [x["name"] for x in doc["tasks"] if x["coro"] == "waiter"] == ["c0"]


def start_child(row):
    """A Python child of ours that waits for a line on stdin, then exits; we do not reap it
    until the test ends (a zombie meanwhile)."""
    child = subprocess.Popen(row.cmd("-c", "import sys; print('ready', flush=True); "
                                     "sys.stdin.readline()"),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=helpers.TARGET_ENV)
    assert child.stdout.readline() == "ready\n"
    return child


def test_exited_target_at_attach(row):
    child = start_child(row)
    try:
        child.stdin.write("\n")
        child.stdin.flush()
        wait_for(f"pid {child.pid} to become a zombie", lambda: process_state(child.pid) == "Z")
        r = aiodbg("attach", child.pid, "-c", "info")
        line = assert_one_line_error(r, rc=3)
        assert line == (f"aiodbg: process {child.pid} has exited (its parent has not reaped "
                        "it yet)"), line
    finally:
        child.kill()
        child.wait()


def reading_stdin(pid):
    """aiodbg pid waits for its next command: blocked in read(0, ...)."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            fields = f.read().split()
    except OSError:
        return False
    return len(fields) > 1 and fields[0] == "0" and int(fields[1], 16) == 0


def test_target_exits_during_session(row):
    child = start_child(row)
    dbg = subprocess.Popen([helpers.AIODBG, "attach", str(child.pid)], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Attached (the session exists) once it waits for its first command.
        wait_for("aiodbg to attach", lambda: reading_stdin(dbg.pid))
        child.stdin.write("\n")
        child.stdin.flush()
        wait_for(f"pid {child.pid} to become a zombie", lambda: process_state(child.pid) == "Z")
        out, err = dbg.communicate(input="tasks\n", timeout=60)
        r = helpers.Result(dbg.returncode, out, err)
        line = assert_one_line_error(r, rc=3)
        assert line == (f"aiodbg: process {child.pid} has exited (its parent has not reaped "
                        "it yet)"), line
    finally:
        for p in (dbg, child):
            if p.poll() is None:
                p.kill()
            p.wait()


def test_another_aiodbg_holds_the_target(row, start_target):
    """While another aiodbg's snapshot holds the program, a second one tries again a few
    times and, if the first still holds it, says so (not a permission problem)."""
    t = start_target(row, "churn.py", 0, 0, 100000, timeout=180, quiescent=False)
    first = subprocess.Popen([helpers.AIODBG, "attach", str(t.pid), "-c", "tasks --json"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for("the first aiodbg to freeze the target",
                 lambda: status_field(t.pid, "TracerPid") == str(first.pid)
                 or first.poll() is not None)
        r = aiodbg("attach", t.pid, "-c", "info")
        if r.rc != 0:
            line = assert_one_line_error(r, rc=3)
            assert line == (f"aiodbg: process {t.pid} is being read by another aiodbg (pid "
                            f"{first.pid}); tried 12 times, try again"), line
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0, first.stderr.read()
    wait_for(f"pid {t.pid} to run again", lambda: not t.stopped_threads(), timeout=10)
