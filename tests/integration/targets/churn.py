# SPDX-License-Identifier: MIT
# A program that never holds still (issue 14): BUSY threads spinning and sleeping by turns,
# a spawner keeping CHURN short-lived threads alive (each starts, works a moment and
# exits, all the time), and an asyncio loop with TASKS named tasks "c0".."cN-1" waiting on
# an event, beside a ticker that keeps creating and finishing short tasks ("tmp").
#
# Started as `python churn.py FIFO [BUSY [CHURN [TASKS]]]` (defaults 25 16 10). Writes
# {"pid", "tasks": [names], "coro": "waiter"} into FIFO once everything runs, then runs on
# until killed. TASKS may be large (100000): the ground truth only names the first ten.
import asyncio
import json
import os
import sys
import threading
import time

ready = sys.argv[1]
busy = int(sys.argv[2]) if len(sys.argv) > 2 else 25
churn = int(sys.argv[3]) if len(sys.argv) > 3 else 16
ntasks = int(sys.argv[4]) if len(sys.argv) > 4 else 10


def spin(seconds):
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        x += 1
    return x


def background():
    while True:
        spin(0.001)
        time.sleep(0.001)


def short_lived(n):
    # A moment of work, then the thread ends: its thread state is torn down while the
    # debugger may be reading the thread list.
    spin(0.0005 * (n % 4))


def spawner():
    n = 0
    live = []
    while True:
        live = [t for t in live if t.is_alive()]
        while len(live) < churn:
            t = threading.Thread(target=short_lived, args=(n,), daemon=True,
                                 name="churn%d" % n)
            t.start()
            live.append(t)
            n += 1
        time.sleep(0.0005)


async def waiter(ev):
    await ev.wait()


async def short():
    await asyncio.sleep(0)


async def ticker():
    while True:
        # Tasks start and finish all the time: the task lists change under a snapshot.
        for _ in range(4):
            asyncio.get_running_loop().create_task(short(), name="tmp")
        await asyncio.sleep(0.001)


async def main():
    ev = asyncio.Event()
    tasks = [asyncio.create_task(waiter(ev), name="c%d" % i) for i in range(ntasks)]
    tick = asyncio.create_task(ticker(), name="ticker")
    for _ in range(busy):
        threading.Thread(target=background, daemon=True).start()
    if churn:
        threading.Thread(target=spawner, daemon=True, name="spawner").start()
    await asyncio.sleep(0.1)
    with open(ready, "w") as f:
        f.write(json.dumps({"pid": os.getpid(), "tasks": ["c%d" % i for i in range(min(ntasks, 10))],
                            "ntasks": ntasks, "coro": "waiter"}) + "\n")
    await asyncio.gather(*tasks, tick)


asyncio.run(main())
