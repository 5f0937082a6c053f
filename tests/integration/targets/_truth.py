# SPDX-License-Identifier: MIT
"""Helpers shared by the integration targets: ground truth computed inside the target.

Every target is started as `python TARGET.py FIFO [ARGS...]`. It builds its state, waits
until every thread it cares about is really blocked where it says, writes ONE JSON line of
ground truth into FIFO, and then blocks forever (until the test kills it).

Frames are dicts {"function": co_qualname, "file": co_filename, "line": f_lineno}, innermost
first (the order of DESIGN.md §6). Files are as the target sees them (inside a chroot they
are relative to the chroot). Nothing here runs code that changes what the debugger should
see (no repr() of tasks, no get_name() of unnamed tasks).
"""
import inspect
import json
import os
import sys
import sysconfig
import threading
import time

# x86-64 system calls a blocked thread can sit in.
BLOCKING_SYSCALLS = {
    0,  # read
    7,  # poll
    23,  # select
    34,  # pause
    35,  # nanosleep
    61,  # wait4
    202,  # futex
    230,  # clock_nanosleep
    232,  # epoll_wait
    270,  # pselect6
    271,  # ppoll
    281,  # epoll_pwait
    441,  # epoll_pwait2
    449,  # futex_waitv
}
EPOLL_SYSCALLS = {232, 281, 441}


def frame_info(f):
    co = f.f_code
    return {"function": co.co_qualname, "file": co.co_filename, "line": f.f_lineno}


def stack(f):
    """Frames from f outwards (innermost first)."""
    out = []
    while f is not None:
        out.append(frame_info(f))
        f = f.f_back
    return out


def marker_line(func, tag):
    """Absolute line number of the line of func's source that carries the comment `# TAG`."""
    lines, first = inspect.getsourcelines(func)
    hits = [first + i for i, text in enumerate(lines) if text.rstrip().endswith("# " + tag)]
    if len(hits) != 1:
        raise RuntimeError(f"marker {tag!r} found {len(hits)} times in {func.__qualname__}")
    return hits[0]


def _proc_read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def thread_state(tid):
    """Scheduler state letter of one of our threads ('S', 'R', ...), None without /proc."""
    s = _proc_read(f"/proc/self/task/{tid}/stat")
    return s[s.rindex(")") + 2] if s else None


def thread_syscall(tid):
    """System call number the thread is blocked in, -1 when running, None without /proc."""
    s = _proc_read(f"/proc/self/task/{tid}/syscall")
    if not s:
        return None
    first = s.split()[0]
    return -1 if first == "running" else int(first)


def os_thread_count():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def wait_blocked(checks, syscalls=BLOCKING_SYSCALLS, timeout=30.0, rounds=3):
    """Wait until every thread tid in `checks` is blocked: its innermost Python frame
    satisfies checks[tid](frame), it is sleeping in the kernel, in one of `syscalls`; the
    same for `rounds` consecutive polls (the GIL is released between polls, so a thread
    that merely waits for the GIL moves on). Raises RuntimeError with the details when it
    does not happen within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    good = 0
    why = "not checked yet"
    while time.monotonic() < deadline:
        frames = sys._current_frames()
        why = None
        for tid, pred in checks.items():
            f = frames.get(_ident_of.get(tid, tid))
            if f is None:
                why = f"thread {tid}: no Python frame"
                break
            if not pred(f):
                why = f"thread {tid}: at {frame_info(f)}"
                break
            st, sc = thread_state(tid), thread_syscall(tid)
            if st is not None and (st != "S" or sc not in syscalls):
                why = f"thread {tid}: state {st}, syscall {sc}"
                break
        good = good + 1 if why is None else 0
        if good >= rounds:
            return
        time.sleep(0.02)
    raise RuntimeError(f"threads did not block in time: {why}")


# native thread id -> threading ident (sys._current_frames() is keyed by ident).
_ident_of = {}


def register_thread(thread=None):
    """Remember the ident of a thread by its native id; returns the native id."""
    t = thread or threading.current_thread()
    _ident_of[t.native_id] = t.ident
    return t.native_id


def thread_frames(tid):
    return stack(sys._current_frames()[_ident_of.get(tid, tid)])


def is_at(code_or_func, line):
    code = getattr(code_or_func, "__code__", code_or_func)
    return lambda f: f.f_code is code and f.f_lineno == line


def in_function(qualname, file_suffix=None):
    def pred(f):
        co = f.f_code
        return co.co_qualname == qualname and (file_suffix is None or co.co_filename.endswith(file_suffix))
    return pred


def common():
    """Facts every truth carries."""
    gil = getattr(sys, "_is_gil_enabled", None)
    return {
        "pid": os.getpid(),
        "version": sys.version.split()[0],
        "hexversion": sys.hexversion,
        "executable": sys.executable,
        "executable_real": os.path.realpath(sys.executable),
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": gil() if gil else True,
        "script": os.path.abspath(sys.argv[0]),
    }


def thread_facts(t, frames=None):
    d = {"tid": t.native_id, "name": t.name, "main": t is threading.main_thread(), "daemon": t.daemon}
    if frames is not None:
        d["frames"] = frames
    return d


def report(fifo, truth):
    """Write the truth as one JSON line into the FIFO (the test is reading it)."""
    line = json.dumps(truth, ensure_ascii=True, sort_keys=True) + "\n"
    with open(fifo, "w") as f:
        f.write(line)


def block_forever():
    while True:
        time.sleep(3600)  # BLOCK


BLOCK_LINE = marker_line(block_forever, "BLOCK")


def frame_info_at(function, file, line):
    return {"function": function, "file": file, "line": line}
