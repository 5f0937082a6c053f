# SPDX-License-Identifier: MIT
"""Who holds which asyncio lock, and what else tasks wait on (issue 15).

asyncio.run(main()) on the main thread builds, with tasks named as below:

  deadlock     transfer-a-b holds lock_a (async with) and waits for lock_b;
               transfer-b-a holds lock_b and waits for lock_a
  async with   with-holder holds lock_c (async with, then waits on `never`);
               with-waiter waits to enter `async with lock_c`
  acquire()    bare-holder called lock_d.acquire() and waits on `never` before release();
               bare-waiter waits in lock_d.acquire()
  Semaphore    sem-holder-0/1 inside `async with sem` (Semaphore(2)); sem-waiter waits
  Condition    cond-sleeper entered `async with cond` first and waits in cond.wait() (so it
               released the lock); cond-holder then holds cond; cond-waiter waits to enter
  Queue        full_q = Queue(maxsize=1) holds one item, q-putter waits in put();
               empty_q = Queue(), q-getter-0/1 wait in get()
  Event        event-waiter waits on `never`, an Event that is never set
  deadlines    timeout-30 in `async with asyncio.timeout(30)`, waitfor-30 in
               `asyncio.wait_for(never.wait(), 30)`, sleep-30 in `asyncio.sleep(30)`

Then the loop idles in its selector (its first timer is 30 s away). A reporter thread waits
for that and writes the truth: "tasks" {name: id}, "locks" {name: id}, "queues" {name: id},
"event" (id of `never`), "deadlines" {task name: loop time of its deadline}, "monotonic"
(time.monotonic() in the reporter, after the loop went idle: a core's "now" is at most this),
"problems" (self-checks, must be empty)."""
import asyncio
import sys
import threading
import time

import _aio
import _truth

TASKS = {}
LOCKS = {}


def spawn(coro, name):
    t = asyncio.get_running_loop().create_task(coro, name=name)
    TASKS[name] = t
    return t


async def transfer(first, second, ready, go):
    async with first:
        ready.set()
        await go.wait()
        async with second:
            pass


async def with_holder(lock, never, ready):
    async with lock:
        ready.set()
        await never.wait()


async def with_waiter(lock):
    async with lock:
        pass


async def bare_holder(lock, never, ready):
    await lock.acquire()
    try:
        ready.set()
        await never.wait()
    finally:
        lock.release()


async def bare_waiter(lock):
    await lock.acquire()
    lock.release()


async def cond_sleeper(cond, ready):
    async with cond:
        ready.set()
        await cond.wait()


async def consume(q):
    return await q.get()


async def in_timeout(never):
    async with asyncio.timeout(30):
        await never.wait()


async def in_wait_for(never):
    await asyncio.wait_for(never.wait(), 30)


async def settle():
    for _ in range(5):
        await asyncio.sleep(0)


def reporter(fifo, truth):
    try:
        mt = threading.main_thread()
        _truth.wait_blocked({mt.native_id: _aio.loop_thread_is_idle}, syscalls=_truth.EPOLL_SYSCALLS)
        truth["monotonic"] = time.monotonic()
        _truth.report(fifo, truth)
    except BaseException:
        import os
        import traceback
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(3)


async def main(fifo):
    loop = asyncio.get_running_loop()
    never = asyncio.Event()
    problems = []

    lock_a, lock_b, lock_c, lock_d = (asyncio.Lock() for _ in range(4))
    LOCKS.update(lock_a=lock_a, lock_b=lock_b, lock_c=lock_c, lock_d=lock_d)
    go = asyncio.Event()
    ready_ab, ready_ba = asyncio.Event(), asyncio.Event()
    spawn(transfer(lock_a, lock_b, ready_ab, go), "transfer-a-b")
    spawn(transfer(lock_b, lock_a, ready_ba, go), "transfer-b-a")
    await ready_ab.wait()
    await ready_ba.wait()
    go.set()

    ready = asyncio.Event()
    spawn(with_holder(lock_c, never, ready), "with-holder")
    await ready.wait()
    spawn(with_waiter(lock_c), "with-waiter")

    ready = asyncio.Event()
    spawn(bare_holder(lock_d, never, ready), "bare-holder")
    await ready.wait()
    spawn(bare_waiter(lock_d), "bare-waiter")

    sem = asyncio.Semaphore(2)
    LOCKS["sem"] = sem
    for i in range(2):
        ready = asyncio.Event()
        spawn(with_holder(sem, never, ready), f"sem-holder-{i}")
        await ready.wait()
    spawn(with_waiter(sem), "sem-waiter")

    cond = asyncio.Condition()
    LOCKS["cond"] = cond
    LOCKS["cond_lock"] = cond._lock
    ready = asyncio.Event()
    spawn(cond_sleeper(cond, ready), "cond-sleeper")
    await ready.wait()
    await settle()  # cond-sleeper is in cond.wait(): the lock is free again
    ready = asyncio.Event()
    spawn(with_holder(cond, never, ready), "cond-holder")
    await ready.wait()
    spawn(with_waiter(cond), "cond-waiter")

    full_q, empty_q = asyncio.Queue(maxsize=1), asyncio.Queue()
    full_q.put_nowait("item")
    spawn(full_q.put("more"), "q-putter")
    spawn(consume(empty_q), "q-getter-0")
    spawn(consume(empty_q), "q-getter-1")

    spawn(never.wait(), "event-waiter")

    spawn(in_timeout(never), "timeout-30")
    spawn(in_wait_for(never), "waitfor-30")
    spawn(asyncio.sleep(30), "sleep-30")
    await settle()

    # Self-checks: everyone is where the docstring says.
    for name in ("transfer-a-b", "transfer-b-a", "with-waiter", "bare-waiter", "sem-waiter",
                 "cond-waiter"):
        if TASKS[name].done():
            problems.append(f"{name} finished")
    if not (lock_a.locked() and lock_b.locked() and lock_c.locked() and lock_d.locked()):
        problems.append("a lock is free")
    if not sem.locked() or not cond.locked():
        problems.append("sem or cond is free")
    if full_q.qsize() != 1 or len(full_q._putters) != 1 or len(empty_q._getters) != 2:
        problems.append("queues")
    deadlines = {}
    for h in loop._scheduled:
        if h.cancelled():
            continue
        cb = h._callback
        owner = getattr(cb, "__self__", None)
        if isinstance(owner, asyncio.Timeout):
            task = owner._task
        elif h._args and isinstance(h._args[0], asyncio.Future):
            task = next((t for t in TASKS.values() if t._fut_waiter is h._args[0]), None)
        else:
            continue
        for name, t in TASKS.items():
            if t is task:
                deadlines[name] = min(h.when(), deadlines.get(name, h.when()))
    if set(deadlines) != {"timeout-30", "waitfor-30", "sleep-30"}:
        problems.append({"deadlines": deadlines})
    truth = _truth.common()
    truth.update({
        "tasks": {name: _aio.hexid(t) for name, t in TASKS.items()},
        "locks": {name: _aio.hexid(o) for name, o in LOCKS.items()},
        "queues": {"full_q": _aio.hexid(full_q), "empty_q": _aio.hexid(empty_q)},
        "event": _aio.hexid(never),
        "deadlines": deadlines,
        "problems": problems,
    })
    _truth.register_thread(threading.main_thread())
    threading.Thread(target=reporter, args=(fifo, truth), name="reporter", daemon=True).start()
    await never.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
