# SPDX-License-Identifier: MIT
"""The aiodbg executable as users meet it (issue 5).

- The interactive REPL, driven through a real terminal (a private tmux server per test):
  typing a command and reading its output, Tab completion of commands, options, task
  names and thread ids, history across two sessions, Ctrl-C during a long command and at
  the prompt, Ctrl-D, the progress line; the target is checked to be running (not
  stopped, not traced) afterwards.
- Batch mode (-c, -x, stdin) for every command, against a live process and a core of it,
  on every interpreter of the matrix: exit statuses (0, 1, 2, 3, first failure wins, 130
  after Ctrl-C), JSON that parses with "schema": "aiodbg/1", no escape sequences in pipes
  or with NO_COLOR.
- --help, --version and the man page agree with the code.

Targets, the matrix, cores and the never-left-stopped check come from conftest.py and
helpers.py; the target program (TARGET) lives here and is added to the session's copy of
targets/.
"""
import json
import os
import pty
import re
import select
import shlex
import shutil
import signal
import subprocess
import time
import uuid

import pytest

import helpers
from helpers import ROWS, assert_one_line_error

TOP = helpers.TOP
AIODBG = helpers.AIODBG
ESC = "\x1b"

# The target: one task with a unique name, N sleepers, one with a non-ASCII name (and
# asyncio.run's main task, so N + 3 tasks in all), then it idles on an Event. Its truth:
# pid, version, task ids.
TARGET = r'''
import asyncio, os, sys

import _truth

async def idle(ev):
    await ev.wait()

async def holder(ev):
    await idle(ev)

async def main(fifo, n, extra):
    ev = asyncio.Event()
    keep = [asyncio.create_task(holder(ev), name="worker-unique")]
    keep += [asyncio.create_task(idle(ev), name=f"sleeper-{i}") for i in range(n)]
    keep.append(asyncio.create_task(idle(ev), name="naïve-ü→1"))
    keep += [asyncio.create_task(idle(ev), name=name) for name in extra]
    await asyncio.sleep(0.2 + n / 100000)
    truth = _truth.common()
    truth["ids"] = {t.get_name(): "0x%x" % id(t) for t in keep[:4] + keep[-1:]}
    truth["os_threads"] = 1
    _truth.report(fifo, truth)
    await ev.wait()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3:]))
'''
SCRIPT = "repl_target.py"


def launch(row, ntasks=3, *names, timeout=60.0):
    """The TARGET under row's interpreter with ntasks sleepers and tasks named names."""
    host_dir, _ = helpers.SESSION.targets_dir(row.root)
    with open(os.path.join(host_dir, SCRIPT), "w", encoding="utf-8") as f:
        f.write(TARGET)
    return helpers.launch_or_fail(row, SCRIPT, ntasks, *names, timeout=timeout)


def core_args(target, core):
    args = ["core", core]
    if not target.row.host:
        args += ["--sysroot", target.row.root]
    return args


def assert_running(pid):
    """The target exists, none of its threads is stopped, and nobody traces it."""
    assert os.path.exists(f"/proc/{pid}"), f"target {pid} is gone"
    # A thread may be caught for an instant in a freeze; it must not stay stopped.
    deadline = time.monotonic() + 2
    while True:
        stopped = helpers.stopped_threads(pid)
        with open(f"/proc/{pid}/status") as f:
            tracer = re.search(r"TracerPid:\s*(\d+)", f.read()).group(1)
        if not stopped and tracer == "0":
            return
        if time.monotonic() > deadline:
            pytest.fail(f"target {pid} left stopped or traced: {stopped}, TracerPid {tracer}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def target(row):
    t = launch(row)
    yield t
    t.kill()


# --- running aiodbg -------------------------------------------------------------------


def plain_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    env.update(extra)
    return env


def run(args, stdin=None, env=None, timeout=120):
    """aiodbg ARGS with pipes for stdin, stdout and stderr; no escape may reach them, and
    every JSON document in the output follows the schema (helpers.validate)."""
    r = subprocess.run([AIODBG] + [str(a) for a in args], input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=env or plain_env(), timeout=timeout)
    for name, text in (("stdout", r.stdout), ("stderr", r.stderr)):
        assert ESC not in text, f"escape sequence in {name} of a pipe: {text[:500]!r}"
    helpers.validate_output(args, r.stdout)
    return r


def modes(t, core_path):
    """{mode: aiodbg arguments} for the live process and its core."""
    return {"live": ["attach", t.pid], "core": core_args(t, core_path)}


@pytest.fixture(autouse=True)
def need_aiodbg():
    if not os.path.exists(AIODBG):
        pytest.fail(f"{AIODBG} is not built (make)")


# --- batch mode -----------------------------------------------------------------------


def task_ids(args):
    r = run(args + ["-c", "tasks --json"])
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    return {t["name"]: t["id"] for t in doc["tasks"]}


@pytest.mark.parametrize("mode", ["live", "core"])
def test_batch_every_command(target, core, mode):
    args = modes(target, core)[mode]
    ids = task_ids(args)
    # The ids the debugger reports are the target's own.
    for name, tid in target.truth["ids"].items():
        assert ids.get(name) == tid, (name, tid, ids)
    kind = "process" if mode == "live" else "core"
    expect = {
        "info": [f"kind: {kind}", f"pid: {target.pid}", f"python: {target.truth['version']}"],
        "threads": ["MainThread"],
        "bt": ["run_forever", "main"],
        f"bt {target.pid}": ["run_forever"],
        "tasks": ["worker-unique", "sleeper-2", "6 tasks"],
        "ps": ["worker-unique"],
        "tree": ["worker-unique", "holder"],
        "tree --dot": ["digraph", "worker-unique"],
        "task worker-unique": ["Task worker-unique", ids["worker-unique"], "holder", "idle"],
        f"task {ids['sleeper-1']}": ["Task sleeper-1"],
        "help": ["tasks", "tree", "threads"],
        "help task": ["usage: task"],
    }
    for cmd, needles in expect.items():
        r = run(args + ["-c", cmd])
        assert r.returncode == 0, f"{cmd}: exit {r.returncode}: {r.stderr}"
        assert r.stderr == "", f"{cmd}: {r.stderr}"
        for n in needles:
            assert n in r.stdout, f"{cmd}: {n!r} not in:\n{r.stdout}"
    # Several commands in one run, in order, each output whole.
    r = run(args + ["-c", "info", "-c", "tasks", "-c", "tree"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.index(f"pid: {target.pid}") < r.stdout.index("6 tasks")
    if mode == "live":
        assert_running(target.pid)


@pytest.mark.parametrize("mode", ["live", "core"])
def test_batch_json(target, core, mode):
    args = modes(target, core)[mode]
    kind = "process" if mode == "live" else "core"
    ids = task_ids(args)
    for how in ("global", "per-command"):
        for cmd in ("info", "threads", "bt", "tasks", "tree", "task worker-unique",
                    f"task {ids['sleeper-0']}"):
            argv = args + (["--json", "-c", cmd] if how == "global" else ["-c", cmd + " --json"])
            r = run(argv)
            assert r.returncode == 0, f"{cmd} ({how}): {r.stderr}"
            doc = helpers.validate(json.loads(r.stdout), cmd)
            assert doc["schema"] == "aiodbg/1", cmd
            assert doc["target"]["kind"] == kind, cmd
            assert doc["target"]["pid"] == target.pid, cmd
            if cmd.startswith("task "):
                assert len(doc["tasks"]) == 1
                assert doc["tasks"][0]["id"] in (ids["worker-unique"], ids["sleeper-0"])
            if cmd in ("tasks", "tree"):
                assert {t["name"] for t in doc["tasks"]} >= {"worker-unique", "sleeper-2"}
    # --json given globally does not make commands without JSON fail.
    r = run(args + ["--json", "-c", "help"])
    assert r.returncode == 0 and "tasks" in r.stdout
    # ...but asking one of them for it is bad usage.
    r = run(args + ["-c", "help --json"])
    assert r.returncode == 2


def test_batch_exit_statuses(target, core):
    live = ["attach", target.pid]
    # A failed command: 1, one line on stderr, nothing on stdout.
    r = run(live + ["-c", "task 0xdead"])
    assert r.returncode == 1
    assert r.stdout == ""
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("aiodbg: "), r.stderr
    r = run(live + ["-c", "task no-such-task"])
    assert r.returncode == 1, r.stderr
    # Bad usage of a command: 2.
    for cmd in ("tasks --bogus", "bogus", "task", "tree --dot --json", "help nosuchcommand"):
        r = run(live + ["-c", cmd])
        assert r.returncode == 2, f"{cmd}: {r.returncode} {r.stderr}"
        assert len(r.stderr.splitlines()) == 1, r.stderr
    # Every command runs; the first failure's status is the exit status.
    r = run(live + ["-c", "task 0xdead", "-c", "tasks --bogus", "-c", "info"])
    assert r.returncode == 1
    assert f"pid: {target.pid}" in r.stdout
    assert len(r.stderr.splitlines()) == 2
    r = run(live + ["-c", "tasks --bogus", "-c", "task 0xdead", "-c", "info"])
    assert r.returncode == 2
    assert f"pid: {target.pid}" in r.stdout
    # quit ends the run; what follows does not run.
    r = run(live + ["-c", "info", "-c", "quit", "-c", "task 0xdead"])
    assert r.returncode == 0 and r.stderr == ""
    # The same on a core.
    r = run(core_args(target, core) + ["-c", "task 0xdead", "-c", "info"])
    assert r.returncode == 1 and "kind: core" in r.stdout
    assert_running(target.pid)


def test_output_that_cannot_be_written_is_a_failure(target):
    with open("/dev/full", "w") as full:
        r = subprocess.run([AIODBG, "attach", str(target.pid), "-c", "tasks"], stdout=full,
                           stderr=subprocess.PIPE, text=True)
    assert_one_line_error(helpers.Result(r.returncode, "", r.stderr), rc=1)
    assert "writing the output failed" in r.stderr


def test_bad_usage(tmp_path):
    cases = [
        ["--bogus"],
        [],
        ["attach"],
        ["attach", "notapid"],
        ["attach", "12", "13"],
        ["attach", "1", "-c"],
        ["core"],
        ["frobnicate", "1"],
        ["attach", "1", "-x", tmp_path / "no-such-script"],
    ]
    for args in cases:
        r = run(args)
        assert r.returncode == 2, f"{args}: {r.returncode} {r.stderr}"
        assert r.stdout == ""
        assert r.stderr.startswith("aiodbg: ") or "Try 'aiodbg --help'" in r.stderr, r.stderr


def free_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_unattachable_target(tmp_path):
    # No such process.
    r = run(["attach", free_pid(), "-c", "info"])
    assert r.returncode == 3, r.stderr
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("aiodbg: ")
    # A process that is not Python; it must be left running.
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        r = run(["attach", sleeper.pid, "-c", "info"])
        assert r.returncode == 3, r.stderr
        assert len(r.stderr.splitlines()) == 1, r.stderr
        assert_running(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()
    # No such core; a file that is not a core.
    r = run(["core", tmp_path / "no-such-core", "-c", "info"])
    assert r.returncode == 3, r.stderr
    junk = tmp_path / "junk"
    junk.write_bytes(b"not an ELF core\n" * 100)
    r = run(["core", junk, "-c", "info"])
    assert r.returncode == 3, r.stderr


@pytest.mark.parametrize("mode", ["live", "core"])
def test_batch_script_and_stdin(target, core, mode, tmp_path):
    args = modes(target, core)[mode]
    script = tmp_path / "cmds"
    script.write_text("# a comment\n\ninfo\n  tasks\ntask 0xdead\ntree\n")
    r = run(args + ["-x", script])
    assert r.returncode == 1, r.stderr
    assert "worker-unique" in r.stdout and "holder" in r.stdout
    assert len(r.stderr.splitlines()) == 1
    # -c and -x run in the order given.
    r = run(args + ["-c", "help", "-x", script, "-c", "threads"])
    assert r.stdout.index("Commands") < r.stdout.index("6 tasks") < r.stdout.index("MainThread")
    # Commands on standard input (not a terminal).
    r = run(args, stdin="info\n\n# nothing\ntasks\n")
    assert r.returncode == 0, r.stderr
    assert "6 tasks" in r.stdout
    r = run(args, stdin="tasks --bogus\ninfo\n")
    assert r.returncode == 2 and "python:" in r.stdout
    r = run(args + ["-x", "-"], stdin="threads\n")
    assert r.returncode == 0 and "MainThread" in r.stdout


def test_no_colour_in_pipes_or_with_no_color(target):
    # run() asserts that no escape sequence reaches a pipe; here with the variables that
    # might tempt the code into colour.
    for env in (plain_env(TERM="xterm-256color", CLICOLOR_FORCE="1"),
                plain_env(NO_COLOR="1", TERM="xterm-256color")):
        for cmd in ("tasks", "tree", "threads", "bt", "task worker-unique", "info", "help"):
            r = run(["attach", target.pid, "-c", cmd], env=env)
            assert r.returncode == 0, r.stderr


def help_commands(pid):
    """{name: usage} of every command and alias, from `help` and `help NAME`."""
    r = run(["attach", pid, "-c", "help"])
    assert r.returncode == 0, r.stderr
    names = []
    for line in r.stdout.splitlines()[1:-1]:
        if line.startswith("  ") and not line.startswith("   "):
            names += [n.strip() for n in line.split("  ")[1].split(",")]
    usages = {}
    for n in names:
        r = run(["attach", pid, "-c", f"help {n}"])
        assert r.returncode == 0 and r.stdout.startswith("usage: "), (n, r.stdout, r.stderr)
        assert all(len(line) <= 80 for line in r.stdout.splitlines()), r.stdout
        usages[n] = r.stdout.splitlines()[0]
    return usages


def test_help_version_and_man_page(repl_target):
    man = open(os.path.join(TOP, "repl", "aiodbg.1")).read()
    r = run(["--version"])
    assert r.returncode == 0
    assert re.fullmatch(r"aiodbg \d+\.\d+\.\d+\n", r.stdout)
    version = r.stdout.split()[1]
    assert f'"aiodbg {version}"' in man
    r = run(["--help"])
    assert r.returncode == 0 and r.stderr == ""
    usage = r.stdout
    assert run(["help"]).stdout == usage
    usages = help_commands(repl_target.pid)
    assert {"info", "threads", "bt", "tasks", "tree", "task", "help", "quit"} <= set(usages)
    # Every command and alias is in the man page.
    for n in usages:
        assert re.search(rf"(^\.BR? {n}\b|\b{n}\b)", man, re.M), f"{n} missing from aiodbg.1"
    # Every option of --help is in the man page; every option of the man page is one of
    # --help's or of a command's.
    command_opts = set(re.findall(r"--[a-z][a-z-]+", " ".join(usages.values())))
    for opt in re.findall(r"--[a-z][a-z-]+", usage):
        assert opt.replace("-", r"\-") in man, f"{opt} is in --help but not in aiodbg.1"
    for opt in re.findall(r"\\-\\-((?:[a-z]|\\-)+)", man):
        opt = "--" + opt.replace("\\-", "-")
        if opt == "--no-colour":  # an alias --help leaves out
            continue
        assert opt in usage or opt in command_opts, f"{opt} is in aiodbg.1 but in no usage"
    for status in ("0", "1", "2", "3", "130"):
        assert re.search(rf"^\.B {status}$", man, re.M), f"exit status {status} not in aiodbg.1"
        assert status in usage
    assert "first failure" in usage and "first failure" in man


# --- the interactive REPL, through tmux -----------------------------------------------


class Tmux:
    """A private tmux server (its own socket) with one 160x50 window."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.started = False

    def tmux(self, *args, check=True):
        # -u: the panes are UTF-8 whatever this process's locale says.
        return subprocess.run(["tmux", "-u", "-L", self.sock] + list(args), check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              encoding="utf-8")

    def start(self, argv, env=None):
        """Run argv in the window; when it exits the window shows [exit N]."""
        env = {"TERM": "xterm-256color", "LC_ALL": "C.UTF-8", **(env or {})}
        assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # A fresh server each time (a killed one may still hold its socket name). The
        # shell shares aiodbg's process group, so Ctrl-C reaches it too: the trap keeps
        # it alive (and is reset to the default for aiodbg, as an interactive shell's
        # job control would leave it).
        self.sock = f"aiodbg-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        cmd = (f"trap : INT; env -u NO_COLOR -u COLUMNS {assigns} "
               + " ".join(shlex.quote(str(a)) for a in argv)
               + '; echo "[exit $?]"; sleep 600')
        # No user configuration; scrollback long enough for the output the tests count in.
        self.tmux("-f", "/dev/null", "start-server", ";",
                  "set-option", "-g", "history-limit", "100000", ";",
                  "new-session", "-d", "-s", "main", "-x", "160", "-y", "50", "sh", "-c", cmd)
        self.started = True
        self.socket = self.tmux("display-message", "-p", "#{socket_path}").stdout.strip()

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "main", *keys)

    def type(self, text):
        self.tmux("send-keys", "-t", "main", "-l", text)

    def screen(self, escapes=False):
        args = ["capture-pane", "-p", "-J", "-t", "main", "-S", "-5000"]
        if escapes:
            args.append("-e")
        return self.tmux(*args).stdout

    def cursor_line(self):
        """The cursor's line up to the cursor (capture-pane drops trailing blanks)."""
        x, y = map(int, self.tmux("display-message", "-p", "-t", "main",
                                  "#{cursor_x} #{cursor_y}").stdout.split())
        lines = self.tmux("capture-pane", "-p", "-t", "main").stdout.split("\n")
        line = lines[y] if y < len(lines) else ""
        return line.ljust(x)[:x]

    def wait(self, pattern, timeout=20, escapes=False):
        """Wait until the screen matches pattern (a regex); returns the screen."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen(escapes)
            if re.search(pattern, s, re.M):
                return s
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {pattern!r}; screen:\n{s[-4000:]}")
            time.sleep(0.05)

    def wait_not(self, pattern, timeout=20):
        """Wait until the screen no longer matches pattern."""
        deadline = time.monotonic() + timeout
        while re.search(pattern, self.screen(), re.M):
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for the screen to leave {pattern!r}; "
                            f"screen:\n{self.screen()[-4000:]}")
            time.sleep(0.05)

    def wait_cursor_line(self, pattern, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            line = self.cursor_line()
            if re.search(pattern, line):
                return line
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {pattern!r} on the cursor line: {line!r}\n"
                            f"screen:\n{self.screen()[-3000:]}")
            time.sleep(0.05)

    def kill(self):
        if self.started:
            # Kill what runs in the pane first: a job stopped under a job-control shell
            # (the Ctrl-Z test) survives the server's SIGHUP, and under ASan LeakSanitizer's
            # tracer can hold it in a tracing stop for good.
            r = self.tmux("list-panes", "-a", "-F", "#{pane_pid}", check=False)
            for pid in descendants([int(p) for p in r.stdout.split() if p.isdigit()]):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            self.tmux("kill-server", check=False)
            self.started = False
            # The server may leave its socket behind.
            if self.socket.startswith("/") and os.path.basename(self.socket) == self.sock:
                try:
                    os.unlink(self.socket)
                except OSError:
                    pass


def descendants(roots):
    """The pids of roots and of all their descendants (from /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


@pytest.fixture
def term(tmp_path):
    if not shutil.which("tmux"):
        pytest.fail("tmux is needed for the REPL tests (tests/env/deps.sh installs it)")
    t = Tmux(tmp_path)
    yield t
    t.kill()


# The REPL does not need the whole matrix: the host's Python and the newest one.
REPL_ROWS = [r for r in ROWS if r.name in ("debian-3.11", "sid-3.14")] or ROWS[:1]


@pytest.fixture(scope="module", params=REPL_ROWS, ids=[r.name for r in REPL_ROWS])
def repl_target(request):
    t = launch(request.param)
    yield t
    t.kill()


def prompt_re(pid):
    return rf"^\(aiodbg {pid}\) "


def start_repl(term, target, tmp_path, state=None):
    state = state or tmp_path / "state"
    term.start([AIODBG, "attach", target.pid], env={"XDG_STATE_HOME": str(state)})
    term.wait(prompt_re(target.pid) + "$")


def test_repl_runs_commands(term, repl_target, tmp_path):
    pid = repl_target.pid
    start_repl(term, repl_target, tmp_path)
    term.wait(rf"attached to process {pid}, Python {re.escape(repl_target.truth['version'])}")
    term.type("info")
    term.keys("Enter")
    term.wait(rf"^pid: {pid}$")
    # A failed command: one line, and the REPL goes on.
    term.type("task 0xdead")
    term.keys("Enter")
    s = term.wait(r"^aiodbg: .*0xdead")
    term.type("tasks")
    term.keys("Enter")
    s = term.wait(r"^6 tasks$")
    assert re.search(r"^0x[0-9a-f]+ +worker-unique ", s, re.M), s
    term.type("bogus")
    term.keys("Enter")
    term.wait(r"^aiodbg: unknown command 'bogus'")
    term.wait_cursor_line(prompt_re(pid) + "$")
    term.type("quit")
    term.keys("Enter")
    term.wait(r"^\[exit 0\]$")
    assert_running(pid)


def test_repl_tab_completion(term, repl_target, tmp_path):
    pid = repl_target.pid
    start_repl(term, repl_target, tmp_path)
    # A command.
    term.type("thr")
    term.keys("Tab")
    term.wait_cursor_line(prompt_re(pid) + r"threads $")
    term.keys("Enter")
    term.wait(r"MainThread")
    # Type the next command at the next prompt (the state, not a guess at how long the
    # command takes).
    term.wait_cursor_line(prompt_re(pid) + "$")
    # A task name.
    term.type("task wor")
    term.keys("Tab")
    term.wait_cursor_line(prompt_re(pid) + r"task worker-unique $")
    term.keys("Enter")
    term.wait(r"^Task worker-unique 0x[0-9a-f]+$")
    term.wait_cursor_line(prompt_re(pid) + "$")
    # Every command that takes a task completes its names.
    for cmd in ("select", "cancel"):
        term.type(f"{cmd} wor")
        term.keys("Tab")
        term.wait_cursor_line(prompt_re(pid) + rf"{cmd} worker-unique $")
        term.keys("C-u")
    # An option.
    term.type("tasks --js")
    term.keys("Tab")
    term.wait_cursor_line(prompt_re(pid) + r"tasks --json $")
    term.keys("C-u")
    # A name that is not ASCII.
    term.type("task naï")
    term.keys("Tab")
    term.wait_cursor_line(prompt_re(pid) + r"task naïve-ü→1 $")
    term.keys("Enter")
    term.wait(rf"^Task naïve-ü→1 {repl_target.truth['ids']['naïve-ü→1']}$")
    term.wait_cursor_line(prompt_re(pid) + "$")
    # A thread id: the target has one thread, its tid is the pid.
    term.type("bt ")
    term.keys("Tab")
    term.wait_cursor_line(prompt_re(pid) + rf"bt {pid} $")
    term.keys("Enter")
    term.wait(r"run_forever")
    term.wait_cursor_line(prompt_re(pid) + "$")
    # help's argument is a command.
    term.type("help tre")
    term.keys("Tab")
    term.wait_cursor_line(prompt_re(pid) + r"help tree $")
    term.keys("C-u")
    # Several candidates: a second Tab lists them.
    term.type("task sleep")
    term.keys("Tab")
    term.wait_cursor_line(prompt_re(pid) + r"task sleeper-$")
    term.keys("Tab")
    term.wait(r"sleeper-0 +sleeper-1 +sleeper-2")
    term.keys("C-u")
    term.keys("C-d")
    term.wait(r"^\[exit 0\]$")
    assert_running(pid)


def test_repl_history_across_sessions(term, repl_target, tmp_path):
    pid = repl_target.pid
    # A state directory that does not exist yet, several levels deep.
    state = tmp_path / "deep" / "er" / "state"
    start_repl(term, repl_target, tmp_path, state=state)
    term.type("info")
    term.keys("Enter")
    term.wait(rf"^pid: {pid}$")
    term.wait_cursor_line(prompt_re(pid) + "$")
    term.type("tasks")
    term.keys("Enter")
    term.wait(r"^6 tasks$")
    term.wait_cursor_line(prompt_re(pid) + "$")
    # Spaces, a backslash and characters that are not ASCII survive the file.
    term.type("task naïve-ü→1 \\x")
    term.keys("Enter")
    term.wait(r"^aiodbg: too many arguments")
    term.wait_cursor_line(prompt_re(pid) + "$")
    term.keys("C-d")
    term.wait(r"^\[exit 0\]$")
    term.kill()
    hist = state / "aiodbg" / "history"
    assert hist.exists()
    assert hist.stat().st_mode & 0o077 == 0, oct(hist.stat().st_mode)
    assert (state / "aiodbg").stat().st_mode & 0o077 == 0
    # Each command once (bookworm's libedit append_history(1) wrote two), in the format
    # libedit reads: its cookie, then strvis-encoded lines.
    assert hist.read_bytes().decode().splitlines() == [
        "_HiStOrY_V2_", "info", "tasks",
        "task\\040na\\303\\257ve-\\303\\274\\342\\206\\2221\\040\\134x"]
    # A second session: Up shows the last command of the first, Up again the one before.
    start_repl(term, repl_target, tmp_path, state=state)
    term.keys("Up")
    term.wait_cursor_line(prompt_re(pid) + r"task naïve-ü→1 \\x$")
    term.keys("Up")
    term.wait_cursor_line(prompt_re(pid) + r"tasks$")
    term.keys("Up")
    term.wait_cursor_line(prompt_re(pid) + r"info$")
    term.keys("Enter")
    term.wait(rf"^pid: {pid}$")
    term.keys("C-d")
    term.wait(r"^\[exit 0\]$")


def test_repl_ctrl_c_at_prompt_and_ctrl_d(term, repl_target, tmp_path):
    pid = repl_target.pid
    start_repl(term, repl_target, tmp_path)
    term.type("tasks --bogus")
    term.keys("C-c")
    # A fresh prompt; the line was not run.
    term.wait(r"\^C$")
    term.wait_cursor_line(prompt_re(pid) + "$")
    term.type("info")
    term.keys("Enter")
    s = term.wait(rf"^pid: {pid}$")
    assert "unknown option" not in s
    assert_running(pid)
    # Ctrl-D at an empty prompt detaches: exit 0, target running.
    term.keys("C-d")
    term.wait(r"^\[exit 0\]$")
    assert_running(pid)


@pytest.fixture(scope="module")
def big_target():
    rows = [r for r in ROWS if r.name == "debian-3.11"] or ROWS[:1]
    t = launch(rows[0], ntasks=200000, timeout=180)
    yield t
    t.kill()


def test_repl_ctrl_c_interrupts_long_command(term, big_target, tmp_path):
    pid = big_target.pid
    start_repl(term, big_target, tmp_path)
    term.type("tasks")
    term.keys("Enter")
    # Once the table is coming, interrupt it.
    term.wait(r"sleeper-\d+", timeout=120)
    term.keys("C-c")
    term.wait(r"^aiodbg: interrupted$", timeout=20)
    term.wait_cursor_line(prompt_re(pid) + "$", timeout=20)
    assert "200003 tasks" not in term.screen()
    assert_running(pid)
    # Ctrl-C soon after Enter: during the snapshot (or, on a fast machine, early in the
    # output). The walk stops, the target is let go.
    # The output can scroll earlier interruptions out of the captured lines, so each
    # round looks at the end of the screen: "interrupted" right above a bare prompt.
    ended = rf"^aiodbg: interrupted\n\(aiodbg {pid}\)\s*\Z"
    for cmd in ("tree", "tasks --json"):
        term.type(cmd)
        term.wait_not(ended, timeout=20)
        term.keys("Enter")
        time.sleep(0.3)
        term.keys("C-c")
        term.wait(ended, timeout=20)
        term.wait_cursor_line(prompt_re(pid) + "$", timeout=20)
        assert "200003 tasks" not in term.screen()
        assert_running(pid)
    # The REPL is still usable, and so is the target.
    term.type("task worker-unique")
    term.keys("Enter")
    term.wait(r"^Task worker-unique 0x[0-9a-f]+$", timeout=120)
    assert_running(pid)
    term.keys("C-d")
    term.wait(r"^\[exit 0\]$")
    assert_running(pid)


def test_repl_core_prompt(term, repl_target, tmp_path):
    core = helpers.make_core(repl_target.pid)
    try:
        term.start([AIODBG] + core_args(repl_target, core),
                   env={"XDG_STATE_HOME": str(tmp_path / "state")})
        term.wait(rf"^\(aiodbg core\.{repl_target.pid}\) $")
        term.type("task wor")
        term.keys("Tab")
        term.wait_cursor_line(rf"^\(aiodbg core\.{repl_target.pid}\) task worker-unique $")
        term.keys("Enter")
        term.wait(rf"^Task worker-unique {repl_target.truth['ids']['worker-unique']}$")
        term.keys("C-d")
        term.wait(r"^\[exit 0\]$")
    finally:
        shutil.rmtree(os.path.dirname(core), ignore_errors=True)


def test_repl_no_color_on_terminal(term, repl_target, tmp_path):
    term.start([AIODBG, "attach", repl_target.pid],
               env={"XDG_STATE_HOME": str(tmp_path / "state"), "NO_COLOR": "1"})
    term.wait(prompt_re(repl_target.pid) + "$")
    for cmd in ("tasks", "tree", "threads", "task worker-unique"):
        term.type(cmd)
        term.keys("Enter")
    term.wait(r"^Task worker-unique")
    s = term.screen(escapes=True)
    # tmux -e shows SGR (colour) escapes as they are on the screen.
    assert not re.search(r"\x1b\[[0-9;]*m", s), repr(s[-2000:])


def stderr_on_a_terminal(args, tmp_path, env):
    """aiodbg ARGS with stderr on a pseudo-terminal, stdout in a file. Returns (exit
    status, every byte written to the terminal, stdout)."""
    out = tmp_path / "out"
    master, slave = pty.openpty()
    with open(out, "wb") as f:
        p = subprocess.Popen([AIODBG] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                             stdout=f, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if not select.select([master], [], [], 1)[0]:
            if p.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer is gone
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    rc = p.wait(timeout=60)
    return rc, seen.decode("utf-8", "replace"), out.read_text()


def test_progress_line_on_a_terminal_only(big_target, tmp_path):
    """A snapshot that reads the target longer than AIODBG_PROGRESS_DELAY_MS shows a
    progress line on stderr when that is a terminal, counting the tasks, and erases it
    before the output; with stderr a pipe there is none."""
    pid = big_target.pid
    args = ["attach", pid, "-c", "task worker-unique"]
    rc, seen, out = stderr_on_a_terminal(args, tmp_path,
                                         plain_env(AIODBG_PROGRESS_DELAY_MS="0"))
    assert rc == 0, seen
    assert "Task worker-unique" in out
    counts = [int(n) for n in re.findall(r"\r reading tasks: (\d+)…\x1b\[K", seen)]
    assert counts, repr(seen[:2000])
    assert counts == sorted(counts) and counts[-1] <= 200003, counts
    # Everything drawn was erased: the last thing on the terminal is the erase.
    assert seen.endswith("\r\x1b[K"), repr(seen[-200:])
    assert_running(pid)
    # The default delay (a second) is not reached by a small command...
    rc, seen, out = stderr_on_a_terminal(["attach", pid, "-c", "info"], tmp_path, plain_env())
    assert rc == 0 and seen == "" and "pid: " in out, (seen, out)
    # ...and a pipe never gets the line, whatever the delay.
    r = run(args, env=plain_env(AIODBG_PROGRESS_DELAY_MS="0"))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "Task worker-unique" in r.stdout
    assert_running(pid)


def test_batch_ctrl_c(big_target):
    """Ctrl-C (SIGINT) in batch mode stops the run with 130; the target keeps running."""
    pid = big_target.pid
    p = subprocess.Popen([AIODBG, "attach", str(pid), "-c", "tasks", "-c", "info"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait for the table to start (the snapshot is over; output is under way) and stop
    # reading, so that aiodbg is in the middle of writing it.
    assert p.stdout.readline().startswith("ID ")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (p.returncode, err)
    assert err.strip().splitlines()[-1] == "aiodbg: interrupted", err
    assert "pid: " not in out  # info did not run
    assert_running(pid)
    # Interrupted before any output: the same.
    p = subprocess.Popen([AIODBG, "attach", str(pid), "-c", "tasks"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode in (130, 0), (p.returncode, err)  # 0: it had already finished
    if p.returncode == 130:
        assert err.strip().splitlines()[-1] == "aiodbg: interrupted", err
    assert_running(pid)


def test_repl_colour_on_a_terminal(term, repl_target, tmp_path):
    """On a terminal without NO_COLOR the tasks table has a bold header."""
    term.start([AIODBG, "attach", repl_target.pid], env={"XDG_STATE_HOME": str(tmp_path / "state")})
    term.wait(prompt_re(repl_target.pid) + "$")
    term.type("tasks")
    term.keys("Enter")
    term.wait(r"^6 tasks$")
    s = term.screen(escapes=True)
    assert re.search(r"\x1b\[1m *ID", s), repr(s[-2000:])


def test_tasks_table_columns_align_with_non_ascii_names(repl_target):
    r = run(["attach", repl_target.pid, "-c", "tasks"], env=plain_env(COLUMNS="160"))
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if line.startswith("0x")]
    assert any("naïve-ü→1" in line for line in rows)
    columns = {line.index(" pending ") for line in rows}
    assert len(columns) == 1, "\n".join(rows)


def test_task_names_cannot_drive_the_terminal():
    """A task name is the target's string: control characters in it must not reach the
    terminal (they could clear it, retitle it, fake output)."""
    t = launch(REPL_ROWS[0], 0, "evil\x1b[2J\x1b]0;owned\x07")
    try:
        for cmd in ("tasks", "tree", "task 0x1", "tasks --json"):
            r = subprocess.run([AIODBG, "attach", str(t.pid), "-c", cmd], capture_output=True,
                               text=True)
            assert ESC not in r.stdout and "\x07" not in r.stdout, (cmd, r.stdout)
    finally:
        t.kill()


@pytest.mark.parametrize("width", [80, 100])
def test_tables_fit_the_terminal(repl_target, width):
    for cmd in ("tasks", "threads"):
        r = run(["attach", repl_target.pid, "-c", cmd], env=plain_env(COLUMNS=str(width)))
        assert r.returncode == 0, r.stderr
        long = [line for line in r.stdout.splitlines() if len(line) > width]
        assert not long, f"{cmd} at {width} columns:\n" + "\n".join(long)


def test_repl_ctrl_z_never_keeps_the_target_stopped(term, big_target, tmp_path):
    """Ctrl-Z during a snapshot suspends aiodbg only once the target is let go; after fg
    the REPL goes on."""
    pid = big_target.pid
    term.start(["bash", "--norc", "--noprofile", "-i"],
               env={"XDG_STATE_HOME": str(tmp_path / "state"), "PS1": "sh$ "})
    term.wait(r"^sh\$ $")
    term.type(f"{AIODBG} attach {pid}")
    term.keys("Enter")
    term.wait(prompt_re(pid) + "$")
    term.type("tree")
    term.keys("Enter")
    time.sleep(0.3)
    term.keys("C-z")
    term.wait(r"Stopped", timeout=120)
    # aiodbg is suspended; the target is not.
    assert_running(pid)
    term.keys("C-l")
    term.type("fg")
    term.keys("Enter")
    term.type("info")
    term.keys("Enter")
    term.wait(rf"^pid: {pid}$", timeout=60)
    term.keys("C-d")
    term.wait(r"^sh\$ $")
    assert_running(pid)


def test_repl_ctrl_d_right_after_the_prompt(repl_target):
    """Ctrl-D typed the moment the prompt appears leaves the REPL. libedit writes the prompt
    before it sets the terminal's mode: a Ctrl-D in that gap arrived in canonical mode, where
    it is no character, and was lost about once in fifteen (the REPL then sat at its prompt)."""
    for attempt in range(20):
        master, slave = pty.openpty()
        p = subprocess.Popen([AIODBG, "attach", str(repl_target.pid)], stdin=slave,
                             stdout=slave, stderr=slave)
        os.close(slave)
        seen = b""
        try:
            # The first prompt, then a command and the prompt after it: Ctrl-D at once.
            for n in (1, 2):
                deadline = time.monotonic() + 30
                while seen.count(b"(aiodbg ") < n:
                    r, _, _ = select.select([master], [], [], max(0, deadline - time.monotonic()))
                    assert r, f"no prompt #{n}:\n{seen.decode(errors='replace')}"
                    seen += os.read(master, 65536)
                if n == 1:
                    os.write(master, b"p 6*7\n")
            os.write(master, b"\x04")
            try:
                rc = p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pytest.fail(f"attempt {attempt}: Ctrl-D right after the prompt was lost:\n"
                            f"{seen.decode(errors='replace')}")
            assert rc == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            os.close(master)
    assert_running(repl_target.pid)
