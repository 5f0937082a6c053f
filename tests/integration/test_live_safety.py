# SPDX-License-Identifier: MIT
"""Live control that cannot be hijacked, stays inside a container, leaves no trace and
never uses up the target (issue 14): an impostor of the target's user, a container whose
/tmp is an absolute symlink, the 3.11-3.13 loader in a program that shadows `open`,
failed loads in a row, a main thread in join(), a loop paused by another session, a target
that exits while the agent loads. Targets: targets/live_faults.py (livefaults.py)."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import pytest

import helpers
import livefaults
from helpers import aiodbg
from livefaults import start

AGENT = os.path.join(helpers.TOP, "shared", "agent", "agent.py")


def ok(t, *commands, timeout=60):
    args = ["attach", t.pid]
    for c in commands:
        args += ["-c", c]
    r = aiodbg(*args, timeout=timeout)
    assert r.rc == 0, f"rc {r.rc}\nstdout: {r.out}\nstderr: {r.err}\ntarget: {t.stderr()}"
    return r.out.splitlines()


def no_leftovers(t):
    """No channel directory made for this target is left (others run concurrently)."""
    tmp = t.row.host_path("/tmp")
    left = livefaults.marker_dirs(tmp, target=t.pid)
    assert not left, f"channel directories left in {tmp}: {left}"


@pytest.fixture
def targets():
    started = []
    yield started
    for t in started:
        t.kill()


def test_agent_checks_who_it_talks_to(tmp_path):
    """The agent says nothing to a socket whose owner is not the debugger it was told of
    (SO_PEERCRED pid and uid), and greets the right one."""
    src = open(AGENT).read()
    for good in (True, False):
        path = str(tmp_path / f"s{int(good)}")
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(path)
        lsock.listen(1)
        cfg = {"sock": path, "token": "t0k", "lease": 5, "alive": 5,
               "dpid": os.getpid() if good else 1, "duid": os.geteuid()}
        code = f"_AIODBG = {json.dumps(cfg)}\n{src}\nimport time\ntime.sleep(3)\n"
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            lsock.settimeout(10)
            conn, _ = lsock.accept()
            conn.settimeout(10)
            data = conn.recv(65536)
            if good:
                assert json.loads(data.split(b"\n")[0])["hello"] == "t0k"
            else:
                assert data == b"", f"the agent talked to an impostor: {data!r}"
            conn.close()
        finally:
            p.kill()
            out, err = p.communicate()
            lsock.close()
        assert not err.strip(), err


def test_same_user_impostor_cannot_reach_the_agent(row, targets):
    """Target and impostor run as nobody; root loads the agent. The impostor sees the
    channel directory and may read the token, but can neither replace anything in it nor
    get an answer from the debugger, and the debugger works."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run processes as another user")
    t = start(row, "gate", ("fifo", "gate"), nobody=True)
    targets.append(t)
    stop = t.host("stop")
    t.files.append(stop)
    imp = subprocess.Popen(livefaults.nobody_cmd(row, [row.python, "-B", "-E", "-s",
                                                       f"{t.inside_dir}/impostor.py",
                                                       t.inside("stop")]),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=helpers.TARGET_ENV, start_new_session=True)
    try:
        # The loop's thread is blocked: the agent cannot load until the gate opens, so the
        # channel directory stays for the impostor to find.
        dbg = subprocess.Popen([helpers.AIODBG, "attach", str(t.pid), "-c", "p 6*7"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tmp = row.host_path("/tmp")
        deadline = time.monotonic() + 20
        while not livefaults.marker_dirs(tmp, {dbg.pid}) and time.monotonic() < deadline:
            assert dbg.poll() is None, dbg.communicate()
            time.sleep(0.01)
        assert livefaults.marker_dirs(tmp, {dbg.pid}), "no channel directory appeared"
        time.sleep(0.5)  # the impostor polls every 2 ms; give it many rounds
        with open(t.host("gate"), "wb") as g:
            g.write(b"x")
        out, err = dbg.communicate(timeout=60)
        assert dbg.returncode == 0 and out.strip() == "42", out + err
        assert ok(t, "p 6*7") == ["42"]
    finally:
        open(stop, "w").close()
        try:
            iout, ierr = imp.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            imp.kill()
            iout, ierr = imp.communicate()
    c = json.loads(iout.strip().splitlines()[-1]) if iout.strip() else None
    assert c is not None, ierr
    assert c["replaced"] == 0 and c["answered"] == 0, c
    assert c["read_token"] >= 1, f"the impostor never reached the channel directory: {c}"
    assert not t.bad(), t.bad()
    no_leftovers(t)


def _container(row, t, argv):
    """A throwaway root for one target: every top-level directory of row's root bound
    into it (in a mount namespace of the target's own), except /tmp, which is an absolute
    symlink to /DECOY; /DECOY also exists on the host, where nothing may appear. An
    interpreter under the host's /tmp is bound at /adbgpython."""
    base = row.root
    decoy = f"/adbgtest-decoy-{t.tag}"
    croot = tempfile.mkdtemp(prefix="adbgtest-root-", dir="/var/tmp")
    t.croot, t.decoy, t.made = croot, decoy, []
    os.mkdir(decoy)
    t.made.append(decoy)
    os.mkdir(croot + decoy)
    t.made.append(croot + decoy)
    os.symlink(decoy, os.path.join(croot, "tmp"))
    t.made.append(os.path.join(croot, "tmp"))
    binds = []
    for name in sorted(os.listdir(base)):
        src = os.path.join(base, name)
        dst = os.path.join(croot, name)
        if name in ("tmp", "proc", "sys") or name.startswith("adbgtest-"):
            continue
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
            t.made.append(dst)
        elif os.path.isdir(src):
            os.mkdir(dst)
            t.made.append(dst)
            binds.append((src, dst))
    # The targets directory (inside /tmp of the row's root) at /adbgtargets.
    os.mkdir(croot + "/adbgtargets")
    t.made.append(croot + "/adbgtargets")
    binds.append((t.host_dir, croot + "/adbgtargets"))
    argv = [a.replace(t.inside_dir, "/adbgtargets") for a in argv]
    # An interpreter installed under the host's /tmp (a checkout's .cache/py3.13t when the
    # checkout is in /tmp) is hidden by the container's /tmp: its prefix at /adbgpython.
    if base == "/" and argv[0].startswith("/tmp/"):
        prefix = os.path.dirname(os.path.dirname(argv[0]))
        os.mkdir(croot + "/adbgpython")
        t.made.append(croot + "/adbgpython")
        binds.append((prefix, croot + "/adbgpython"))
        argv = ["/adbgpython" + argv[0][len(prefix):]] + argv[1:]
    script = " && ".join(f"mount --rbind '{s}' '{d}'" for s, d in binds)
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            script + f' && exec {helpers.CHROOT} "$0" "$@"', croot] + argv


def _remove_container(t):
    for p in reversed(getattr(t, "made", [])):
        try:
            if os.path.islink(p):
                os.unlink(p)
            else:
                os.rmdir(p)  # never recursive: binds may be mounted there until the target dies
        except OSError:
            pass
    if getattr(t, "croot", None):
        try:
            os.rmdir(t.croot)
        except OSError:
            pass


def test_container_tmp_symlink_is_not_followed(row, targets):
    """A container whose /tmp is an absolute symlink: the channel is made where the
    symlink points inside the container, nothing appears at that path on the host, and live
    control works."""
    if os.geteuid() != 0:
        pytest.skip("needs root for a mount namespace")
    made = []  # the target, as soon as its container exists (start may fail after that)

    def wrap(argv, tt):
        made.append(tt)
        return _container(row, tt, argv)

    try:
        t = start(row, "beat", wrap=wrap)
        targets.append(t)
        seen_host = []
        dbg = subprocess.Popen([helpers.AIODBG, "attach", str(t.pid), "-c", "pause", "-c",
                                "p 6*7", "-c", "continue"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while dbg.poll() is None:
            seen_host += os.listdir(t.decoy)
            time.sleep(0.002)
        out, err = dbg.communicate()
        seen_host += os.listdir(t.decoy)
        assert not seen_host, f"created on the host at {t.decoy}: {seen_host}"
        assert dbg.returncode == 0, out + err
        assert out.splitlines()[1] == "42", out + err
        assert os.listdir(t.croot + t.decoy) == [], "the channel directory was not removed"
        assert t.wait_beating(5)
    finally:
        for tt in made:
            tt.kill()
            _remove_container(tt)


def test_loader_leaves_no_traces(row, targets):
    """A program run as under -W default that did `from os import *`: live control works
    at once, and afterwards there is no ResourceWarning, no __warningregistry__ in
    __main__, and no `queue` module it did not import itself."""
    t = start(row, "shadow")
    targets.append(t)
    t0 = time.monotonic()
    out = ok(t, "pause", "p 6*7", "p 'queue' in sys.modules",
             "p '__warningregistry__' in globals()", "continue")
    assert time.monotonic() - t0 < 8, "loading took too long"
    assert out[1] == "42"
    assert out[2] == str(t.truth["queue_at_start"]), "the agent imported queue"
    assert out[3] == "False", "the loader left __main__.__warningregistry__"
    assert t.wait_beating(5)
    # Whatever the loader left unclosed would be reported by now (a full collection).
    assert ok(t, "p __import__('gc').collect() >= 0") == ["True"]
    log = t.stderr()
    assert "ResourceWarning" not in log and "Warning" not in log, log
    assert not t.bad(), t.bad()
    no_leftovers(t)


def test_failed_loads_do_not_use_up_the_target(row, targets):
    """Ten loads that fail after the bootstrap ran (the program's audit hook refuses the
    agent file), then a load that works: no load may leave anything behind that makes a
    later one fail."""
    t = start(row, "deny", ("file", "deny"))
    targets.append(t)
    for i in range(10):
        r = aiodbg("attach", t.pid, "-c", "pause --timeout 1", timeout=60)
        assert r.rc != 0, f"load {i} should have failed: {r.out}"
        assert "unused writable memory" not in r.err, f"load {i}: {r.err}"
        assert "ran the agent's loader but no agent connected" in r.err, f"load {i}: {r.err}"
        assert not helpers.stopped_threads(t.pid)
    os.unlink(t.host("deny"))
    out = ok(t, "pause", "p 6*7", "continue")
    assert out[1] == "42", out
    assert t.wait_beating(5)
    if row.minor < (3, 14):
        # 3.14+: CPython itself reports a PEP 768 script it could not open as unraisable.
        assert not t.bad(), t.bad()
    no_leftovers(t)


def test_main_thread_in_join(row, targets):
    """The loop runs on a thread while the main thread waits in join(): 3.11-3.13 cannot
    load the agent (pending calls run on the main thread only) and say so at once; 3.14+
    loads it on the loop's thread."""
    t = start(row, "join")
    targets.append(t)
    t0 = time.monotonic()
    r = aiodbg("attach", t.pid, "-c", "pause", "-c", "p 6*7", "-c", "continue", timeout=60)
    took = time.monotonic() - t0
    if row.minor >= (3, 14):
        assert r.rc == 0 and r.out.splitlines()[1] == "42", r.out + r.err
    else:
        assert r.rc != 0
        assert "main thread is blocked in" in r.err and "join" in r.err, r.err
        assert "3.14" in r.err, r.err
        assert took < 6, f"took {took:.1f} s"
    assert not helpers.stopped_threads(t.pid)
    assert t.wait_beating(5)
    no_leftovers(t)


def test_second_session_is_told_the_loop_is_paused(row, targets):
    t = start(row, "beat")
    targets.append(t)
    a = subprocess.Popen([helpers.AIODBG, "attach", str(t.pid)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        a.stdin.write("pause\n")
        a.stdin.flush()
        line = a.stdout.readline()
        assert line.startswith("paused loop"), line + a.stderr.read()
        t0 = time.monotonic()
        r = aiodbg("attach", t.pid, "-c", "p 6*7", timeout=60)
        took = time.monotonic() - t0
        assert r.rc != 0
        assert "paused by another aiodbg session" in r.err and "/tmp/aiodbg-" in r.err, r.err
        assert took < 5, f"took {took:.1f} s"
        a.stdin.write("continue\n")
        a.stdin.flush()
        a.stdin.close()
        a.wait(timeout=30)
    finally:
        if a.poll() is None:
            a.kill()
            a.wait()
    assert t.wait_beating(5)
    no_leftovers(t)


def test_target_exits_while_the_agent_loads(row, targets):
    t = start(row, "gate", ("fifo", "gate"))
    targets.append(t)
    dbg = subprocess.Popen([helpers.AIODBG, "attach", str(t.pid), "-c", "pause"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tmp = row.host_path("/tmp")
    deadline = time.monotonic() + 20
    while not livefaults.marker_dirs(tmp, {dbg.pid}) and time.monotonic() < deadline:
        assert dbg.poll() is None, dbg.communicate()
        time.sleep(0.01)
    os.kill(t.pid, 9)  # not reaped until the end: a zombie, as under a parent that waits late
    t0 = time.monotonic()
    out, err = dbg.communicate(timeout=30)
    took = time.monotonic() - t0
    assert dbg.returncode != 0
    assert f"process {t.pid}" in err and "exited" in err, err
    assert took < 3, f"took {took:.1f} s"
    t.kill()
    assert not livefaults.marker_dirs(tmp, {dbg.pid})
