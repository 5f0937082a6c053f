# SPDX-License-Identifier: MIT
"""Trio tasks, nurseries and cancel scopes (issue 16).

trio.run(main) on the main thread builds, with tasks named as below:

  nested nurseries   main -> group -> leaf-0 (Event.wait), deep -> deepest (Event.wait)
  shield             shielded: in move_on_after(0.05), whose deadline has passed (cancel
                     called), inside a shielded CancelScope, waiting on an Event
  deadline passed    deadline-stuck: in move_on_after(0.05), whose deadline has passed, blocked
                     in a wait that refuses to be aborted: the task is being cancelled
  cancel()           cancel-stuck: the same in a CancelScope that main cancelled
  fail_after         receiver: in fail_after(3600), receiving on an empty memory channel
  channel send       sender: sending on a memory channel nobody receives from
  sleep              sleeper: trio.sleep(3600)
  lock deadlock      lock-a-b holds lock A and waits for B, lock-b-a holds B and waits for A
  (Trio's own)       <init> (the run's root task) and the run_sync_soon task (waits for I/O)
  a run per thread   thread "trio-thread" runs its own trio.run: thread-main waits on an
                     Event, thread-sleeper sleeps, thread-stall is running: it blocks its
                     thread (and so its run) in time.sleep, called from stall()

main waits on an Event inside its nursery once it has written the truth.

Truth: common facts; "tasks": each task's id, name, parent task id, child nursery ids, stack
(innermost first, from the coroutines' own frames), cancel-scope chain (innermost first:
id, deadline or None, shield, cancel_called, cancelled_caught) and the run's clock at the
report; "runner": the Runner's id (trio.lowlevel's view of the run is not public: read from
the current task); "problems": self-check failures (must be empty).
"""
import contextvars
import math
import queue
import sys
import threading
import time

import trio

import _truth

FOREVER = 3600
STATE = {}
# for live control: an eval/await in a task's context sees (and sets) the task's value
CV = contextvars.ContextVar("cv", default="unset")


def hexid(o):
    return hex(id(o))


def line(func, tag):
    return _truth.marker_line(func, tag)


def refuse_abort(_raise_cancel):
    return trio.lowlevel.Abort.FAILED


async def leaf(ev):
    await ev.wait()  # LEAF


async def deep(ev, task_status=trio.TASK_STATUS_IGNORED):
    async with trio.open_nursery() as n:  # DEEP
        n.start_soon(leaf, ev, name="deepest")
        task_status.started()


async def group(ev):
    async with trio.open_nursery() as n:  # GROUP
        n.start_soon(leaf, ev, name="leaf-0")
        await n.start(deep, ev, name="deep")


async def shielded(ev):
    with trio.move_on_after(0.05) as passed:
        STATE["passed"] = passed
        with trio.CancelScope(shield=True):
            await ev.wait()  # SHIELDED


async def deadline_stuck():
    with trio.move_on_after(0.05):
        await trio.lowlevel.wait_task_rescheduled(refuse_abort)  # DEADLINE-STUCK


async def cancel_stuck():
    with trio.CancelScope() as scope:
        STATE["cancel_scope"] = scope
        await trio.lowlevel.wait_task_rescheduled(refuse_abort)  # CANCEL-STUCK


async def receiver(ch):
    with trio.fail_after(FOREVER):
        await ch.receive()  # RECEIVER


async def sender(ch):
    await ch.send("nobody listens")  # SENDER


async def sleeper():
    CV.set("sleeper's")
    await trio.sleep(FOREVER)  # SLEEPER


async def locker(first, second, go):
    async with first:
        await go.wait()
        async with second:  # LOCKER
            pass


def stall():
    time.sleep(FOREVER * 24)  # STALL


async def thread_stall():
    stall()  # THREAD-STALL


async def thread_main(out):
    me = trio.lowlevel.current_task()
    never = trio.Event()
    async with trio.open_nursery() as n:
        n.start_soon(sleeper, name="thread-sleeper")
        await trio.sleep(0.05)
        n.start_soon(thread_stall, name="thread-stall")
        facts = [task_facts(t) for t in all_tasks()]
        for f in facts:
            if f["name"] == "thread-stall":  # not started yet: where it will stall
                f["stack"] = [{"function": "stall", "file": __file__, "line": line(stall, "STALL")},
                              {"function": "thread_stall", "file": __file__,
                               "line": line(thread_stall, "THREAD-STALL")}]
                f["running"] = True
        out.put({"runner": hexid(me._runner), "tid": threading.get_native_id(), "tasks": facts,
                 "main": me.name})
        await never.wait()  # THREAD-WAIT


def trio_thread(out):
    trio.run(thread_main, out)


def coro_frames(coro):
    """The frames of a coroutine and of what it awaits, innermost first."""
    out = []
    seen = set()
    while coro is not None and id(coro) not in seen:
        seen.add(id(coro))
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        out.append(_truth.frame_info(frame))
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return out[::-1]


def scope_chain(task):
    out = []
    status = task._cancel_status
    while status is not None:
        sc = status._scope
        deadline = sc.deadline
        out.append({"id": hexid(sc), "deadline": None if math.isinf(deadline) else deadline,
                    "shield": sc.shield, "cancel_called": sc.cancel_called,
                    "cancelled_caught": sc.cancelled_caught,
                    "effectively_cancelled": status.effectively_cancelled})
        status = status._parent
    return out


def task_facts(task):
    parent = task.parent_nursery.parent_task if task.parent_nursery else None
    return {"id": hexid(task), "name": task.name, "parent": hexid(parent) if parent else None,
            "nursery": hexid(task.parent_nursery) if task.parent_nursery else None,
            "child_nurseries": [hexid(n) for n in task.child_nurseries],
            "stack": coro_frames(task.coro), "scopes": scope_chain(task),
            "coro": task.coro.cr_code.co_qualname, "running": False,
            "runner": hexid(task._runner), "tid": threading.get_native_id()}


def all_tasks():
    root = trio.lowlevel.current_root_task()
    out, todo = [], [root]
    while todo:
        t = todo.pop(0)
        out.append(t)
        for n in t.child_nurseries:
            todo.extend(sorted(n.child_tasks, key=lambda x: x.name))
    return out


async def main(fifo):
    never = trio.Event()
    go = trio.Event()
    send_a, recv_a = trio.open_memory_channel(0)
    send_b, _recv_b = trio.open_memory_channel(0)
    lock_a, lock_b = trio.Lock(), trio.Lock()
    me = trio.lowlevel.current_task()
    async with trio.open_nursery() as n:
        n.start_soon(group, never, name="group")
        n.start_soon(shielded, never, name="shielded")
        n.start_soon(deadline_stuck, name="deadline-stuck")
        n.start_soon(cancel_stuck, name="cancel-stuck")
        n.start_soon(receiver, recv_a, name="receiver")
        n.start_soon(sender, send_b, name="sender")
        n.start_soon(sleeper, name="sleeper")
        n.start_soon(locker, lock_a, lock_b, go, name="lock-a-b")
        n.start_soon(locker, lock_b, lock_a, go, name="lock-b-a")
        await trio.sleep(0.2)  # both locks taken, the 0.05 s deadlines passed
        go.set()
        try:
            STATE["cancel_scope"].cancel(reason="stop now")
        except TypeError:  # Trio before 0.28 takes no reason
            STATE["cancel_scope"].cancel()
        await trio.sleep(0.05)  # everybody settles
        report(fifo, me)
        await never.wait()  # MAIN-WAIT


THREAD = {}


def report(fifo, me):
    tasks = [task_facts(t) for t in all_tasks()]
    by = {t["name"]: t for t in tasks}
    # the other thread's run: thread-main waits on an Event as leaf-0 does
    for f in THREAD["tasks"]:
        if f["name"] == THREAD["main"]:
            f["stack"] = [fr for fr in by["leaf-0"]["stack"] if fr["function"] != "leaf"]
            f["stack"].append({"function": "thread_main", "file": __file__,
                               "line": line(thread_main, "THREAD-WAIT")})
    _truth.register_thread(THREAD["thread"])
    _truth.wait_blocked({THREAD["tid"]: _truth.in_function("stall")})
    # main: where it will wait once this returns (Event.wait's frames below it as now for
    # leaf-0, which waits the same way).
    main_frames = [f for f in by["leaf-0"]["stack"] if f["function"] != "leaf"]
    main_frames.append({"function": "main", "file": __file__, "line": line(main, "MAIN-WAIT")})
    by[me.name]["stack"] = main_frames
    truth = _truth.common()
    truth["os_threads"] = _truth.os_thread_count()
    truth["trio"] = trio.__version__
    truth["now"] = trio.current_time()
    truth["runner"] = hexid(me._runner)
    truth["main"] = me.name
    truth["tasks"] = tasks + THREAD["tasks"]
    truth["thread"] = {"runner": THREAD["runner"], "tid": THREAD["tid"], "main": THREAD["main"]}
    truth["lines"] = {
        "LEAF": line(leaf, "LEAF"), "SHIELDED": line(shielded, "SHIELDED"),
        "DEADLINE-STUCK": line(deadline_stuck, "DEADLINE-STUCK"),
        "CANCEL-STUCK": line(cancel_stuck, "CANCEL-STUCK"), "RECEIVER": line(receiver, "RECEIVER"),
        "SENDER": line(sender, "SENDER"), "SLEEPER": line(sleeper, "SLEEPER"),
        "LOCKER": line(locker, "LOCKER"), "GROUP": line(group, "GROUP"), "DEEP": line(deep, "DEEP"),
        "MAIN-WAIT": line(main, "MAIN-WAIT"),
    }
    problems = []
    for name in ("thread-sleeper", "thread-stall", THREAD["main"], "group", "leaf-0", "deep", "deepest", "shielded", "deadline-stuck", "cancel-stuck",
                 "receiver", "sender", "sleeper", "lock-a-b", "lock-b-a"):
        if name not in by and name not in {t["name"] for t in THREAD["tasks"]}:
            problems.append({"missing": name})
    if not STATE["passed"].cancel_called:
        problems.append({"passed": "not cancelled"})
    truth["problems"] = problems
    _truth.report(fifo, truth)


if __name__ == "__main__":
    q = queue.Queue()
    th = threading.Thread(target=trio_thread, args=(q,), name="trio-thread", daemon=True)
    th.start()
    THREAD.update(q.get(timeout=60))
    THREAD["thread"] = th
    trio.run(main, sys.argv[1])
