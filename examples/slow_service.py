# SPDX-License-Identifier: MIT
"""A small asyncio service with two problems that no single snapshot shows.

- `render_report` hashes a password with a synchronous call (about 300 ms on a quiet machine) in the loop's
  thread, every couple of seconds: every other request waits meanwhile.
- `handle` fires off a `notify` task per request and never keeps it or awaits it; each
  notify waits for an acknowledgement that never comes, so they pile up.

Run it, then: aiodbg watch PID (Ctrl-C for the summary)
"""
import asyncio
import hashlib
import os
import sys


async def notify(request_id, acks):
    await acks.wait()  # nobody ever sets it


def render_report():
    return hashlib.pbkdf2_hmac("sha256", b"hunter2", b"salt", 750_000)


async def handle(request_id, acks):
    asyncio.get_running_loop().create_task(notify(request_id, acks))
    await asyncio.sleep(0.01)
    if request_id % 40 == 0:
        render_report()


async def serve(acks):
    request_id = 0
    while True:
        request_id += 1
        await handle(request_id, acks)
        await asyncio.sleep(0.04)


async def main(ready_path):
    acks = asyncio.Event()
    server = asyncio.create_task(serve(acks), name="server")
    await asyncio.sleep(0.2)
    if ready_path:
        with open(ready_path, "w") as f:
            f.write(f"{os.getpid()}\n")
    await server


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
