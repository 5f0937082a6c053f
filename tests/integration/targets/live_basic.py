# SPDX-License-Identifier: MIT
# Live-control target: a ticker, a worker holding a context variable and a local, a lock,
# a queue, an open stream; records every signal and stray exception it receives.
import asyncio
import contextvars
import os
import signal
import sys

cv = contextvars.ContextVar("cv", default="unset")
ticks = 0
lock = None
queue = None
reader = writer = None
W = None
events = []


def log(*a):
    print(*a, flush=True)


def on_signal(signum, frame):
    log("SIGNAL", signum)


def unraisable(u):
    log("UNRAISABLE", u.exc_type.__name__, u.exc_value)


async def compute(x):
    await asyncio.sleep(0)
    return x * 2


async def ticker():
    global ticks
    while True:
        ticks += 1
        await asyncio.sleep(0.005)


async def worker():
    cv.set("w-value")
    local_a = 41
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError as e:
        log("worker cancelled:", e.args)
        await asyncio.sleep(3600)
    return local_a


async def holder():
    async with lock:
        await asyncio.sleep(3600)


async def serve(r, w):
    data = await r.readline()
    w.write(data.upper())
    await w.drain()


async def main():
    global lock, queue, reader, writer, W
    for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
              signal.SIGALRM, signal.SIGPIPE, signal.SIGCHLD, signal.SIGWINCH):
        signal.signal(s, on_signal)
    sys.unraisablehook = unraisable
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda l, ctx: log("LOOP-EXCEPTION", ctx.get("message")))
    lock = asyncio.Lock()
    queue = asyncio.Queue()
    queue.put_nowait("item-1")
    srv = await asyncio.start_unix_server(serve, path=sys.argv[2] if len(sys.argv) > 2 else None) if len(sys.argv) > 2 else None
    asyncio.create_task(ticker(), name="ticker")
    W = asyncio.create_task(worker(), name="worker")
    asyncio.create_task(holder(), name="holder")
    if srv:
        reader, writer = await asyncio.open_unix_connection(sys.argv[2])
    await asyncio.sleep(0.05)
    with open(sys.argv[1], "w") as f:
        f.write("%d\n" % os.getpid())
    log("READY")
    await asyncio.sleep(3600)


asyncio.run(main())
