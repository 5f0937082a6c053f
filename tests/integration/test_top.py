# SPDX-License-Identifier: MIT
"""`aiodbg top PID` (issue 18), on every row of the matrix, against targets/task_groups.py
(its main loop is held for good by the task `blocker`, in _truth.block_forever):

- driven in tmux (a real terminal): the screen shows the running task and where it runs,
  the tasks by state and coroutine; `p` pauses the display ([PAUSED]) and resumes it; `s`
  cycles the task order (name, coroutine, longest waiting);
  `/blocker` + Enter filters the task list to that task; Enter shows its stack
  (block_forever); a key returns; `q` quits with status 0, and the terminal is restored.
- not a terminal: plain frames, one per refresh, with the same facts, until --duration.
- the process is never left stopped (conftest)."""
import os
import re
import shutil
import subprocess
import time

import pytest

import helpers


@pytest.fixture(scope="module")
def target(row):
    t = helpers.launch_or_fail(row, "task_groups.py", timeout=90)
    yield t
    t.kill()


def test_plain_frames_when_not_a_terminal(target):
    r = helpers.aiodbg("top", target.pid, "--duration", "2.2", "--refresh", "1000")
    assert r.rc == 0, r.err
    frames = [f for f in r.out.split("\n\n") if f.strip()]
    assert 2 <= len(frames) <= 3, r.out
    for f in frames:
        assert "\033" not in f
        assert f.startswith(f"aiodbg top — process {target.pid} ")
        assert re.search(r"running: task Task-\d+, for [\d.]+ s\n  in: block_forever \(_truth\.py:\d+\)", f), f
        assert "tasks: 1 running, 9 pending, 2 cancelling, 0 cancelled, 0 finished" in f, f
        assert "tasks: 0 running, 5 pending, 0 cancelling" in f, f
        assert re.search(r"\n  sleeper +5 ", f), f


def pane(session):
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                          text=True).stdout


def wait_for(session, pattern, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        screen = pane(session)
        if re.search(pattern, screen):
            return screen
        if time.monotonic() > deadline:
            pytest.fail(f"tmux: {pattern!r} not on the screen after {timeout}s:\n{screen}")
        time.sleep(0.2)


def keys(session, *k):
    subprocess.run(["tmux", "send-keys", "-t", session, *k], check=True)


def test_driven_in_tmux(target, row):
    if not shutil.which("tmux"):
        pytest.fail("tmux is missing (tests/env/deps.sh installs it)")
    session = f"aiodbg-top-{os.getpid()}-{row.name}".replace(".", "_")
    cmd = f"{helpers.AIODBG} top {target.pid}; echo TOP-EXIT-$?; sleep 60"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "150", "-y", "50", cmd],
                   check=True)
    try:
        screen = wait_for(session, r"(?s)in: block_forever \(_truth\.py:\d+\).*> Task-\d+ .*\n")
        assert re.search(r"running: task Task-\d+, for", screen), screen
        assert "tasks: 1 running, 9 pending, 2 cancelling" in screen, screen
        assert re.search(r"> Task-\d+ ", screen), screen  # a task is selected
        keys(session, "p")
        wait_for(session, r"\[PAUSED\]")
        keys(session, "p")
        screen = wait_for(session, r"samples, stopped [\d.]+ ms each\s*\n")
        keys(session, "s")
        wait_for(session, r"TASKS \(sort: name\)")
        keys(session, "s")
        wait_for(session, r"TASKS \(sort: coroutine\)")
        # The whole list, drawn, in coroutine order (by name it is not: Task-1 is main,
        # Task-10 stubborn, Task-12 thread_main, ..., Task-2 sleeper).
        deadline = time.monotonic() + 20
        while True:
            coros = [ln[2:].split()[1] for ln in pane(session).splitlines()
                     if re.match(r"[> ] Task-\d+ ", ln)]
            if len(coros) == 17 and coros == sorted(coros):
                break
            assert time.monotonic() < deadline, coros
            time.sleep(0.2)
        keys(session, "s")
        wait_for(session, r"TASKS \(sort: longest waiting\)")
        keys(session, "/", "blocker", "Enter")
        screen = wait_for(session, r"(?s)filter: blocker\).*\n> Task-\d+ .*\n")
        rows = [ln for ln in screen.splitlines() if re.match(r"[> ] Task-\d+ ", ln)]
        assert len(rows) == 1 and " blocker " in rows[0] and " running " in rows[0], screen
        keys(session, "Enter")
        # (The screen is read while tmux may still be drawing it: wait for the whole.)
        wait_for(session, r"(?s)stack of the selected task.*coroutine:  blocker.*block_forever")
        keys(session, "x")
        wait_for(session, r"TASKS \(sort")
        keys(session, "q")
        wait_for(session, r"TOP-EXIT-0")
        assert not target.stopped_threads()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
