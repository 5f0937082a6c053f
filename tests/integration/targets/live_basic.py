# SPDX-License-Identifier: MIT
# Live-control target (tests/integration/test_live.py): a ticker, a worker holding a
# context variable, a local and a cell variable, a gated task, a held and a free lock, a
# queue, an open stream. Started as `python live_basic.py FIFO`; writes {"pid": ...} into FIFO when ready.
# Every signal, unraisable exception and loop exception-handler call is logged to stdout,
# which the test reads: there must be none.
import asyncio
import contextvars
import json
import os
import signal
import socket
import sys

cv = contextvars.ContextVar("cv", default="unset")
ticks = 0
lock = free_lock = None
queue = None
reader = writer = peer = None
W = gated_task = gate = None


def log(*a):
    print(*a, flush=True)


def on_signal(signum, frame):
    log("SIGNAL", signum)


def unraisable(u):
    log("UNRAISABLE", u.exc_type.__name__, u.exc_value)


async def compute(x):
    await asyncio.sleep(0)
    return x * 2


async def stubborn(s):
    """Takes a first cancellation s seconds late (an await that ignores Ctrl-C)."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        await asyncio.sleep(s)
        return "stubborn"


async def ticker():
    global ticks
    while True:
        ticks += 1
        await asyncio.sleep(0.005)


async def worker():
    cv.set("w-value")
    local_a = 41
    in_cell = ["cell"]  # a cell variable: peek() closes over it

    def peek():
        return in_cell

    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError as e:
        log("worker cancelled:", e.args, "cv:", cv.get())
        await asyncio.sleep(3600)
    return local_a


async def gated():
    await gate.wait()
    return "opened"


async def fail():
    await asyncio.sleep(0)
    raise ValueError("bad value")


async def holder():
    async with lock:
        await asyncio.sleep(3600)


async def main():
    global lock, free_lock, queue, reader, writer, peer, W, gated_task, gate
    for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
              signal.SIGALRM, signal.SIGPIPE, signal.SIGCHLD, signal.SIGWINCH):
        signal.signal(s, on_signal)
    sys.unraisablehook = unraisable
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda l, ctx: log("LOOP-EXCEPTION", ctx.get("message")))
    lock = asyncio.Lock()
    free_lock = asyncio.Lock()
    gate = asyncio.Event()
    queue = asyncio.Queue()
    queue.put_nowait("item-1")
    mine, peer = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=mine)
    asyncio.create_task(ticker(), name="ticker")
    W = asyncio.create_task(worker(), name="worker")
    asyncio.create_task(holder(), name="holder")
    gated_task = asyncio.create_task(gated(), name="gated")
    await asyncio.sleep(0.05)
    with open(sys.argv[1], "w") as f:
        f.write(json.dumps({"pid": os.getpid()}) + "\n")
    log("READY")
    await asyncio.sleep(3600)


asyncio.run(main())
