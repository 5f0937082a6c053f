# SPDX-License-Identifier: MIT
"""`aiodbg info` (issue 2): every interpreter of the matrix, live and on a gcore core of the
same process; the bad-input cases; the target is never left stopped."""
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import pytest

import helpers
from helpers import ROWS, aiodbg, aiodbg_json, assert_one_line_error


# ---------------------------------------------------------------------------------------
# One target (main thread + 3 threads) and one core of it per row, shared by the tests of
# this module.


@pytest.fixture(scope="module")
def target(row):
    t = helpers.launch_or_fail(row, "three_threads.py")
    yield t
    t.kill()


def check_target(obj, t, kind):
    truth = t.truth
    assert obj.get("schema") == "aiodbg/1", obj
    tg = obj["target"]
    assert tg["kind"] == kind
    assert tg["pid"] == t.pid
    assert tg["python"]["version"] == truth["version"]
    assert tg["python"]["free_threaded"] is truth["free_threaded"]
    assert tg["thread_count"] == truth["thread_count"] == 4
    exe, real = tg["executable"], truth["executable_real"]
    assert os.path.basename(exe) == os.path.basename(real)
    if t.row.host:
        assert exe == real
    else:  # the container case: the path may be seen from the host or from the root
        assert exe in (real, t.row.host_path(real)), exe
    if kind == "process":
        assert isinstance(tg["stopped_ms"], (int, float)) and not isinstance(tg["stopped_ms"], bool)
        assert 0 <= tg["stopped_ms"] < 5000
    elif "stopped_ms" in tg:
        assert tg["stopped_ms"] is None or isinstance(tg["stopped_ms"], (int, float))


def test_truth_matches_row(row, target):
    """The harness itself: the interpreter that runs is the one the matrix names."""
    assert target.truth["version"] == row.version
    assert target.truth["thread_count"] == 4


def test_info_json_live(row, target):
    obj = aiodbg_json("attach", target.pid, "-c", "info --json")
    check_target(obj, target, "process")


def test_info_json_live_global_flag(row, target):
    obj = aiodbg_json("attach", target.pid, "-c", "info", "--json")
    check_target(obj, target, "process")


def test_info_text_live(row, target):
    r = aiodbg("attach", target.pid, "-c", "info")
    assert r.rc == 0, r.err
    assert target.truth["version"] in r.out
    assert re.search(rf"^pid:\s*{target.pid}\s*$", r.out, re.M), r.out
    assert re.search(r"^threads:\s*4\s*$", r.out, re.M), r.out


def test_info_json_core(row, target, core):
    obj = aiodbg_json(*helpers.core_args(core), "-c", "info --json")
    check_target(obj, target, "core")


def test_info_text_core(row, target, core):
    r = aiodbg(*helpers.core_args(core), "-c", "info")
    assert r.rc == 0, r.err
    assert target.truth["version"] in r.out
    assert re.search(rf"^pid:\s*{target.pid}\s*$", r.out, re.M), r.out


def test_target_still_runs_after_info(row, target):
    """Attaching must not change the target: it is still asleep where it was."""
    assert target.proc.poll() is None
    assert helpers.wait_quiescent(target.pid, 4, timeout=5) is None


# ---------------------------------------------------------------------------------------
# Bad input: a clear one-line error and exit status 3 (2 for bad usage), never a crash.


def host_row():
    rows = [r for r in ROWS if r.name == "debian-3.11"] or [r for r in ROWS if r.host]
    if not rows:
        pytest.skip("SKIP (matrix): no host interpreter in the matrix")
    return rows[0]


@pytest.fixture(scope="module")
def host_target():
    t = helpers.launch_or_fail(host_row(), "three_threads.py")
    yield t
    t.kill()


def free_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    for pid in [p.pid] + list(range(p.pid + 1000, p.pid + 2000)):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    pytest.fail("no free pid found")


def test_no_such_pid():
    pid = free_pid()
    line = assert_one_line_error(aiodbg("attach", pid, "-c", "info"))
    assert re.search(r"no (such )?process|does not exist|not found", line, re.I), line


def test_not_a_python_process():
    p = subprocess.Popen(["sleep", "60"])
    try:
        time.sleep(0.1)
        line = assert_one_line_error(aiodbg("attach", p.pid, "-c", "info"))
        assert "not a python process" in line.lower(), line
        assert not helpers.stopped_threads(p.pid), "sleep left stopped"
        assert p.poll() is None
    finally:
        p.kill()
        p.wait()


@pytest.fixture
def unprivileged_binary():
    """A copy of the binary that user nobody can run."""
    if not os.path.exists(helpers.AIODBG):
        pytest.fail(f"aiodbg binary not found at {helpers.AIODBG} (run `make`)", pytrace=False)
    d = tempfile.mkdtemp(prefix="aiodbg-bin-")
    os.chmod(d, 0o755)
    path = os.path.join(d, "aiodbg")
    shutil.copy(helpers.AIODBG, path)
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(d, ignore_errors=True)


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_permission_denied(host_target, unprivileged_binary):
    if os.geteuid() != 0:
        pytest.skip("needs root to run a process as another user")
    r = aiodbg("attach", host_target.pid, "-c", "info", prefix=NOBODY, binary=unprivileged_binary,
               env={"HOME": "/nonexistent", "XDG_STATE_HOME": "/nonexistent"})
    line = assert_one_line_error(r)
    assert "ptrace_scope" in line or "CAP_SYS_PTRACE" in line, line


def test_truncated_core(host_target, gcore):
    path = gcore(host_target.pid)
    os.truncate(path, os.path.getsize(path) // 2)
    assert_one_line_error(aiodbg("core", path, "-c", "info"))


def test_truncated_core_headers_only(host_target, gcore):
    path = gcore(host_target.pid)
    os.truncate(path, 100)  # not even a whole ELF header
    assert_one_line_error(aiodbg("core", path, "-c", "info"))


@pytest.mark.parametrize("kind", ["elf-executable", "text", "empty", "missing", "directory"])
def test_not_a_core(kind, tmp_path):
    if kind == "elf-executable":
        path = "/bin/ls"
    elif kind == "text":
        path = tmp_path / "notes.txt"
        path.write_text("this is not a core file\n" * 100)
    elif kind == "empty":
        path = tmp_path / "empty"
        path.write_bytes(b"")
    elif kind == "missing":
        path = tmp_path / "no-such-core"
    else:
        path = tmp_path
    assert_one_line_error(aiodbg("core", path, "-c", "info"))


@pytest.fixture
def orphan_core(tmp_path):
    """A core of Debian's python3.11 run from a copy that no longer exists."""
    if not os.path.exists("/usr/bin/python3.11"):
        pytest.skip("SKIP (matrix): /usr/bin/python3.11 missing")
    exe = tmp_path / "python3.11"
    shutil.copy("/usr/bin/python3.11", exe)
    os.chmod(exe, stat.S_IRWXU)
    p = subprocess.Popen([str(exe), "-c", "import sys, time; print('ready', flush=True); time.sleep(600)"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=helpers.TARGET_ENV)
    try:
        assert p.stdout.readline() == b"ready\n"
        assert helpers.wait_quiescent(p.pid, 1) is None
        core = helpers.make_core(p.pid, str(tmp_path))
    finally:
        p.kill()
        p.wait()
    os.unlink(exe)
    return core


def test_core_executable_missing(orphan_core):
    line = assert_one_line_error(aiodbg("core", orphan_core, "-c", "info"))
    assert "--sysroot" in line or "--lib-path" in line, line


def test_core_executable_missing_empty_sysroot(orphan_core, tmp_path):
    empty = tmp_path / "empty-sysroot"
    empty.mkdir()
    line = assert_one_line_error(aiodbg("core", orphan_core, "--sysroot", empty, "-c", "info"))
    assert "--sysroot" in line or "--lib-path" in line, line


@pytest.mark.parametrize("args", [
    ["attach"],
    ["attach", "notapid", "-c", "info"],
    ["attach", "-5", "-c", "info"],
    ["core"],
    ["--no-such-option"],
    ["frobnicate"],
    ["attach", "{pid}", "-c", "info", "--no-such-option"],
    ["core", "/bin/ls", "--sysroot"],
], ids=["attach-no-pid", "attach-bad-pid", "attach-negative-pid", "core-no-file", "unknown-option",
        "unknown-subcommand", "attach-unknown-option", "sysroot-no-arg"])
def test_bad_usage(args, host_target):
    args = [a.format(pid=host_target.pid) for a in args]
    r = aiodbg(*args)
    assert r.rc == 2, f"rc {r.rc}, stderr {r.err!r}"
    assert r.err.strip(), "bad usage must say what is wrong on stderr"


# ---------------------------------------------------------------------------------------
# Never left stopped: interrupt the debugger at random points, 30 times per interpreter.


@pytest.fixture(scope="module")
def counter_target(row):
    t = helpers.launch_or_fail(row, "counter.py", quiescent=False)
    yield t
    t.kill()


def read_counters(t):
    with open(t.host_path(t.truth["counter_file"]), "rb") as f:
        data = f.read(60)
    return [int(data[i:i + 20] or b"0") for i in range(0, 60, 20)]


def assert_running(t, what):
    st = helpers.stopped_threads(t.pid)
    assert not st, f"{what}: target left stopped: {st}"
    before = read_counters(t)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        time.sleep(0.01)
        now = read_counters(t)
        if all(n > b for n, b in zip(now, before)):
            return
    pytest.fail(f"{what}: target does not run (counters {before} -> {read_counters(t)}, "
                f"states {helpers.thread_states(t.pid)})")


def test_never_left_stopped(row, counter_target):
    t = counter_target
    if not os.path.exists(helpers.AIODBG):
        pytest.fail(f"aiodbg binary not found at {helpers.AIODBG} (run `make`)", pytrace=False)
    seed = sum(map(ord, row.name))
    rng = random.Random(seed)
    plan = [rng.choice([signal.SIGINT, signal.SIGTERM]) for _ in range(30)] + [signal.SIGKILL] * 5
    cmd = [helpers.AIODBG, "attach", str(t.pid)]
    for _ in range(20):
        cmd += ["-c", "info"]
    # Signal at a random point of a whole run: measure how long one run takes.
    runs = []
    for _ in range(3):
        t0 = time.monotonic()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        runs.append(time.monotonic() - t0)
    span = min(max(sorted(runs)[1], 0.005), 2.0)
    for i, sig in enumerate(plan):
        delay = rng.uniform(0, span)
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(sig)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            pytest.fail(f"iteration {i} (seed {seed}): aiodbg did not exit 10 s after {sig.name}")
        assert_running(t, f"iteration {i} (seed {seed}): {sig.name} after {delay * 1000:.1f} ms")
    assert t.proc.poll() is None
