# SPDX-License-Identifier: MIT
# Live-control target in one of several shapes (argv[2]): "idle" (a loop parked in
# epoll_wait with no timers and no tasks but main), "busy" (a callback spinning for
# argv[3] seconds at a time), "threads" (25 Python threads busy alongside the loop).
# Started as `python live_modes.py FIFO MODE [SECONDS]`; writes {"pid": ...} into FIFO. Records every signal and stray
# exception it receives on stdout.
import asyncio
import json
import os
import signal
import sys
import threading
import time

ready, mode = sys.argv[1], sys.argv[2]
counter = 0


def log(*a):
    print(*a, flush=True)


def on_signal(signum, frame):
    log("SIGNAL", signum)


def spin(seconds):
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        x += 1
    return x


def background(i):
    while True:
        spin(0.001)
        time.sleep(0.001)


async def main():
    global counter
    for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
              signal.SIGALRM, signal.SIGPIPE, signal.SIGCHLD, signal.SIGWINCH):
        signal.signal(s, on_signal)
    sys.unraisablehook = lambda u: log("UNRAISABLE", u.exc_type.__name__, u.exc_value)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda l, ctx: log("LOOP-EXCEPTION", ctx.get("message")))
    if mode == "threads":
        for i in range(25):
            threading.Thread(target=background, args=(i,), daemon=True, name="bg%d" % i).start()
    with open(ready, "w") as f:
        f.write(json.dumps({"pid": os.getpid()}) + "\n")
    log("READY")
    if mode == "busy":
        seconds = float(sys.argv[3])
        while True:
            spin(seconds)  # hogs the loop's thread
            counter += 1
            await asyncio.sleep(0)
    # idle / threads: a future nobody completes, so no timer is armed.
    await loop.create_future()


asyncio.run(main())
