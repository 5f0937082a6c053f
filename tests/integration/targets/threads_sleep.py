# SPDX-License-Identifier: MIT
"""Threads and Python stacks (issue 3). Five threads, each blocked in a known place:

  MainThread    <module> -> main -> a -> b -> c, blocked in time.sleep (the marked line of c)
  lock-waiter   lock_outer -> lock_inner, blocked in lock.acquire()
  ñandú         ñandú_wait (a non-ASCII function name, in a thread with a non-ASCII name),
                blocked in time.sleep
  gen-coro      drive -> coro_body (a coroutine frame, driven by send()) -> gen_sleep (a
                generator frame, driven by next()), blocked in time.sleep
  deep          recurse, 1000 frames deep (depth 999 .. 0), blocked in lock.acquire()

plus a suspended generator (SUSPENDED_GEN) and a suspended coroutine (SUSPENDED_CORO)
that are on no thread's stack.

Truth: common facts; thread_count/os_threads 5; "threads": for each thread its native id,
name, main flag and frames innermost first (from sys._current_frames(), taken once every
thread is blocked); "expect": the innermost frames each test can rely on, by thread name,
as [function, file, line]; "suspended": the generator's and the coroutine's own frames;
"deep": the recursion depth. A short-lived reporter thread computes this and exits before
the test starts (the harness waits for 5 threads, all asleep)."""
import os
import sys
import threading
import time
import traceback

import _truth

FOREVER = 1e6
LOCK = threading.Lock()
LOCK.acquire()
DEPTH = 1000
sys.setrecursionlimit(DEPTH + 500)


# --- MainThread: a -> b -> c ----------------------------------------------------------


def a(fifo):
    b(fifo)


def b(fifo):
    c(fifo)


def c(fifo):
    start_reporter(fifo)
    while True:
        time.sleep(FOREVER)  # SLEEP-C


# --- lock-waiter ----------------------------------------------------------------------


def lock_outer():
    lock_inner()


def lock_inner():
    LOCK.acquire()  # LOCK-INNER


# --- ñandú ----------------------------------------------------------------------------


def ñandú_wait():
    while True:
        time.sleep(FOREVER)  # SLEEP-NANDU


# --- gen-coro: a coroutine frame and a generator frame on a thread's stack ------------


def gen_sleep():
    yield "first"
    while True:
        time.sleep(FOREVER)  # SLEEP-GEN
    yield "never"


async def coro_body():
    g = gen_sleep()
    next(g)
    next(g)  # CORO-NEXT


def drive():
    coro = coro_body()
    coro.send(None)  # DRIVE-SEND


# --- deep -----------------------------------------------------------------------------


def recurse(n):
    if n == 0:
        LOCK.acquire()  # RECURSE-BOTTOM
    else:
        recurse(n - 1)  # RECURSE-CALL


# --- suspended, on no stack -----------------------------------------------------------


def suspended_gen():
    x = 1
    yield x  # SUSP-GEN
    yield x + 1


class Never:
    def __await__(self):
        yield "parked"


async def suspended_coro():
    await Never()  # SUSP-CORO


SUSPENDED_GEN = suspended_gen()
next(SUSPENDED_GEN)
SUSPENDED_CORO = suspended_coro()
SUSPENDED_CORO.send(None)


# --- the reporter ---------------------------------------------------------------------

THREADS = {}


def line(func, tag):
    return _truth.marker_line(func, tag)


def start_reporter(fifo):
    _truth.register_thread(threading.main_thread())
    threading.Thread(target=report, args=(fifo,), name="reporter", daemon=True).start()


def report(fifo):
    try:
        _report(fifo)
    except BaseException:  # make the failure visible to the test
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(3)


def _report(fifo):
    mt = threading.main_thread()
    me = __file__
    for t in THREADS.values():
        _truth.register_thread(t)
    expect = {
        "MainThread": [
            ["c", me, line(c, "SLEEP-C")],
            ["b", me, b.__code__.co_firstlineno + 1],
            ["a", me, a.__code__.co_firstlineno + 1],
            ["main", me, line(main, "MAIN-A")],
            ["<module>", me, line_module("MODULE-MAIN")],
        ],
        "lock-waiter": [
            ["lock_inner", me, line(lock_inner, "LOCK-INNER")],
            ["lock_outer", me, lock_outer.__code__.co_firstlineno + 1],
        ],
        "ñandú": [["ñandú_wait", me, line(ñandú_wait, "SLEEP-NANDU")]],
        "gen-coro": [
            ["gen_sleep", me, line(gen_sleep, "SLEEP-GEN")],
            ["coro_body", me, line(coro_body, "CORO-NEXT")],
            ["drive", me, line(drive, "DRIVE-SEND")],
        ],
        "deep": [["recurse", me, line(recurse, "RECURSE-BOTTOM")]]
        + [["recurse", me, line(recurse, "RECURSE-CALL")]] * (DEPTH - 1),
    }
    checks = {
        mt.native_id: _truth.is_at(c, line(c, "SLEEP-C")),
        THREADS["lock-waiter"].native_id: _truth.is_at(lock_inner, line(lock_inner, "LOCK-INNER")),
        THREADS["ñandú"].native_id: _truth.is_at(ñandú_wait, line(ñandú_wait, "SLEEP-NANDU")),
        THREADS["gen-coro"].native_id: _truth.is_at(gen_sleep, line(gen_sleep, "SLEEP-GEN")),
        THREADS["deep"].native_id: _truth.is_at(recurse, line(recurse, "RECURSE-BOTTOM")),
    }
    _truth.wait_blocked(checks)
    threads = [mt] + [THREADS[n] for n in ("lock-waiter", "ñandú", "gen-coro", "deep")]
    truth = _truth.common()
    truth["thread_count"] = len(threads)
    truth["os_threads"] = len(threads)
    truth["threads"] = [_truth.thread_facts(t, _truth.thread_frames(t.native_id)) for t in threads]
    truth["expect"] = expect
    truth["deep"] = DEPTH
    truth["suspended"] = {
        "generator": {"frame": _truth.frame_info(SUSPENDED_GEN.gi_frame),
                      "expect": ["suspended_gen", me, line(suspended_gen, "SUSP-GEN")]},
        "coroutine": {"frame": _truth.frame_info(SUSPENDED_CORO.cr_frame),
                      "expect": ["suspended_coro", me, line(suspended_coro, "SUSP-CORO")]},
    }
    # Self-check: what the program sees is what it expects.
    problems = []
    for t in truth["threads"]:
        want = expect[t["name"]]
        got = [[f["function"], f["file"], f["line"]] for f in t["frames"][: len(want)]]
        if got != want:
            problems.append({"thread": t["name"], "want": want[:6], "got": got[:6]})
    for k, v in truth["suspended"].items():
        f = v["frame"]
        if [f["function"], f["file"], f["line"]] != v["expect"]:
            problems.append({"suspended": k, "want": v["expect"], "got": f})
    truth["problems"] = problems
    _truth.report(fifo, truth)


def line_module(tag):
    with open(__file__, encoding="utf-8") as f:
        hits = [i + 1 for i, text in enumerate(f) if text.rstrip().endswith("# " + tag)]
    assert len(hits) == 1, hits
    return hits[0]


def start(name, target, *args):
    t = threading.Thread(target=target, args=args, name=name, daemon=True)
    THREADS[name] = t
    t.start()
    return t


def main(fifo):
    start("lock-waiter", lock_outer)
    start("ñandú", ñandú_wait)
    start("gen-coro", drive)
    start("deep", recurse, DEPTH - 1)
    a(fifo)  # MAIN-A


if __name__ == "__main__":
    main(sys.argv[1])  # MODULE-MAIN
