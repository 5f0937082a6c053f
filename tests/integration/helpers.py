# SPDX-License-Identifier: MIT
"""Helpers of the integration suite: the interpreter matrix, target processes with ground
truth, gcore, and running the aiodbg binary. Fixtures wrapping these are in conftest.py.

Run with Debian's pytest: /usr/bin/python3 -m pytest -p no:cacheprovider tests/integration
Environment:
  AIODBG          the binary under test (default: build/aiodbg of this repository)
  AIODBG_MATRIX   the matrix file (default: .cache/matrix.txt, made by tests/env/matrix.sh)
  AIODBG_ROWS     comma-separated row names (or name prefixes) to restrict the matrix to
"""
import collections
import itertools
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
TARGETS = os.path.join(HERE, "targets")
AIODBG = os.environ.get("AIODBG") or os.path.join(TOP, "build", "aiodbg")
MATRIX = os.environ.get("AIODBG_MATRIX") or os.path.join(TOP, ".cache", "matrix.txt")
SID_PROC = os.path.join(TOP, "tests", "env", "sid-proc.sh")
SESSION_TAG = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
CHROOT = shutil.which("chroot") or "/usr/sbin/chroot"
TARGET_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/root"}


# ---------------------------------------------------------------------------------------
# The matrix


class Row(collections.namedtuple("Row", "name root python version")):
    """One interpreter of the matrix. root "/" is the host; otherwise `python` is a path
    inside `root` and runs as `chroot root python`."""

    @property
    def host(self):
        return self.root == "/"

    @property
    def minor(self):
        return tuple(int(x) for x in self.version.split(".")[:2])

    def cmd(self, *args):
        return ([self.python] if self.host else [CHROOT, self.root, self.python]) + list(args)

    def host_path(self, path):
        """Host path of a path as the target sees it."""
        return path if self.host else os.path.join(self.root, path.lstrip("/"))

    def __str__(self):
        return self.name


def load_matrix(path=MATRIX):
    if not os.path.exists(path):
        subprocess.run(["bash", os.path.join(TOP, "tests", "env", "matrix.sh")], check=False)
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 4 and not line.startswith("#"):
                    rows.append(Row(*parts))
    want = [w.strip() for w in os.environ.get("AIODBG_ROWS", "").split(",") if w.strip()]
    if want:
        rows = [r for r in rows if any(r.name == w or r.name.startswith(w) for w in want)]
    return rows


ROWS = load_matrix()


# ---------------------------------------------------------------------------------------
# /proc in chroot roots and the copies of the targets


class Session:
    """Per-session state: roots whose /proc we mounted, copies of the targets directory."""

    def __init__(self):
        self.mounted = []
        self.copies = {}  # root -> host path of the copy

    def mount_proc(self, root):
        if root == "/" or root in self.mounted:
            return
        p = subprocess.run(["sh", SID_PROC, "mount", root], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"cannot mount {root}/proc: {p.stderr.strip()}")
        if p.stdout.strip() == "mounted":
            self.mounted.append(root)

    def targets_dir(self, root):
        """(host path, path inside root) of this session's copy of targets/ in root."""
        if root not in self.copies:
            self.mount_proc(root)
            inside = f"/tmp/aiodbg-tests/{SESSION_TAG}"
            host = inside if root == "/" else os.path.join(root, inside.lstrip("/"))
            os.makedirs(os.path.dirname(host), mode=0o755, exist_ok=True)
            shutil.copytree(TARGETS, host, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            os.chmod(host, 0o755)
            self.copies[root] = host
        host = self.copies[root]
        inside = host if root == "/" else "/" + os.path.relpath(host, root)
        return host, inside

    def close(self):
        for host in self.copies.values():
            shutil.rmtree(host, ignore_errors=True)
        self.copies.clear()
        for root in self.mounted:
            subprocess.run(["sh", SID_PROC, "umount", root])
        self.mounted.clear()


SESSION = Session()


# ---------------------------------------------------------------------------------------
# Processes


def thread_states(pid):
    """{tid: state letter} of every thread of pid ({} when it is gone)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        out[int(tid)] = s[s.rindex(")") + 2]
    return out


def stopped_threads(pid):
    """Threads of pid in state T (stopped) or t (tracing stop)."""
    return {tid: st for tid, st in thread_states(pid).items() if st in "Tt"}


def wait_thread_count(pid, want, timeout=10.0):
    """Wait until process pid has `want` threads (/proc/PID/status); returns the last count
    seen, which is `want` unless the timeout came first."""
    deadline = time.time() + timeout
    while True:
        with open(f"/proc/{pid}/status") as f:
            threads = int(re.search(r"^Threads:\s+(\d+)", f.read(), re.M).group(1))
        if threads == want or time.time() > deadline:
            return threads
        time.sleep(0.05)


def wait_quiescent(pid, nthreads=None, timeout=20.0, rounds=3):
    """Wait until pid has nthreads threads (when given), all sleeping (state S), for
    `rounds` consecutive polls. Returns None on success, else a description."""
    deadline = time.monotonic() + timeout
    good = 0
    states = {}
    while time.monotonic() < deadline:
        states = thread_states(pid)
        ok = bool(states) and all(s == "S" for s in states.values())
        if nthreads is not None and len(states) != nthreads:
            ok = False
        good = good + 1 if ok else 0
        if good >= rounds:
            return None
        time.sleep(0.02)
    return f"threads of {pid} not quiescent after {timeout}s (want {nthreads} threads): {states}"


class Target:
    """A target program started by launch(); .pid is the host pid, .truth its ground truth."""

    _counter = itertools.count()
    alive = []  # every target not yet killed, for the never-left-stopped check

    def __init__(self, row, script, args):
        self.row = row
        self.script = script
        self.args = list(args)
        self.proc = None
        self.truth = None
        self.log = None
        self.fifo = None

    @property
    def pid(self):
        return self.proc.pid

    def stderr(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()[-4000:]
        except (OSError, TypeError):
            return ""

    def host_path(self, path):
        return self.row.host_path(path)

    def stopped_threads(self):
        return stopped_threads(self.pid)

    def kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        if self in Target.alive:
            Target.alive.remove(self)
        for p in (self.fifo, self.log):
            try:
                if p:
                    os.unlink(p)
            except OSError:
                pass

    def __repr__(self):
        return f"<Target {self.script} on {self.row.name} pid {self.proc.pid if self.proc else None}>"


class TargetError(Exception):
    pass


def launch(row, script, *args, timeout=60.0, quiescent=True):
    """Start targets/SCRIPT under row's interpreter with a FIFO, read its ground truth.

    The FIFO path (as the target sees it) is the first argument, ARGS follow. Returns a
    Target; the caller must call .kill() (the fixtures do). Raises TargetError (with the
    target's stderr) if no truth arrives within `timeout` seconds. With quiescent=True, also
    waits until the process has truth["os_threads"] threads (if the truth says) all asleep."""
    host_dir, inside_dir = SESSION.targets_dir(row.root)
    n = next(Target._counter)
    t = Target(row, script, args)
    t.fifo = os.path.join(host_dir, f"fifo-{n}")
    t.log = os.path.join(host_dir, f"stderr-{n}")
    os.mkfifo(t.fifo, 0o600)
    fd = os.open(t.fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        cmd = row.cmd("-B", "-E", "-s", f"{inside_dir}/{script}", f"{inside_dir}/fifo-{n}", *map(str, args))
        with open(t.log, "wb") as log:
            t.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                      env=TARGET_ENV, start_new_session=True)
        Target.alive.append(t)
        data = b""
        deadline = time.monotonic() + timeout
        while b"\n" not in data:
            if time.monotonic() > deadline:
                t.kill()
                raise TargetError(f"{script} on {row.name}: no ground truth after {timeout}s; "
                                  f"stderr:\n{t.stderr()}")
            r, _, _ = select.select([fd], [], [], 0.1)
            chunk = os.read(fd, 1 << 20) if r else b""
            data += chunk
            if not chunk and t.proc.poll() is not None:
                rc = t.proc.returncode
                t.kill()
                raise TargetError(f"{script} on {row.name} exited with {rc} before writing its "
                                  f"truth; stderr:\n{t.stderr()}")
            if r and not chunk:
                time.sleep(0.01)  # EOF without a writer yet or after a partial write
    finally:
        os.close(fd)
    try:
        t.truth = json.loads(data.split(b"\n", 1)[0])
    except ValueError as e:
        t.kill()
        raise TargetError(f"{script} on {row.name}: bad truth ({e}): {data[:500]!r}")
    if t.truth.get("pid") != t.proc.pid:
        pid = t.truth.get("pid")
        t.kill()
        raise TargetError(f"{script} on {row.name}: truth pid {pid} != host pid {t.proc.pid}")
    if quiescent:
        why = wait_quiescent(t.pid, t.truth.get("os_threads"))
        if why:
            t.kill()
            raise TargetError(f"{script} on {row.name}: {why}; stderr:\n{t.stderr()}")
    return t


def launch_or_fail(row, script, *args, **kw):
    """launch(), failing the calling test or fixture with the target's own report when the
    target does not start."""
    try:
        return launch(row, script, *args, **kw)
    except TargetError as e:
        pytest.fail(str(e), pytrace=False)


# ---------------------------------------------------------------------------------------
# Cores


def make_core(pid, directory=None, timeout=120):
    """gcore the live process pid into DIRECTORY (a new temp dir by default); returns the
    core's path (PREFIX.PID). The caller removes it (the gcore fixture does).

    A process in another root (the sid rows) is dumped by that root's own gcore, run in the
    root, as a container's tooling would: bookworm's gdb 13 zero-fills thread stacks that
    newer glibc protects with guard regions (smaps VmFlags "gu"), which loses frames. Such a
    core names files as the root sees them: open it with core_args() (adds --sysroot)."""
    directory = directory or tempfile.mkdtemp(prefix="aiodbg-core-")
    path = os.path.join(directory, f"core.{pid}")
    root = os.path.realpath(f"/proc/{pid}/root")
    if root != "/" and os.path.exists(os.path.join(root, "usr", "bin", "gcore")):
        inside = tempfile.mkdtemp(prefix="aiodbg-core-", dir=os.path.join(root, "tmp"))
        cmd = ["chroot", root, "gcore", "-o", os.path.join(inside[len(root):], "core"), str(pid)]
        made = os.path.join(inside, f"core.{pid}")
    else:
        inside = None
        cmd = ["gcore", "-o", os.path.join(directory, "core"), str(pid)]
        made = path
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0 or not os.path.exists(made):
            raise RuntimeError(f"gcore {pid} failed ({p.returncode}): {p.stdout[-1000:]} {p.stderr[-1000:]}")
        if inside:
            shutil.move(made, path)
            CORE_ROOTS[path] = root
    finally:
        if inside:
            shutil.rmtree(inside, ignore_errors=True)
    return path


# core path -> the root whose gcore made it (its files are named as that root sees them)
CORE_ROOTS = {}


def core_args(path):
    """The aiodbg arguments that open a core made by make_core: `core PATH`, plus
    `--sysroot ROOT` when the core was made inside another root."""
    args = ["core", path]
    if path in CORE_ROOTS:
        args += ["--sysroot", CORE_ROOTS[path]]
    return args


# ---------------------------------------------------------------------------------------
# The binary under test


Result = collections.namedtuple("Result", "rc out err")


# ---------------------------------------------------------------------------------------
# The JSON schema (docs/aiodbg.schema.json): every --json document the suite sees is checked


SCHEMA_PATH = os.path.join(TOP, "docs", "aiodbg.schema.json")
# The command (or alias) -> the $defs entry of its document.
SCHEMA_DOCS = {
    "info": "info", "threads": "threads", "bt": "bt", "backtrace": "bt", "where": "bt",
    "tasks": "tasks", "ps": "tasks", "tree": "tasks", "pstree": "tasks", "task": "task",
    "pause": "pause", "continue": "continue", "c": "continue", "cont": "continue",
    "cancel": "cancel", "select": "select", "up": "select", "down": "select",
    "locals": "locals", "eval": "result", "p": "result", "print": "result", "await": "result",
}
# Documents that no command name picks alone: an option's (schema_errors) or a mode's.
SCHEMA_EXTRA_DOCS = {"tasks_groups": "tasks --group-by", "watch_blocked": "aiodbg watch",
                     "watch_summary": "aiodbg watch"}
_validators = {}
SCHEMA_SAMPLE = 3000  # tasks of a document validated one by one (see schema_errors)


def _jsonschema():
    """Debian's python3-jsonschema. Missing, it fails the test on CI (CI=true) and on a
    developer's machine too unless AIODBG_NO_SCHEMA=1 says to go without (said in the
    report header)."""
    try:
        import jsonschema
    except ImportError:
        if os.environ.get("AIODBG_NO_SCHEMA") == "1" and not os.environ.get("CI"):
            return None
        pytest.fail("python3-jsonschema is missing: every --json output is validated against "
                    "docs/aiodbg.schema.json (apt-get install python3-jsonschema; "
                    "AIODBG_NO_SCHEMA=1 goes without, never on CI)", pytrace=False)
    return jsonschema


def schema_validator(doc_name=None):
    """A Draft 2020-12 validator of docs/aiodbg.schema.json: of any aiodbg/1 document, or
    of $defs/DOC_NAME_document (one command's). None without jsonschema (see _jsonschema)."""
    if doc_name not in _validators:
        js = _jsonschema()
        if js is None:
            return None
        with open(SCHEMA_PATH) as f:
            schema = json.load(f)
        if doc_name:
            schema = {"$schema": schema["$schema"], "$defs": schema["$defs"],
                      "$ref": f"#/$defs/{doc_name}_document"}
        js.Draft202012Validator.check_schema(schema)
        _validators[doc_name] = js.Draft202012Validator(schema)
    return _validators[doc_name]


def schema_errors(doc, command=None):
    """The schema's complaints about doc (a list of strings, empty when it validates). With
    `command` (a command line, "task w0 --json"), doc must be that command's document, or the
    error document of that command failing."""
    words = command.split() if command else []
    name = SCHEMA_DOCS.get(words[0]) if words else None
    if name == "tasks" and "--group-by" in words:
        name = "tasks_groups"
    if isinstance(doc, dict) and doc.get("ok") is False and "command" in doc:
        name = "error"
    v = schema_validator(name)
    if v is None:
        return []
    # jsonschema takes ~0.3 ms a task: a document of 100k tasks is checked on a sample
    # (the first and last 1000 and 1000 spread between), the rest of it whole.
    tasks = doc.get("tasks") if isinstance(doc, dict) else None
    if isinstance(tasks, list) and len(tasks) > SCHEMA_SAMPLE:
        k = SCHEMA_SAMPLE // 3
        step = max(1, (len(tasks) - 2 * k) // k)
        doc = dict(doc, tasks=tasks[:k] + tasks[k:-k:step] + tasks[-k:])
    return [f"{'/'.join(map(str, e.absolute_path)) or '(document)'}: {e.message[:300]}"
            for e in sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


def validate(doc, command=None, what=""):
    """Fail the test unless doc validates against the schema (see schema_errors). Returns
    doc."""
    errors = schema_errors(doc, command)
    if errors:
        pytest.fail(f"{what or command or 'aiodbg'}: the JSON does not follow docs/aiodbg.schema.json:\n  "
                    + "\n  ".join(errors[:10]) + f"\ndocument: {json.dumps(doc)[:3000]}",
                    pytrace=False)
    return doc


def commands_of(args):
    """The -c commands of an aiodbg argument list, in order."""
    args = [str(a) for a in args]
    out = []
    for i, a in enumerate(args):
        if a in ("-c", "--command") and i + 1 < len(args):
            out.append(args[i + 1])
        elif a.startswith("--command="):
            out.append(a.split("=", 1)[1])
    return out


def json_lines(out, what=""):
    """The JSON documents of an output (JSON Lines: one compact object per line); a line
    that is not JSON fails the test."""
    docs = []
    for n, line in enumerate(out.splitlines(), 1):
        try:
            docs.append(json.loads(line))
        except ValueError as e:
            pytest.fail(f"{what}: line {n} of the output is not a JSON object ({e}): {line[:2000]!r}",
                        pytrace=False)
    return docs


def validate_output(args, out):
    """Every line of an aiodbg output that is a document of schema aiodbg/1 (with --json,
    the documents are one per line) validates against the schema."""
    for line in out.splitlines():
        if line.startswith('{"schema":'):
            try:
                doc = json.loads(line)
            except ValueError as e:
                pytest.fail(f"aiodbg {' '.join(map(str, args))}: a line of the output is not JSON "
                            f"({e}): {line[:2000]!r}", pytrace=False)
            validate(doc, what=f"aiodbg {' '.join(map(str, args))}")


def aiodbg(*args, input=None, timeout=60, env=None, prefix=(), binary=None):
    """Run the aiodbg binary; returns Result(rc, out, err) (a tuple: rc, stdout, stderr).
    `prefix` is prepended to the command line (e.g. setpriv ...); `binary` replaces $AIODBG.
    Every JSON document in the output is validated against the schema (validate)."""
    binary = binary or AIODBG
    if not os.path.exists(binary):
        pytest.fail(f"aiodbg binary not found at {binary} (run `make`)", pytrace=False)
    cmd = list(prefix) + [binary] + [str(a) for a in args]
    e = dict(os.environ)
    e.update(env or {})
    try:
        p = subprocess.run(cmd, input=input, capture_output=True, text=True, errors="replace",
                           timeout=timeout, env=e)
    except subprocess.TimeoutExpired as ex:
        pytest.fail(f"aiodbg timed out after {timeout}s: {cmd}\nstdout: {ex.stdout!r:.2000}\n"
                    f"stderr: {ex.stderr!r:.2000}", pytrace=False)
    validate_output(cmd, p.stdout)
    return Result(p.returncode, p.stdout, p.stderr)


def aiodbg_json(*args, expect_rc=0, **kw):
    """Run aiodbg and parse its stdout as one JSON document (asserting the exit status),
    validated against the schema as the document of the (one) -c command."""
    r = aiodbg(*args, **kw)
    what = f"aiodbg {' '.join(map(str, args))}"
    assert r.rc == expect_rc, f"{what}: rc {r.rc}, stderr: {r.err.strip()[:2000]}"
    assert r.out.count("\n") == 1 and r.out.endswith("\n"), f"{what}: want one line of JSON: {r.out[:2000]!r}"
    try:
        doc = json.loads(r.out)
    except ValueError as e:
        pytest.fail(f"{what}: stdout is not JSON ({e}): {r.out[:2000]!r}", pytrace=False)
    cmds = commands_of(args)
    return validate(doc, cmds[0] if len(cmds) == 1 else None, what)


def aiodbg_jsonl(*args, expect_rc=0, **kw):
    """Run aiodbg with several commands; its stdout as JSON Lines: one document per command
    (-c, in order), each validated as that command's document (or its error document)."""
    r = aiodbg(*args, **kw)
    what = f"aiodbg {' '.join(map(str, args))}"
    assert r.rc == expect_rc, f"{what}: rc {r.rc}, stderr: {r.err.strip()[:2000]}"
    docs = json_lines(r.out, what)
    cmds = commands_of(args)
    if cmds:
        assert len(docs) == len(cmds), f"{what}: {len(cmds)} commands, {len(docs)} lines: {r.out[:3000]!r}"
    for i, doc in enumerate(docs):
        validate(doc, cmds[i] if cmds else None, f"{what} (line {i + 1})")
    return docs


def assert_one_line_error(r, rc=3):
    """The error contract: exit status rc, one line on stderr starting with 'aiodbg: '."""
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    assert r.rc == rc, f"want rc {rc}, got {r.rc}; stderr: {r.err.strip()[:1000]!r}"
    assert len(lines) == 1, f"want a one-line error, got {len(lines)} lines: {r.err[:1000]!r}"
    assert lines[0].startswith("aiodbg: "), f"error must start with 'aiodbg: ': {lines[0]!r}"
    return lines[0]
