# SPDX-License-Identifier: MIT
"""A small asyncio service that hangs: the demo target of `make demo`.

Two workers deadlock on two locks taken in opposite order, a third waits on a queue that
nobody feeds, a fan-out task waits in a TaskGroup for both, and one task swallows its
cancellation. Run it, then point aiodbg at it:  aiodbg attach PID -c tasks -c tree
"""
import asyncio
import os
import sys

lock_a = asyncio.Lock()
lock_b = asyncio.Lock()


async def transfer(name, first, second):
    async with first:
        await asyncio.sleep(0.05)
        async with second:  # the other transfer holds it: deadlock
            return name


async def consume(queue):
    while True:
        item = await queue.get()  # nobody ever puts anything
        queue.task_done()


async def stubborn():
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # swallows every cancellation


async def fan_out(queue):
    async with asyncio.TaskGroup() as tg:
        tg.create_task(transfer("a->b", lock_a, lock_b), name="transfer-a-b")
        tg.create_task(transfer("b->a", lock_b, lock_a), name="transfer-b-a")
        tg.create_task(consume(queue), name="consumer")


async def main(ready_path):
    queue = asyncio.Queue()
    stuck = asyncio.create_task(stubborn(), name="stubborn")
    fan = asyncio.create_task(fan_out(queue), name="fan-out")
    await asyncio.sleep(0.2)
    stuck.cancel("please stop")
    await asyncio.sleep(0.1)
    if ready_path:
        with open(ready_path, "w") as f:
            f.write(f"{os.getpid()}\n")
    await fan


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
