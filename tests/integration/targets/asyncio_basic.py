# SPDX-License-Identifier: MIT
"""asyncio tasks, their await graph and cancellation states (issue 4).

asyncio.run(main()) on the main thread builds, with tasks named as below:

  TaskGroup fan-out   tg-parent (in the TaskGroup's exit) -> tg-child-0..2 (Event.wait)
  gather              gather-parent -> gather-child-0..1
  task awaiting task  await-outer -> await-middle -> await-inner (Event.wait)
  shield              shield-parent -> shield-child
  wait_for / timeout  waitfor-parent -> waitfor-child; timeout-waiter (asyncio.timeout)
  primitives          lock-holder (holds an asyncio.Lock), lock-waiter (waits for it),
                      queue-getter (empty Queue), event-waiter (Event)
  async generator     agen-consumer (async for over ticker(), suspended inside the agen)
  loop in a thread    thread "loop-thread" runs its own asyncio.run: thread-main -> thread-worker;
                      that loop is idle in its selector
  cycle               cycle-a awaits cycle-b, cycle-b awaits cycle-a
  eager (3.12+)       eager-waiter, created by asyncio.eager_task_factory, suspended
  cancellation        cancel-requested (cancel() called, not delivered: the loop never runs
                      again), cancel-unstarted (created and cancelled before its first step:
                      must_cancel), cancel-handling (caught CancelledError, awaiting cleanup),
                      cancel-uncancelled (caught it, uncancel()ed, awaiting), cancel-finished
                      (cancelled and done, msg "bye"), tg-abort-parent whose child
                      tg-abort-failer raised so that tg-abort-slow-0..1 are being cancelled
                      (and handle it by awaiting cleanup)

The main task (unnamed; its name is never asked for) waits on an Event. Once everything has
settled, a plain callback on the main loop requests the last cancellations, computes the
truth, writes it, and then blocks the main loop for good (time.sleep in _truth.block_forever),
so that "requested but not delivered" stays so.

Truth: common facts; "loops" (main loop, thread loop); "tasks" (see _aio.task_facts; every
task of both loops plus the finished ones the program keeps); "edges": [waiter, awaited, kind]
as the program built them; "cycles"; "threads": MainThread and loop-thread with frames;
"problems": self-check failures (must be empty)."""
import asyncio
import queue
import sys
import threading
import time

import _aio
import _truth
from _aio import spawn

FOREVER = 1e6
EDGES = []


def edge(waiter, awaited, kind):
    EDGES.append([waiter, awaited, kind])


def line(func, tag):
    return _truth.marker_line(func, tag)


ME = __file__


def at(func, tag):
    return [func.__code__.co_qualname, ME, line(func, tag)]


# --- building blocks ------------------------------------------------------------------


async def leaf_wait(ev):
    await ev.wait()  # LEAF


async def tg_parent(ev):
    async with asyncio.TaskGroup() as tg:  # TG
        for i in range(3):
            t = _aio.named(tg.create_task(leaf_wait(ev), name=f"tg-child-{i}"), f"tg-child-{i}",
                           awaited_by=["tg-parent"], expect=at(leaf_wait, "LEAF"))
            edge("tg-parent", f"tg-child-{i}", "taskgroup")


async def gather_parent(children):
    await asyncio.gather(*children)  # GATHER


async def await_task(t):
    await t  # AWAIT-TASK


async def shield_parent(child):
    await asyncio.shield(child)  # SHIELD


async def waitfor_parent(child):
    await asyncio.wait_for(child, FOREVER)  # WAITFOR


async def timeout_waiter(ev):
    async with asyncio.timeout(FOREVER):
        await ev.wait()  # TIMEOUT


async def lock_holder(lock, ev):
    async with lock:
        await ev.wait()  # LOCK-HOLD


async def lock_waiter(lock):
    async with lock:  # LOCK-WAIT
        pass


async def queue_getter(q):
    await q.get()  # QUEUE-GET


async def event_waiter(ev):
    await ev.wait()  # EVENT-WAIT


async def ticker(ev):
    yield 1
    await ev.wait()  # AGEN-WAIT
    yield 2


async def agen_consumer(ev):
    async for _ in ticker(ev):  # AGEN-FOR
        pass


TASKS = {}


async def await_peer(peer):
    await asyncio.sleep(0)
    await TASKS[peer]  # CYCLE


async def eager_body(ev):
    await ev.wait()  # EAGER


async def cancel_target(ev):
    await ev.wait()  # REQ-WAIT


async def cancel_handling(ev, cleanup):
    try:
        await ev.wait()
    except asyncio.CancelledError:
        await cleanup.wait()  # HANDLING
        raise


async def cancel_uncancel(ev, cleanup):
    try:
        await ev.wait()
    except asyncio.CancelledError:
        asyncio.current_task().uncancel()
        await cleanup.wait()  # UNCANCELLED


async def slow_child(ev, cleanup):
    try:
        await ev.wait()
    except asyncio.CancelledError:
        await cleanup.wait()  # SLOW-HANDLING
        raise


async def failer():
    await asyncio.sleep(0)
    raise ValueError("boom")


async def tg_abort_parent(ev, cleanup):
    async with asyncio.TaskGroup() as tg:  # TG-ABORT
        for i in range(2):
            _aio.named(tg.create_task(slow_child(ev, cleanup), name=f"tg-abort-slow-{i}"),
                       f"tg-abort-slow-{i}", awaited_by=["tg-abort-parent"],
                       expect=at(slow_child, "SLOW-HANDLING"))
            edge("tg-abort-parent", f"tg-abort-slow-{i}", "taskgroup")
        _aio.named(tg.create_task(failer(), name="tg-abort-failer"), "tg-abort-failer")


# --- the loop in another thread -------------------------------------------------------

THREAD = {}


async def thread_main(ready):
    me = asyncio.current_task()
    me.set_name("thread-main")
    _aio.named(me, "thread-main", expect=at(thread_main, "THREAD-AWAIT"))
    ev = asyncio.Event()
    THREAD["loop"] = asyncio.get_running_loop()
    THREAD["ev"] = ev
    w = spawn(leaf_wait(ev), "thread-worker", awaited_by=["thread-main"], expect=at(leaf_wait, "LEAF"))
    edge("thread-main", "thread-worker", "await")
    await asyncio.sleep(0)
    ready.set()
    await w  # THREAD-AWAIT


def loop_thread(ready):
    asyncio.run(thread_main(ready))


def thread_loop_facts(tid):
    """Computed on the loop thread itself (handed over through a queue)."""
    q = queue.Queue()

    def compute():
        try:
            q.put(_aio.loop_facts(THREAD["loop"], tid))
        except BaseException as e:  # noqa: BLE001 - reported as a problem
            q.put(e)

    THREAD["loop"].call_soon_threadsafe(compute)
    r = q.get(timeout=30)
    if isinstance(r, BaseException):
        raise r
    return r


# --- main -----------------------------------------------------------------------------

STATE = {}


async def main(fifo):
    loop = asyncio.get_running_loop()
    STATE["main_task"] = asyncio.current_task()
    _aio.declare(STATE["main_task"], expect=at(main, "MAIN-WAIT"))
    never = asyncio.Event()  # never set: everything waits on it
    cleanup = asyncio.Event()  # never set: cancellation handlers wait on it
    STATE["never"] = never

    ready = threading.Event()
    th = threading.Thread(target=loop_thread, args=(ready,), name="loop-thread", daemon=True)
    th.start()
    STATE["thread"] = th

    spawn(tg_parent(never), "tg-parent", expect=at(tg_parent, "TG"))

    gc = [spawn(leaf_wait(never), f"gather-child-{i}", awaited_by=["gather-parent"],
                expect=at(leaf_wait, "LEAF")) for i in range(2)]
    spawn(gather_parent(gc), "gather-parent", expect=at(gather_parent, "GATHER"))
    for i in range(2):
        edge("gather-parent", f"gather-child-{i}", "gather")

    inner = spawn(leaf_wait(never), "await-inner", awaited_by=["await-middle"], expect=at(leaf_wait, "LEAF"))
    middle = spawn(await_task(inner), "await-middle", awaited_by=["await-outer"],
                   expect=at(await_task, "AWAIT-TASK"))
    spawn(await_task(middle), "await-outer", expect=at(await_task, "AWAIT-TASK"))
    edge("await-middle", "await-inner", "await")
    edge("await-outer", "await-middle", "await")

    sc = spawn(leaf_wait(never), "shield-child", awaited_by=["shield-parent"], expect=at(leaf_wait, "LEAF"))
    spawn(shield_parent(sc), "shield-parent", expect=at(shield_parent, "SHIELD"))
    edge("shield-parent", "shield-child", "shield")

    wc = spawn(leaf_wait(never), "waitfor-child", awaited_by=["waitfor-parent"], expect=at(leaf_wait, "LEAF"))
    spawn(waitfor_parent(wc), "waitfor-parent", expect=at(waitfor_parent, "WAITFOR"))
    edge("waitfor-parent", "waitfor-child", "wait_for")
    spawn(timeout_waiter(never), "timeout-waiter", expect=at(timeout_waiter, "TIMEOUT"))

    lock = asyncio.Lock()
    spawn(lock_holder(lock, never), "lock-holder", expect=at(lock_holder, "LOCK-HOLD"), primitive="Event")
    await asyncio.sleep(0)  # the holder takes the lock first
    spawn(lock_waiter(lock), "lock-waiter", expect=at(lock_waiter, "LOCK-WAIT"), primitive="Lock")
    spawn(queue_getter(asyncio.Queue()), "queue-getter", expect=at(queue_getter, "QUEUE-GET"),
          primitive="Queue")
    spawn(event_waiter(never), "event-waiter", expect=at(event_waiter, "EVENT-WAIT"), primitive="Event")
    spawn(agen_consumer(never), "agen-consumer", expect=at(agen_consumer, "AGEN-FOR"))

    TASKS["cycle-a"] = spawn(await_peer("cycle-b"), "cycle-a", awaited_by=["cycle-b"], expect=at(await_peer, "CYCLE"))
    TASKS["cycle-b"] = spawn(await_peer("cycle-a"), "cycle-b", awaited_by=["cycle-a"], expect=at(await_peer, "CYCLE"))
    edge("cycle-a", "cycle-b", "await")
    edge("cycle-b", "cycle-a", "await")

    if sys.version_info >= (3, 12):
        loop.set_task_factory(asyncio.eager_task_factory)
        try:
            t = loop.create_task(eager_body(never), name="eager-waiter")
        finally:
            loop.set_task_factory(None)
        _aio.named(t, "eager-waiter", eager=True, expect=at(eager_body, "EAGER"))

    STATE["req"] = spawn(cancel_target(never), "cancel-requested", expect=at(cancel_target, "REQ-WAIT"))
    handling = spawn(cancel_handling(never, cleanup), "cancel-handling", expect=at(cancel_handling, "HANDLING"))
    uncancelled = spawn(cancel_uncancel(never, cleanup), "cancel-uncancelled",
                        expect=at(cancel_uncancel, "UNCANCELLED"))
    finished = spawn(cancel_target(never), "cancel-finished")
    spawn(tg_abort_parent(never, cleanup), "tg-abort-parent", expect=at(tg_abort_parent, "TG-ABORT"))

    await asyncio.sleep(0.1)  # everybody reaches its first wait
    handling.cancel("handle-me")
    uncancelled.cancel("uncancel-me")
    finished.cancel("bye")
    while not ready.is_set():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # cancellations delivered and handled
    loop.call_soon(report_and_block, fifo)
    await never.wait()  # MAIN-WAIT


def report_and_block(fifo):
    try:
        report(fifo)
    except BaseException:
        import os
        import traceback
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(3)
    _truth.block_forever()  # REPORT-BLOCK


def report(fifo):
    loop = asyncio.get_running_loop()
    # The last cancellations, never delivered: the loop blocks right after this callback.
    STATE["req"].cancel("requested")
    # Never started: its coroutine frame is at the `def` line.
    unstarted = spawn(cancel_target(STATE["never"]), "cancel-unstarted",
                      expect=["cancel_target", ME, cancel_target.__code__.co_firstlineno])
    unstarted.cancel("unstarted")

    mt = threading.main_thread()
    th = STATE["thread"]
    _truth.register_thread(mt)
    _truth.register_thread(th)
    tfacts = thread_loop_facts(th.native_id)
    _truth.wait_blocked({th.native_id: _aio.loop_thread_is_idle}, syscalls=_truth.EPOLL_SYSCALLS)
    mfacts = _aio.loop_facts(loop, mt.native_id, extra=_aio.KEEP)

    # Where the main thread will be: block_forever <- report_and_block <- the loop.
    here = _truth.stack(sys._getframe(1))
    here[0]["line"] = line(report_and_block, "REPORT-BLOCK")
    main_frames = [_truth.frame_info_at("block_forever", _truth.__file__, _truth.BLOCK_LINE)] + here

    truth = _truth.common()
    truth["thread_count"] = 2
    truth["os_threads"] = 2
    truth["threads"] = [
        _truth.thread_facts(mt, main_frames) | {"loop": mfacts["loop"]["id"], "running_task": None},
        _truth.thread_facts(th, _truth.thread_frames(th.native_id)) | {"loop": tfacts["loop"]["id"],
                                                                     "running_task": None},
    ]
    truth["loops"] = [mfacts["loop"] | {"running": True}, tfacts["loop"]]
    truth["tasks"] = mfacts["tasks"] + tfacts["tasks"]
    truth["edges"] = EDGES
    truth["cycles"] = [["cycle-a", "cycle-b"]]
    truth["eager_supported"] = sys.version_info >= (3, 12)

    problems = []
    _aio.check_tasks(truth["tasks"], problems)
    by = {t["name"]: t for t in truth["tasks"] if t["name"]}
    want = {
        "cancel-requested": dict(state="pending", cancelling=1, must_cancel=False),
        "cancel-unstarted": dict(state="pending", cancelling=1, must_cancel=True),
        "cancel-handling": dict(state="pending", cancelling=1),
        "cancel-uncancelled": dict(state="pending", cancelling=0),
        "cancel-finished": dict(state="cancelled", cancelled=True),
        "tg-abort-failer": dict(state="finished"),
        "tg-abort-slow-0": dict(state="pending", cancelling=1),
        "tg-abort-slow-1": dict(state="pending", cancelling=1),
        "tg-abort-parent": dict(state="pending", cancelling=1),
    }
    for name, facts in want.items():
        got = by.get(name)
        for k, v in facts.items():
            if got is None or got[k] != v:
                problems.append({"task": name, "field": k, "want": v, "got": got and got[k]})
    main_task = [t for t in truth["tasks"] if t["id"] == _aio.hexid(STATE["main_task"])]
    if len(main_task) != 1 or not main_task[0]["default_name"]:
        problems.append({"main_task": main_task})
    truth["main_task"] = _aio.hexid(STATE["main_task"])
    truth["problems"] = problems
    _truth.report(fifo, truth)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
