# SPDX-License-Identifier: MIT
"""Helpers of the live-control fault and safety tests (test_live_faults.py,
test_live_safety.py): starting targets/live_faults.py (as root or as nobody, in the row's
root or in a throwaway container root), reading its heartbeat, and finding the channel
directories a given debugger left."""
import itertools
import json
import os
import re
import select
import signal
import subprocess
import time

import helpers
from helpers import SESSION, TARGET_ENV

NOBODY_UID = 65534
AIODBG_DIR = re.compile(r"^aiodbg-[A-Za-z0-9]{6}$")
BAD = re.compile(r"^(SIGNAL|UNRAISABLE|LOOP-EXCEPTION)\b.*$", re.M)
# What a target run as nobody needs on the host rows: the pyenv interpreters live under
# /root (0700); reading and searching is all it gets.
NOBODY_HOST = ["setpriv", f"--reuid={NOBODY_UID}", f"--regid={NOBODY_UID}", "--clear-groups",
               "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
_counter = itertools.count()


def nobody_cmd(row, argv):
    """argv (an interpreter command line inside row's root) run as nobody."""
    if row.host:
        return NOBODY_HOST + list(argv)
    return [helpers.CHROOT, f"--userspec={NOBODY_UID}:{NOBODY_UID}", row.root] + list(argv)


class FaultTarget:
    """A live_faults.py process; .pid, .beat() (its heartbeat), .stderr(), .kill()."""

    def __init__(self, row, tag, host_dir, inside_dir):
        self.row = row
        self.tag = tag
        self.host_dir = host_dir
        self.inside_dir = inside_dir
        self.proc = None
        self.truth = None
        self.files = []
        self.started = time.time()

    def host(self, name):
        return os.path.join(self.host_dir, f"{self.tag}.{name}")

    def inside(self, name):
        return f"{self.inside_dir}/{self.tag}.{name}"

    @property
    def pid(self):
        return self.proc.pid

    def beat(self):
        try:
            with open(self.host("beat"), "rb") as f:
                return int(f.read(12) or b"0")
        except (OSError, ValueError):
            return 0

    def wait_beating(self, timeout):
        """True when the heartbeat advances within timeout seconds."""
        first = self.beat()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.beat() > first:
                return True
            time.sleep(0.01)
        return False

    def stderr(self):
        try:
            with open(self.host("log"), errors="replace") as f:
                return f.read()[-8000:]
        except OSError:
            return ""

    def bad(self):
        return BAD.findall(self.stderr())

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        for p in self.files:
            try:
                os.unlink(p)
            except OSError:
                pass


def start(row, mode, *extra, nobody=False, wrap=None, timeout=60):
    """Start live_faults.py MODE on row; extra args follow (names given as ("file", NAME)
    become FIFOs/paths of this target, created 0666 so a target run as nobody can use
    them). wrap(cmd, t) may rewrite the command (and its paths) for another root."""
    host_dir, inside_dir = SESSION.targets_dir(row.root)
    t = FaultTarget(row, f"lf{os.getpid()}-{next(_counter)}", host_dir, inside_dir)
    os.mkfifo(t.host("ready"))
    os.chmod(t.host("ready"), 0o666)
    with open(t.host("beat"), "wb"):
        pass
    os.chmod(t.host("beat"), 0o666)
    t.files += [t.host("ready"), t.host("beat"), t.host("log")]
    args = []
    for a in extra:
        if isinstance(a, tuple) and a[0] == "fifo":
            os.mkfifo(t.host(a[1]))
            os.chmod(t.host(a[1]), 0o666)
            t.files.append(t.host(a[1]))
            args.append(t.inside(a[1]))
        elif isinstance(a, tuple) and a[0] == "file":
            with open(t.host(a[1]), "w"):
                pass
            t.files.append(t.host(a[1]))
            args.append(t.inside(a[1]))
        else:
            args.append(str(a))
    argv = [row.python, "-B", "-E", "-s", f"{inside_dir}/live_faults.py", t.inside("ready"), mode,
            t.inside("beat")] + args
    if wrap:
        cmd = wrap(argv, t)
    elif nobody:
        cmd = nobody_cmd(row, argv)
    else:
        cmd = row.cmd(*argv[1:])
    fd = os.open(t.host("ready"), os.O_RDONLY | os.O_NONBLOCK)
    try:
        with open(t.host("log"), "wb") as log:
            t.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                      env=TARGET_ENV, start_new_session=True)
        data = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in data:
            if time.monotonic() > deadline or t.proc.poll() is not None:
                err = t.stderr()
                t.kill()
                raise helpers.TargetError(f"live_faults.py {mode} on {row.name}: not ready; "
                                          f"stderr:\n{err}")
            r, _, _ = select.select([fd], [], [], 0.1)
            chunk = os.read(fd, 65536) if r else b""
            data += chunk
            if r and not chunk:
                time.sleep(0.01)
    finally:
        os.close(fd)
    t.truth = json.loads(data.split(b"\n", 1)[0])
    return t


def marker_dirs(tmp, pids=None, target=None):
    """Channel directories in tmp whose marker ("DEBUGGER-PID START TARGET-PID") names one of
    the debugger pids, or the target pid."""
    found = []
    try:
        names = os.listdir(tmp)
    except OSError:
        return found
    for n in names:
        if not AIODBG_DIR.match(n):
            continue
        try:
            with open(os.path.join(tmp, n, "o")) as f:
                fields = [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            continue
        if (pids is not None and fields[:1] and fields[0] in pids) or \
                (target is not None and fields[2:3] == [target]):
            found.append(n)
    return found


def wait_not_stopped(pid, timeout=10.0):
    """{} when no thread of pid is stopped (T, t) within timeout, else what is."""
    deadline = time.monotonic() + timeout
    while True:
        st = helpers.stopped_threads(pid)
        if not st or time.monotonic() > deadline:
            return st
        time.sleep(0.01)
