# SPDX-License-Identifier: MIT
"""A small Trio service that hangs.

Two transfers deadlock on two trio.Locks taken in opposite order, a consumer waits (under
fail_after) on a memory channel that nobody feeds, and a flush whose move_on_after deadline
has passed goes on in a shielded cleanup. Run it, then point aiodbg at it:
aiodbg attach PID -c tasks -c tree
"""
import os

import trio


async def transfer(first, second):
    async with first:
        await trio.sleep(0.05)
        async with second:  # the other transfer holds it: deadlock
            pass


async def consume(channel):
    with trio.fail_after(600):
        async for item in channel:  # nobody ever sends anything
            print(item)


async def flush(done):
    with trio.move_on_after(0.1):
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await done.wait()  # cleanup that never ends


async def main():
    lock_a, lock_b = trio.Lock(), trio.Lock()
    send, receive = trio.open_memory_channel(0)
    done = trio.Event()
    async with trio.open_nursery() as workers:
        async with trio.open_nursery() as transfers:
            transfers.start_soon(transfer, lock_a, lock_b, name="transfer-a-b")
            transfers.start_soon(transfer, lock_b, lock_a, name="transfer-b-a")
            workers.start_soon(consume, receive, name="consumer")
            workers.start_soon(flush, done, name="flush")
            print(f"pid {os.getpid()}", flush=True)


if __name__ == "__main__":
    trio.run(main)
