# SPDX-License-Identifier: MIT
"""The debugger asked to go (issue 14): SIGTERM, SIGHUP and SIGQUIT end aiodbg the way
`quit` does, on every interpreter of the matrix.

The running command is interrupted as by Ctrl-C (an await's expression is cancelled), no
further command runs, the session closes (a paused loop runs again at once, not when the
agent's lease runs out; the agent's directory is removed), and aiodbg then dies of the
signal, so a shell sees 128 + N. The target (targets/live_basic.py) logs any signal or
unraisable exception that reaches it: there must be none (test_live.clean)."""
import os
import pty
import re
import select
import signal
import subprocess
import time

import pytest

import helpers
import test_live as tl


@pytest.fixture
def basic(row, start_target):
    t = tl.launch(start_target, row, "live_basic.py", quiescent=False)
    yield t
    tl.clean(t)


def ticks_advance(target):
    """The loop runs: `ticks` grows between two sessions (each needs the loop unpaused:
    a loop still held by the killed session's agent would not answer)."""
    first = tl.ok(target, "p ticks", timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = tl.ok(target, "p ticks", timeout=30)
        if int(now[0]) > int(first[0]):
            return
        time.sleep(0.1)
    pytest.fail(f"the loop does not run: ticks stayed at {first[0]}")


class Reader:
    """Incremental reads of a pipe or a pty master, waiting for a pattern with a deadline."""

    def __init__(self, fd):
        self.fd = fd
        self.text = ""

    def read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the pty's other side is closed
            chunk = b""
        self.text += chunk.decode("utf-8", "replace")
        return bool(chunk)

    def wait(self, pattern, timeout=30):
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text, re.M):
            left = deadline - time.monotonic()
            if left <= 0 or not self.read(left):
                pytest.fail(f"timed out waiting for {pattern!r}; output so far:\n{self.text}")
        return self.text


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_signal_during_batch_await(basic, sig):
    """Killed politely while `await` runs under its own pause: the expression is
    cancelled, the next command does not run, the loop runs again, exit by the signal."""
    p = subprocess.Popen([helpers.AIODBG, "attach", str(basic.pid), "-c", "pause",
                          "-c", "await asyncio.sleep(60)", "-c", "p 'not run'"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out = Reader(p.stdout.fileno())
        out.wait(r"^paused loop 0x[0-9a-f]+ on thread \d+")
        # The await has started when the agent's task exists in the target.
        wait_for_await_task(basic, time.monotonic() + 30)
        p.send_signal(sig)
        rest, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    text = out.text + rest.decode()
    assert p.returncode == -sig, (p.returncode, text, err)
    assert "not run" not in text, text
    assert re.search(r"^CancelledError: the expression was cancelled", text, re.M), text
    ticks_advance(basic)


def wait_for_await_task(target, deadline):
    """Until the target has the agent's `aiodbg-await` task (read from memory: the
    read-only `tasks` command needs no agent and works while the loop is held)."""
    while True:
        r = helpers.aiodbg("attach", target.pid, "-c", "tasks", timeout=30)
        if r.rc == 0 and re.search(r"\baiodbg-await\b", r.out):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the await did not start:\n{r.out}{r.err}")
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGQUIT])
def test_signal_at_the_prompt_with_the_loop_paused(basic, sig):
    """The interactive REPL sits at its prompt with the loop paused when its terminal
    goes away (SIGHUP) or it is killed: the loop runs again at once."""
    master, slave = pty.openpty()
    p = subprocess.Popen([helpers.AIODBG, "attach", str(basic.pid)], stdin=slave,
                         stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    try:
        out = Reader(master)
        out.wait(r"Ctrl-D to detach")
        os.write(master, b"pause\n")
        out.wait(r"^paused loop 0x[0-9a-f]+ on thread \d+")
        p.send_signal(sig)
        p.wait(timeout=30)
        err = p.stderr.read().decode()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    # SIGQUIT ends us like SIGTERM (no core dump of the debugger).
    want = signal.SIGTERM if sig == signal.SIGQUIT else sig
    assert p.returncode == -want, (p.returncode, out.text, err)
    ticks_advance(basic)
