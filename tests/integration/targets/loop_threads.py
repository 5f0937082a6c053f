# SPDX-License-Identifier: MIT
"""Three loops on three threads, none of them found through a Python frame of its own
(tests/integration/test_services.py). Started as `python loop_threads.py FIFO LOOP`, LOOP
uvloop|asyncio (the kind of all three loops):

  main     the main thread, asyncio.Runner(loop_factory=...): task main-sleeper
  loop-a   a thread started with _thread.start_new_thread(loop.run_forever): for uvloop the
           thread has no Python frame at all; task a-sleeper
  loop-b   threading.Thread(target=loop.run_forever, name="loop-b"): task b-sleeper

The truth: each loop's id, type, thread (native id) and task.
"""
import _thread
import asyncio
import concurrent.futures
import sys
import threading

import _aio
import _truth

KIND = sys.argv[2]
KEEP = []


def new_loop():
    if KIND == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


async def sleeper():
    await asyncio.sleep(3600)  # SLEEP


def on_loop(loop, fn):
    """fn() run on loop's thread; its result."""
    done = threading.Event()
    box = []

    def call():
        box.append(fn())
        done.set()

    loop.call_soon_threadsafe(call)
    done.wait()
    return box[0]


def start(loop, name):
    def make():
        t = loop.create_task(sleeper(), name=name)
        return {"id": _aio.hexid(loop), "thread": threading.get_native_id(),
                "type": "%s.%s" % (type(loop).__module__, type(loop).__qualname__),
                "task": _aio.hexid(t), "task_name": name, "_task": t}

    return on_loop(loop, make)


async def main():
    loop = asyncio.get_running_loop()
    t = asyncio.create_task(sleeper(), name="main-sleeper")
    loops = {"main": {"id": _aio.hexid(loop), "thread": threading.get_native_id(),
                      "type": "%s.%s" % (type(loop).__module__, type(loop).__qualname__),
                      "task": _aio.hexid(t), "task_name": "main-sleeper"}}
    a, b = new_loop(), new_loop()
    _thread.start_new_thread(a.run_forever, ())
    threading.Thread(target=b.run_forever, name="loop-b", daemon=True).start()
    with concurrent.futures.ThreadPoolExecutor(1) as ex:  # its thread ends with the block
        loops["a"] = await loop.run_in_executor(ex, start, a, "a-sleeper")
        loops["b"] = await loop.run_in_executor(ex, start, b, "b-sleeper")
    KEEP.extend(loops[k].pop("_task") for k in ("a", "b"))
    await asyncio.sleep(0.05)
    truth = dict(_truth.common())
    truth.update(loops=loops, kind=KIND, sleep_line=_truth.marker_line(sleeper, "SLEEP"),
                 os_threads=_truth.os_thread_count())
    _truth.report(sys.argv[1], truth)
    await t


with asyncio.Runner(loop_factory=new_loop) as runner:
    runner.run(main())
