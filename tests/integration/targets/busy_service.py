# SPDX-License-Identifier: MIT
"""A busy asyncio service for tests/bench/watch.sh: 200 tasks that each hash 1 KiB and
yield, forever; every 0.25 s it prints "STEPS WALL_TIME N" (steps done so far).
Truth: common facts."""
import asyncio
import hashlib
import sys
import time

import _truth

STEPS = [0]


async def worker():
    data = b"x" * 1024
    while True:
        hashlib.sha256(data).digest()
        STEPS[0] += 1
        await asyncio.sleep(0)


async def reporter():
    while True:
        print(f"STEPS {time.time():.4f} {STEPS[0]}", flush=True)
        await asyncio.sleep(0.25)


async def main(fifo):
    for _ in range(200):
        asyncio.create_task(worker())
    asyncio.create_task(reporter())
    await asyncio.sleep(0.05)
    _truth.report(fifo, _truth.common())
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
