# SPDX-License-Identifier: MIT
# Target of the live-control fault and safety tests (test_live_faults.py, test_live_safety.py).
# Started as `python live_faults.py FIFO MODE HEARTBEAT [ARG]`; writes {"pid": ...} into FIFO
# when ready. Its loop writes a counter (12 digits) at the start of the file HEARTBEAT every
# 10 ms, so a test can see whether the loop runs without loading anything into it. MODE:
#   beat    just that.
#   shadow  `from os import *` in __main__ (open is os.open), warnings shown as under
#           `-W default`; the truth says whether `queue` was imported.
#   join    the loop runs on a thread; the main thread waits in Thread.join().
#   gate    once ready, the loop's thread blocks reading the FIFO ARG (in C, GIL released)
#           until a byte arrives: loading the agent waits.
#   deny    an audit hook refuses to open any aiodbg agent file while the file ARG exists:
#           every load fails after the bootstrap ran.
# Every signal, unraisable exception and loop exception-handler call is logged to stdout.
import sys
import warnings

warnings.simplefilter("default")  # what -W default does: ResourceWarning is shown

import asyncio  # noqa: E402
import builtins  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402

ready, mode, heartbeat = sys.argv[1], sys.argv[2], sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else None
queue_at_start = "queue" in sys.modules
beats = 0

if mode == "shadow":
    from os import *  # noqa: F401,F403,E402 (shadows open, as some programs do)


def log(*a):
    print(*a, flush=True)


def on_signal(signum, frame):
    log("SIGNAL", signum)


def deny_hook(event, args):
    path = str(args[0]) if event == "open" and args else ""
    if "/aiodbg-" in path and path.endswith("/a.py") and os.path.exists(arg):
        raise PermissionError("denied by the program's audit hook")


async def beat(fd):
    global beats
    while True:
        beats += 1
        os.pwrite(fd, b"%12d" % beats, 0)
        await asyncio.sleep(0.01)


async def main():
    sys.unraisablehook = lambda u: log("UNRAISABLE", u.exc_type.__name__, u.exc_value)
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda l, ctx: log("LOOP-EXCEPTION", ctx.get("message")))
    fd = os.open(heartbeat, os.O_WRONLY | os.O_CREAT, 0o644)
    task = asyncio.create_task(beat(fd), name="beat")
    await asyncio.sleep(0.05)
    with builtins.open(ready, "w") as f:
        f.write(json.dumps({"pid": os.getpid(), "queue_at_start": queue_at_start}) + "\n")
    log("READY")
    if mode == "gate":
        gfd = os.open(arg, os.O_RDONLY)
        os.read(gfd, 1)  # blocks the loop's thread in C until the test writes
        os.close(gfd)
        log("GATE OPEN")
    await task


for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
          signal.SIGALRM, signal.SIGPIPE, signal.SIGCHLD, signal.SIGWINCH):
    signal.signal(s, on_signal)
if mode == "deny":
    sys.addaudithook(deny_hook)
if mode == "join":
    t = threading.Thread(target=asyncio.run, args=(main(),), name="loop")
    t.start()
    t.join()
else:
    asyncio.run(main())
