# SPDX-License-Identifier: MIT
"""Known numbers of tasks per coroutine, state and thread (`tasks --group-by`, issue 18).

Main thread, asyncio.run(main()): main awaits an Event; 5 `sleeper` tasks (asyncio.sleep),
3 `waiter` tasks (Event.wait), 2 `stubborn` tasks (cancelled, they catch the CancelledError
and wait again without uncancel(): cancelling), and `blocker`, which writes the truth and
then blocks the main loop for good inside its step (time.sleep): it is the running task.
Thread "loop-thread" runs its own asyncio.run: `thread_main` awaits 4 `thread_worker` tasks.

Truth: common facts; "groups": {"coro": {qualname: {state: n}}, "state": {state: n},
"thread": {tid: {state: n}}} computed from asyncio.all_tasks() of both loops; "total";
"os_threads"."""
import asyncio
import sys
import threading
import time

import _truth

FOREVER = 1e6
THREAD_READY = threading.Event()
THREAD_LOOP = []


async def sleeper():
    await asyncio.sleep(FOREVER)


async def waiter(ev):
    await ev.wait()


async def stubborn(ev):
    try:
        await ev.wait()
    except asyncio.CancelledError:
        await ev.wait()


async def thread_worker(ev):
    await ev.wait()


async def thread_main():
    ev = asyncio.Event()
    workers = [asyncio.create_task(thread_worker(ev)) for _ in range(4)]
    THREAD_LOOP.append((asyncio.get_running_loop(), threading.get_native_id()))
    await asyncio.sleep(0.05)
    THREAD_READY.set()
    await asyncio.gather(*workers)


def state_of(t, running):
    if t is running:
        return "running"
    if t.cancelled():
        return "cancelled"
    if t.done():
        return "finished"
    return "cancelling" if t.cancelling() else "pending"


async def blocker(fifo):
    THREAD_READY.wait(30)
    await asyncio.sleep(0.1)
    me = asyncio.current_task()
    groups = {"coro": {}, "state": {}, "thread": {}}
    loops = [(asyncio.get_running_loop(), threading.get_native_id())] + THREAD_LOOP
    total = 0
    for loop, tid in loops:
        for t in asyncio.all_tasks(loop):
            st = state_of(t, me)
            coro = t.get_coro().__qualname__
            groups["coro"].setdefault(coro, {}).setdefault(st, 0)
            groups["coro"][coro][st] += 1
            groups["state"][st] = groups["state"].get(st, 0) + 1
            groups["thread"].setdefault(str(tid), {}).setdefault(st, 0)
            groups["thread"][str(tid)][st] += 1
            total += 1
    truth = _truth.common() | {"groups": groups, "total": total, "os_threads": 2}
    _truth.report(fifo, truth)
    _truth.block_forever()


async def main(fifo):
    ev = asyncio.Event()
    threading.Thread(target=lambda: asyncio.run(thread_main()), name="loop-thread",
                     daemon=True).start()
    for _ in range(5):
        asyncio.create_task(sleeper())
    for _ in range(3):
        asyncio.create_task(waiter(ev))
    stub = [asyncio.create_task(stubborn(ev)) for _ in range(2)]
    await asyncio.sleep(0.05)
    for t in stub:
        t.cancel()
    await asyncio.sleep(0.05)
    asyncio.create_task(blocker(fifo))
    await ev.wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
