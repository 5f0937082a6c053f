# SPDX-License-Identifier: MIT
"""Fault tests of live control (issue 14) on every row: the debugger killed (SIGKILL,
SIGTERM) at random moments during `pause`, during `await asyncio.sleep(1)` and during the
agent's first load, and stopped (SIGSTOP) while the loop is paused. Afterwards the target
is never stopped, its loop runs again within the lease (its heartbeat advances), the
agent's thread ends, nothing hangs, and a new session works and leaves no channel
directory. Randomness is seeded per row and test; a few iterations each keep every row
well under a minute. Target: targets/live_faults.py (livefaults.py)."""
import os
import random
import signal
import subprocess
import time
import zlib

import pytest

import helpers
import livefaults
from helpers import aiodbg
from livefaults import start

# The agent's liveness lease is 5 s (inject.c); a loop must run again well within this.
RESUME_S = 12.0
ITERATIONS = 3


@pytest.fixture
def beat(row):
    t = start(row, "beat")
    yield t
    t.kill()


def rng(row, name):
    return random.Random(zlib.crc32(f"{row.name}/{name}".encode()))


def repl(t):
    return subprocess.Popen([helpers.AIODBG, "attach", str(t.pid)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill(p, sig):
    try:
        p.send_signal(sig)
    except ProcessLookupError:
        pass
    try:
        p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail(f"the debugger did not end after signal {sig}")


def recovered(t, what):
    """The target is not stopped and its loop runs (within the lease)."""
    st = livefaults.wait_not_stopped(t.pid)
    assert not st, f"{what}: target left stopped: {st}"
    assert t.wait_beating(RESUME_S), f"{what}: the loop did not run again within {RESUME_S} s"


def finish(t, pids, threads):
    """A new session works; nothing of the killed ones is left, in files or threads."""
    r = aiodbg("attach", t.pid, "-c", "p 6*7", timeout=60)
    assert r.rc == 0 and r.out.strip() == "42", r.out + r.err
    assert helpers.wait_thread_count(t.pid, threads, timeout=RESUME_S) == threads, \
        "an agent thread outlived its session"
    left = livefaults.marker_dirs(t.row.host_path("/tmp"), pids)
    assert not left, f"channel directories of killed debuggers left: {left}"
    assert not t.bad(), t.bad()


def threads_of(pid):
    with open(f"/proc/{pid}/status") as f:
        return int([ln for ln in f if ln.startswith("Threads:")][0].split()[1])


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["KILL", "TERM"])
def test_kill_during_pause(row, beat, sig):
    r = rng(row, f"pause-{sig}")
    threads = threads_of(beat.pid)
    pids = set()
    for i in range(ITERATIONS):
        p = repl(beat)
        pids.add(p.pid)
        p.stdin.write("pause\n")
        p.stdin.flush()
        time.sleep(r.uniform(0, 0.6))
        kill(p, sig)
        recovered(beat, f"iteration {i}")
    finish(beat, pids, threads)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["KILL", "TERM"])
def test_kill_during_await(row, beat, sig):
    r = rng(row, f"await-{sig}")
    threads = threads_of(beat.pid)
    pids = set()
    for i in range(ITERATIONS):
        p = repl(beat)
        pids.add(p.pid)
        p.stdin.write("await asyncio.sleep(1)\n")
        p.stdin.flush()
        time.sleep(r.uniform(0, 1.3))
        kill(p, sig)
        recovered(beat, f"iteration {i}")
    finish(beat, pids, threads)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["KILL", "TERM"])
def test_kill_during_first_load(row, beat, sig):
    r = rng(row, f"load-{sig}")
    threads = threads_of(beat.pid)
    pids = set()
    for i in range(ITERATIONS + 1):
        p = subprocess.Popen([helpers.AIODBG, "attach", str(beat.pid), "-c", "pause"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pids.add(p.pid)
        time.sleep(r.uniform(0, 0.3))
        kill(p, sig)
        recovered(beat, f"iteration {i}")
    finish(beat, pids, threads)


def test_stopped_debugger_releases_the_loop(row, beat):
    """While the debugger lives, its keepalive holds the pause even when the user is idle
    longer than the liveness lease; once it is stopped (SIGSTOP, Ctrl-Z), the loop runs
    again after the lease, and the debugger, continued, goes on."""
    p = repl(beat)
    try:
        p.stdin.write("pause\n")
        p.stdin.flush()
        line = p.stdout.readline()
        assert line.startswith("paused loop"), line + p.stderr.read()
        before = beat.beat()
        assert not beat.wait_beating(6.5), "an idle but live debugger lost its pause"
        assert beat.beat() == before
        p.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        assert beat.wait_beating(RESUME_S), "a stopped debugger kept the loop paused"
        took = time.monotonic() - t0
        assert took >= 3, f"the loop ran again after only {took:.1f} s"
        p.send_signal(signal.SIGCONT)
        out, err = p.communicate(input="p 6*7\n", timeout=60)
        assert out.splitlines()[-1] == "42", out + err
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.kill()
            p.wait()
    recovered(beat, "after the session")
    assert not beat.bad(), beat.bad()
