# SPDX-License-Identifier: MIT
"""Live control from GDB (issue 7): `aio pause|continue|eval|await|cancel` on a process GDB
has attached (`gdb -p PID`), with GDB the only tracer, under bookworm's gdb (Python 3.11)
for every row of the matrix and the sid root's gdb (Python 3.14) for the rows in its root.

What must hold, besides the results: the program never sees a signal (live_basic.py logs
any), GDB's settings and selection are as they were after each command, GDB shows none of
the stops aiodbg makes, the program is stopped at the GDB prompt and runs again (its loop
resumed) once GDB has gone; a stop that is not ours (a breakpoint) ends the command and
stays for the user; cores and non-stop mode are refused with a reason.
"""
import json
import os
import re
import subprocess
import time

import pytest

import helpers
import test_gdb as tg
import test_live as tl

CASES = tg.CASES


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[f"{g.name}-{r.name}" for g, r in CASES], scope="module")
    if "gdbx" in metafunc.fixturenames:
        metafunc.parametrize("gdbx", tg.GDBS, ids=[g.name for g in tg.GDBS], scope="module")


@pytest.fixture(scope="module", autouse=True)
def _built():
    for so in {g.so for g in tg.GDBS}:
        if not os.path.exists(so):
            pytest.fail(f"{so} is missing: run `make gdbext gdbext-sid`", pytrace=False)
    yield
    for g in tg.GDBS:
        g.cleanup()


@pytest.fixture
def basic(start_target):
    """live_basic.py under the interpreter of the test's case (or the GDB's first row)."""
    made = []

    def start(row):
        t = tl.launch(start_target, row, "live_basic.py", quiescent=False)
        made.append(t)
        return t

    yield start
    for t in made:
        tl.clean(t)


def ticks(t):
    """The target's tick counter, read with the aiodbg executable (its own agent)."""
    r = helpers.aiodbg("attach", t.pid, "-c", "p ticks", timeout=60)
    assert r.rc == 0, r.err
    return int(r.out.strip())


def wait_log(t, text, timeout=10):
    deadline = time.time() + timeout
    while text not in t.stderr() and time.time() < deadline:
        time.sleep(0.05)
    return text in t.stderr()


def rows_of(g):
    return [r for r in helpers.ROWS if (g.host and r.host) or
            (not g.host and os.path.realpath(r.root) == os.path.realpath(g.root))]


def attach(g, row, pid):
    """GDB arguments to attach pid; a process in a root, seen by the host's GDB, needs the
    root as GDB's sysroot (else aiodbg refuses to resume it: test_wrong_files_are_refused)."""
    if g.host and not row.host:
        # GDB 13 finds the executable of a chrooted process only when told.
        return ["-iex", f"set sysroot /proc/{pid}/root", tg.executable(row), "-p", str(pid)]
    return ["-p", str(pid)]


def test_await_eval_cancel_pause(case, basic):
    g, row = case
    t = basic(row)
    cmds = ["aio await compute(21)", "aio pause", "aio p ticks", "aio p ticks",
            "aio await asyncio.sleep(0.1)", "aio p ticks", "aio select worker",
            "aio p local_a + 1", "aio p cv.get()", 'aio await asyncio.sleep(0, cv.set("from-gdb"))',
            "aio cancel worker bye", "aio continue", "aio p 1/0", "aio eval 6*7",
            "info threads", "show scheduler-locking", "info signals SIGINT",
            "aio pause"]
    outs, out, err = tg.run_gdb(g, attach(g, row, t.pid), cmds)
    assert "aiodbg:" not in err, err[-3000:]
    o = dict(zip(cmds, outs))
    assert o["aio await compute(21)"] == "42\n"
    assert re.fullmatch(rf"paused loop 0x[0-9a-f]+ on thread {t.pid} \(MainThread\)\n", outs[1]), outs[1]
    a, b, c = int(outs[2]), int(outs[3]), int(outs[5])
    assert a == b, "paused: the ticker must not move between two evals"
    assert outs[4] == "None\n"
    assert c >= a + 5, f"the ticker did not run during the await: {a} -> {c}"
    assert re.match(r"task 0x[0-9a-f]+ \(worker\), frame #1 of 2: worker \(.*live_basic.py:\d+\)",
                    o["aio select worker"]), o["aio select worker"]
    assert o["aio p local_a + 1"] == "42\n"
    assert o["aio p cv.get()"] == "'w-value'\n"
    assert o['aio await asyncio.sleep(0, cv.set("from-gdb"))'].startswith("<Token var=<ContextVar name='cv'")
    assert re.fullmatch(r"task 0x[0-9a-f]+ \(worker\): cancel\(\) returned True; now pending, "
                        r"cancelling 1, message \"bye\"\n", o["aio cancel worker bye"]), o["aio cancel worker bye"]
    assert re.fullmatch(r"continued loop 0x[0-9a-f]+\n", o["aio continue"])
    assert "ZeroDivisionError: division by zero" in o["aio p 1/0"]
    assert o["aio eval 6*7"] == "42\n"
    # GDB as it was: thread 1 selected, every thread stopped, its own settings.
    threads = o["info threads"]
    assert re.search(r"^\* 1 ", threads, re.M), threads
    assert "(running)" not in threads, threads
    assert '"replay"' in o["show scheduler-locking"]
    assert re.search(r"^SIGINT\s+Yes\s+Yes\s+No\b", o["info signals SIGINT"], re.M)
    # None of our stops showed.
    assert "received signal SIGINT" not in out, out[-3000:]
    # The task's own code saw the context-variable write (it prints cv when cancelled).
    assert wait_log(t, "worker cancelled: ('bye',) cv: from-gdb"), t.stderr()
    # The loop was left paused when GDB went: the agent resumed it.
    assert not t.stopped_threads()
    first = ticks(t)
    time.sleep(0.3)
    assert ticks(t) > first, "the loop did not run again after GDB left"


def test_json_documents(case, basic):
    """`aio pause|select|locals|cancel|continue --json` print the documents of the aiodbg
    executable, one line each, validated against the schema (tg.run_gdb); a failing one
    prints its error document and GDB reports the error."""
    g, row = case
    t = basic(row)
    cmds = ["aio pause --json", "aio select worker --json", "aio locals --json",
            "aio cancel worker bye --json", "aio continue --json", "aio continue --json"]
    outs, out, err = tg.run_gdb(g, attach(g, row, t.pid), cmds)
    docs = [json.loads(o) for o in outs]
    pause, sel, loc, cancel, cont, again = docs
    assert pause["paused"]["thread"] == t.pid and pause["target"]["pid"] == t.pid, pause
    assert sel["selected"]["name"] == "worker" and sel["selected"]["frame"]["function"] == "worker"
    assert {"name": "local_a", "repr": "41"} in loc["locals"], loc
    assert cancel["cancel"]["task"] == sel["selected"]["task"] and cancel["cancel"]["cancelled"] is True
    assert cancel["cancel"]["message"] == "bye" and cancel["cancel"]["cancelling"] == 1, cancel
    assert cont["continued"] == pause["paused"]["loop"], (cont, pause)
    assert (again["ok"], again["command"], again["exit_status"]) == (False, "continue --json", 1), again
    assert [ln for ln in err.splitlines() if ln.startswith("aiodbg:")] == [f"aiodbg: {again['error']}"], err


def test_breakpoint_ends_the_command(case, basic):
    g, row = case
    t = basic(row)
    cmds = ["break epoll_wait", "aio await compute(21)", "info breakpoints", "delete",
            "aio await compute(21)"]
    outs, out, err = tg.run_gdb(g, attach(g, row, t.pid), cmds)
    lines = [ln for ln in err.splitlines() if ln.startswith("aiodbg:")]
    # (When the breakpoint beat a SIGINT of aiodbg's, the message goes on to say that it is
    # still pending; the next command's resume takes it.)
    assert len(lines) == 1 and lines[0].startswith(
        "aiodbg: the program stopped for another reason while aiodbg was working "
        "with it (see above); it is left stopped there"), (outs, err[-3000:])
    assert re.search(r"Breakpoint 1, .*epoll_wait", outs[1]), outs[1]
    assert re.search(r"breakpoint already hit [1-9]", outs[2]), outs[2]
    assert outs[4] == "42\n", (outs[4], err[-3000:])
    assert not t.stopped_threads()


def test_breakpoint_after_the_pause_began(case, basic):
    """A breakpoint in the agent's reply to the pause: the loop is paused but the command
    never learns it. The next command finds that pause nobody holds, lifts it and works."""
    g, row = case
    t = basic(row)
    # The agent's replies go out with send(): the first one after the breakpoint answers
    # the next command's ping, the second its pause.
    cmds = ["aio p 1", "break send", "ignore 1 1", "aio await compute(21)", "delete",
            "aio await compute(21)", "aio continue"]
    outs, out, err = tg.run_gdb(g, attach(g, row, t.pid), cmds)
    lines = [ln for ln in err.splitlines() if ln.startswith("aiodbg:")]
    assert len(lines) == 2, (outs, err[-3000:])
    assert lines[0].startswith("aiodbg: the program stopped for another reason while aiodbg "
                               "was working with it (see above); it is left stopped there"), lines
    assert re.search(r"Breakpoint 1, .*send", outs[3]), outs[3]
    assert outs[5] == "42\n", (outs[5], err[-3000:])
    # The await's own pause ended with it: no loop is left paused.
    assert lines[1] == "aiodbg: no loop is paused", lines
    assert not t.stopped_threads()
    first = ticks(t)
    time.sleep(0.3)
    assert ticks(t) > first, "the loop did not run again after GDB left"


def test_settings_are_put_back(gdbx, basic):
    """SIGINT passed to the program and scheduler-locking on, as a user may have them:
    aiodbg sets what it needs for the command only, and the program gets no SIGINT."""
    rows = rows_of(gdbx)
    if not rows:
        pytest.fail(f"no interpreter for {gdbx.name}", pytrace=False)
    t = basic(rows[0])
    cmds = ["handle SIGINT nostop noprint pass", "set scheduler-locking on", "show pagination",
            "aio await compute(21)", "info signals SIGINT", "show scheduler-locking", "show pagination"]
    outs, out, err = tg.run_gdb(gdbx, attach(gdbx, rows[0], t.pid), cmds)
    assert "aiodbg:" not in err, err[-3000:]
    assert outs[3] == "42\n"
    assert re.search(r"^SIGINT\s+No\s+No\s+Yes\b", outs[4], re.M), outs[4]
    assert '"on"' in outs[5]
    assert outs[6] == outs[2]  # aiodbg turns the pager off while it runs the program


def test_non_stop_is_refused(gdbx, basic):
    rows = rows_of(gdbx)
    if not rows:
        pytest.fail(f"no interpreter for {gdbx.name}", pytrace=False)
    t = basic(rows[0])
    outs, out, err = tg.run_gdb(gdbx, ["-iex", "set non-stop on"] + attach(gdbx, rows[0], t.pid),
                                ["interrupt -a", "aio pause"])
    assert "aiodbg: live control from GDB needs all-stop mode" in err, err[-3000:]


def test_core_is_refused(basic):
    g = next((g for g in tg.GDBS if g.host), None)
    row = next((r for r in helpers.ROWS if r.host), None)
    if not g or not row:
        pytest.fail("no host GDB or host interpreter", pytrace=False)
    t = basic(row)
    core = helpers.make_core(t.pid)
    try:
        outs, out, err = tg.run_gdb(g, [tg.executable(row), core], ["aio await 1", "aio tasks"])
    finally:
        subprocess.run(["rm", "-rf", os.path.dirname(core)])
    assert "aiodbg: 'await' needs a live process; this is a core file" in err, err[-3000:]
    assert "worker" in outs[1]


def test_wrong_files_are_refused(basic):
    """The host's GDB on a process in the sid root, without `set sysroot`: GDB has loaded the
    host's libraries, and resuming the process would plant breakpoints at wrong places."""
    g = next((g for g in tg.GDBS if g.host), None)
    row = next((r for r in helpers.ROWS if not r.host), None)
    if not g or not row:
        pytest.fail("needs the host GDB and an interpreter in a root", pytrace=False)
    t = basic(row)
    outs, out, err = tg.run_gdb(g, ["-p", str(t.pid)], ["aio await compute(21)", "aio tasks"])
    assert re.search(rf"aiodbg: GDB has loaded /\S+, but process {t.pid} does not map that file "
                     rf".*'set sysroot /proc/{t.pid}/root' before attaching", err), err[-3000:]
    assert "worker" in outs[1], "read-only commands still work"


def _pty_gdb(argv):
    """Start argv on a pseudo-terminal: GDB as a user runs it (prompt, pager, Ctrl-C)."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    return pid, fd


def _read_until(fd, pattern, timeout=60):
    """Read the pty until pattern (bytes) shows; answers GDB's pager with 'c'."""
    import select
    buf, deadline = b"", time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        buf += data
        if b"--Type <RET>" in buf[-300:]:
            buf = buf.replace(b"--Type <RET>", b"--paged--")
            os.write(fd, b"c\n")
        if pattern in buf:
            return buf
    raise AssertionError(f"no {pattern!r} within {timeout}s; got:\n{buf[-2000:]!r}")


def test_ctrl_c_cancels_the_expression(gdbx, basic):
    """Interactive GDB on a terminal: Ctrl-C during `aio await` cancels the expression (as
    in the REPL), GDB's prompt comes back, the program gets no SIGINT and goes on. The user
    passes SIGINT to the program: aiodbg changes that for its commands without asking the
    user GDB's "SIGINT is used by the debugger" question, and puts it back."""
    rows = rows_of(gdbx)
    if not rows:
        pytest.fail(f"no interpreter for {gdbx.name}", pytrace=False)
    t = basic(rows[0])
    argv = gdbx.argv() + ["-nx", "-q", "-iex", "set debuginfod enabled off", "-iex",
                          "set auto-load python-scripts off", "-x", gdbx.script()] + attach(gdbx, rows[0], t.pid)
    pid, fd = _pty_gdb(argv)
    try:
        _read_until(fd, b"(gdb) ")
        os.write(fd, b"handle SIGINT nostop noprint pass\n")
        _read_until(fd, b"(y or n)")
        os.write(fd, b"y\n")
        _read_until(fd, b"(gdb) ")
        os.write(fd, b"aio p 6*7\n")
        out = _read_until(fd, b"(gdb) ", 30)
        assert b"(y or n)" not in out, out
        os.write(fd, b"aio await asyncio.sleep(60)\n")
        time.sleep(2)
        os.write(fd, b"\x03")
        start = time.time()
        out = _read_until(fd, b"(gdb) ", 30)
        assert time.time() - start < 10
        assert b"CancelledError: the expression was cancelled (interrupted)" in out, out
        os.write(fd, b"aio p 6*7\n")
        out = _read_until(fd, b"(gdb) ", 30)
        plain = re.sub(rb"\x1b\[[0-9;?]*[a-zA-Z]", b"", out).replace(b"\r", b"")
        assert re.search(rb"^42$", plain, re.M), out
        os.write(fd, b"info signals SIGINT\n")
        out = _read_until(fd, b"(gdb) ", 30)
        assert re.search(rb"SIGINT\s+No\s+No\s+Yes", out), out
        os.write(fd, b"quit\n")
        _read_until(fd, b"(y or n)", 30)
        os.write(fd, b"y\n")
        os.waitpid(pid, 0)
        pid = None
    finally:
        if pid:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    assert not t.stopped_threads()


def test_program_exits_during_a_command(gdbx, basic):
    rows = rows_of(gdbx)
    if not rows:
        pytest.fail(f"no interpreter for {gdbx.name}", pytrace=False)
    t = basic(rows[0])
    outs, out, err = tg.run_gdb(gdbx, attach(gdbx, rows[0], t.pid),
                                ["aio p 1", "aio p os._exit(3)", "aio tasks"])
    assert outs[0] == "1\n"
    assert re.search(rf"\[Inferior 1 \(process {t.pid}\) exited with code 03\]", outs[1]), outs[1]
    lines = [ln for ln in err.splitlines() if ln.startswith("aiodbg:")]
    assert lines[:2] == ["aiodbg: the program exited",
                         "aiodbg: GDB has no process and no core file; attach with 'attach PID' "
                         "or load one with 'core-file CORE'"], err[-3000:]
    assert t.proc.wait(timeout=10) == 3


def test_busy_threads(gdbx, start_target):
    """25 Python threads busy beside the loop: every command gets its answer (GDB stops and
    resumes 26 threads several times per command), and the agent's thread ends with GDB."""
    rows = rows_of(gdbx)
    if not rows:
        pytest.fail(f"no interpreter for {gdbx.name}", pytrace=False)
    t = tl.launch(start_target, rows[0], "live_modes.py", "threads", quiescent=False)
    cmds = ["aio p 6*7"] * 10 + ["aio pause", "aio p 1", "aio continue"]
    outs, out, err = tg.run_gdb(gdbx, attach(gdbx, rows[0], t.pid), cmds)
    assert "aiodbg:" not in err, err[-3000:]
    assert outs[:10] == ["42\n"] * 10
    assert outs[11] == "1\n"
    assert helpers.wait_thread_count(t.pid, 26) == 26, "the agent's thread must end once GDB has gone"
    tl.clean(t)
