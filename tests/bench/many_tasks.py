# SPDX-License-Identifier: MIT
"""Benchmark target: N pending tasks, each suspended two coroutines deep, half of them
awaited by a parent through gather. Writes its pid to the ready file, then idles."""
import asyncio
import os
import sys


async def leaf(ev):
    await ev.wait()


async def middle(ev):
    await leaf(ev)


async def parent(ev, n):
    await asyncio.gather(*(middle(ev) for _ in range(n)))


async def main(n, ready):
    ev = asyncio.Event()
    tasks = [asyncio.create_task(middle(ev), name=f"w{i}") for i in range(n // 2)]
    tasks.append(asyncio.create_task(parent(ev, n - n // 2), name="parent"))
    await asyncio.sleep(0.2 + n / 200000)
    with open(ready, "w") as f:
        f.write(str(os.getpid()))
    await ev.wait()


asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
