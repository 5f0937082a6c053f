# SPDX-License-Identifier: MIT
# Live-control target for expressions that do not end (tests/integration/test_live_expr.py):
# a heartbeat counter the loop keeps advancing, a future of the program's own
# (book.upstream) that three reader tasks await, and functions that never return (pure
# Python, in a coroutine step) or block in C. Started as `python live_runaway.py FIFO`;
# writes {"pid": ...} into FIFO when ready. Logs to stdout what the tests wait for (SPINNING
# TAG, AWAITING TAG, a reader's end) and every signal, unraisable exception and loop
# exception-handler call, which must not happen.
import asyncio
import json
import os
import signal
import sys
import time

heartbeat = 0
book = None
doomed = victim = None
finish = None


def log(*a):
    print(*a, flush=True)


def on_signal(signum, frame):
    log("SIGNAL", signum)


def unraisable(u):
    log("UNRAISABLE", u.exc_type.__name__, u.exc_value)


def spin(tag):
    """Never returns; pure Python, so an asynchronous exception stops it."""
    log("SPINNING", tag)
    return any(False for _ in iter(int, 1))


def stuck(seconds):
    """Blocks in C (time.sleep): nothing interrupts it before it returns."""
    log("STUCK")
    time.sleep(seconds)
    return "slept"


async def spin_async(tag):
    """A coroutine whose second step never returns."""
    await asyncio.sleep(0)
    return spin(tag)


async def compute(x):
    await asyncio.sleep(0)
    return x * 2


class Book:
    def __init__(self):
        self.upstream = asyncio.get_running_loop().create_future()
        self.readers = []

    async def wait(self):
        """Program code awaiting the program's future."""
        return await self.upstream


async def reader(i):
    try:
        v = await book.upstream
    except asyncio.CancelledError:
        log("reader-%d cancelled" % i)
        raise
    log("reader-%d got %r" % (i, v))


async def beat():
    global heartbeat
    while True:
        heartbeat += 1
        await asyncio.sleep(0.005)


async def doomed_task():
    await finish.wait()
    return "done"


async def victim_task():
    await asyncio.sleep(3600)


async def finish_doomed():
    """Let the doomed task end, and wait until it has."""
    finish.set()
    return await doomed


async def main():
    global book, doomed, victim, finish
    for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
              signal.SIGALRM, signal.SIGPIPE, signal.SIGCHLD, signal.SIGWINCH):
        signal.signal(s, on_signal)
    sys.unraisablehook = unraisable
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda l, ctx: log("LOOP-EXCEPTION", ctx.get("message")))
    book = Book()
    finish = asyncio.Event()
    asyncio.create_task(beat(), name="heartbeat")
    book.readers = [asyncio.create_task(reader(i), name="reader-%d" % i) for i in (1, 2, 3)]
    doomed = asyncio.create_task(doomed_task(), name="doomed")
    victim = asyncio.create_task(victim_task(), name="victim")
    await asyncio.sleep(0.05)
    with open(sys.argv[1], "w") as f:
        f.write(json.dumps({"pid": os.getpid()}) + "\n")
    log("READY")
    await asyncio.sleep(3600)


asyncio.run(main())
