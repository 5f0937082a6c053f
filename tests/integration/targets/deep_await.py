# SPDX-License-Identifier: MIT
# Truncation (issue 14): a task whose await chain is deeper than aiodbg keeps, and a task
# whose name is longer than aiodbg keeps.
#
#   "deep"     level(300) -> level(299) -> ... -> level(0) -> Event.wait: 302 frames
#   300 "n"s   waiter() -> Event.wait
#   a thread named with 300 "t"s, blocked on a lock
#
# Truth: common facts; "deep": the deep task's frames, innermost first, as the coroutines
# themselves say (cr_frame along cr_await); "long_name": the long name; "long_thread":
# the tid of the long-named thread. The loop then idles.
import asyncio
import inspect
import sys
import threading

import _truth

DEPTH = 300
LONG_NAME = "n" * 300


async def level(n, ev):
    if n == 0:
        await ev.wait()
    else:
        await level(n - 1, ev)


async def waiter(ev):
    await ev.wait()


def chain(task):
    """Frames of the task's await chain, innermost first."""
    out = []
    coro = task.get_coro()
    while inspect.iscoroutine(coro) and coro.cr_frame is not None:
        out.append(_truth.frame_info(coro.cr_frame))
        coro = coro.cr_await
    return out[::-1]


async def main():
    lock = threading.Lock()
    lock.acquire()
    th = threading.Thread(target=lock.acquire, name="t" * 300, daemon=True)
    th.start()
    ev = asyncio.Event()
    deep = asyncio.create_task(level(DEPTH, ev), name="deep")
    long = asyncio.create_task(waiter(ev), name=LONG_NAME)
    for _ in range(3):
        await asyncio.sleep(0)
    truth = _truth.common()
    truth.update({"deep": chain(deep), "long_name": long.get_name(),
                  "long_thread": th.native_id})
    _truth.report(sys.argv[1], truth)
    await ev.wait()


asyncio.run(main())
