# SPDX-License-Identifier: MIT
"""Services for `aiodbg watch` (issue 18). `python watch_service.py FIFO MODE [uvloop]`:

- hog: a task `hogger` blocks its loop with time.sleep(0.3) once a second (HOG), and a
  plain callback `hog_callback` (call_later) does the same half a second later (HOGCB);
  a few idle tasks sleep.
- leak: a task `spawner` starts a `leaked` task every 20 ms that waits forever, and a pool
  of `churn` tasks that each finish after 30 ms, replaced as they go (a steady count).
- quiet: a `ticker` task wakes every 50 ms and does almost nothing; 5 idle tasks.
- lag: a plain callback `stall` (call_later) schedules itself again 10 ms later, then blocks
  the loop 200 ms: its next timer is overdue almost all the time (no task has a timer
  due: the idle tasks sleep for days).

Each hold prints "HELD FUNCTION WALL_START SECONDS" on standard output (the test's log): how
long the loop was really held. With "uvloop" the loop is uvloop's (asyncio.Runner(loop_factory=uvloop.new_event_loop)).
Truth: common facts; "mode"; "lines": {"HOG": n, "HOGCB": n}; "file": this file as the
target sees it; "loop_thread": the loop's native thread id."""
import asyncio
import sys
import threading
import time

import _truth

ME = __file__


async def idle():
    await asyncio.sleep(1e6)


def held(fn, start, t0):
    # What the loop really went through (a loaded machine may not run the process as
    # soon as its sleep ends): the test compares aiodbg's durations with these.
    print(f"HELD {fn} {start:.6f} {time.monotonic() - t0:.6f}", flush=True)


async def hogger():
    while True:
        await asyncio.sleep(0.7)
        start, t0 = time.time(), time.monotonic()
        time.sleep(0.3)  # HOG
        held("hogger", start, t0)


def hog_callback():
    start, t0 = time.time(), time.monotonic()
    time.sleep(0.3)  # HOGCB
    held("hog_callback", start, t0)
    asyncio.get_running_loop().call_later(0.7, hog_callback)


async def leaked():
    await asyncio.Event().wait()


async def churn():
    await asyncio.sleep(0.03)


async def spawner():
    keep = []
    while True:
        keep.append(asyncio.create_task(leaked()))
        await asyncio.sleep(0.02)


async def churner():
    while True:
        batch = [asyncio.create_task(churn()) for _ in range(10)]
        await asyncio.gather(*batch)


def stall():
    asyncio.get_running_loop().call_later(0.01, stall)  # due while this one still runs
    time.sleep(0.2)


async def ticker():
    n = 0
    while True:
        await asyncio.sleep(0.05)
        n += 1


def lines():
    return {"HOG": _truth.marker_line(hogger, "HOG"),
            "HOGCB": _truth.marker_line(hog_callback, "HOGCB")}


async def main(fifo, mode):
    for _ in range(5):
        asyncio.create_task(idle())
    if mode == "hog":
        asyncio.create_task(hogger(), name="hogger")
        asyncio.get_running_loop().call_later(1.2, hog_callback)
    elif mode == "lag":
        asyncio.get_running_loop().call_later(0.01, stall)
    elif mode == "leak":
        asyncio.create_task(spawner())
        asyncio.create_task(churner())
    else:
        asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    truth = _truth.common() | {"mode": mode, "lines": lines(), "file": ME,
                               "loop_thread": threading.get_native_id()}
    _truth.report(fifo, truth)
    await asyncio.Event().wait()


if __name__ == "__main__":
    fifo, mode = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3 and sys.argv[3] == "uvloop":
        import uvloop
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
            r.run(main(fifo, mode))
    else:
        asyncio.run(main(fifo, mode))
