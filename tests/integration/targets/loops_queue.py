# SPDX-License-Identifier: MIT
"""Loops in several threads fed by a queue.Queue (issue 17: the free-threaded design "an
asyncio loop per thread"; it runs the same on every interpreter of the matrix).

  main          asyncio.run(main()): task "feeder" puts one job per worker into a
                queue.Queue, then sleeps
  worker-0..2   threading.Thread: takes its job from the queue (q.get()), then
                asyncio.run(serve(i, job)): a TaskGroup with tasks w<i>-a and w<i>-b, each
                suspended in asyncio.sleep

The truth: per worker, its thread's native id and name, its loop's id, its tasks' ids and
names; the main loop's id and thread; the line where the tasks sleep.
"""
import asyncio
import queue
import sys
import threading

import _aio
import _truth

N = 3
JOBS = queue.Queue()
READY = queue.Queue()


async def job(i, kind):
    await asyncio.sleep(3600)  # JOB


async def serve(i, name):
    loop = asyncio.get_running_loop()
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(job(i, k), name=f"w{i}-{k}") for k in ("a", "b")]
        await asyncio.sleep(0)
        READY.put({"worker": i, "name": name, "thread": threading.get_native_id(),
                   "thread_name": threading.current_thread().name,
                   "loop": _aio.hexid(loop),
                   "tasks": {t.get_name(): _aio.hexid(t) for t in tasks}})


def worker(i):
    name = JOBS.get()
    asyncio.run(serve(i, name))


async def main():
    loop = asyncio.get_running_loop()
    threads = [threading.Thread(target=worker, args=(i,), name=f"worker-{i}", daemon=True)
               for i in range(N)]
    for t in threads:
        t.start()

    async def feed():
        for i in range(N):
            JOBS.put(f"job-{i}")
        await asyncio.sleep(3600)  # FEED

    feeder = asyncio.create_task(feed(), name="feeder")
    workers = {}
    while len(workers) < N:
        w = await loop.run_in_executor(None, READY.get)
        workers[w["worker"]] = w
    await asyncio.sleep(0.05)
    truth = dict(_truth.common())
    truth.update(workers=[workers[i] for i in range(N)],
                 main={"loop": _aio.hexid(loop), "thread": threading.get_native_id(),
                       "feeder": _aio.hexid(feeder)},
                 job_line=_truth.marker_line(job, "JOB"))
    _truth.report(sys.argv[1], truth)
    await feeder


asyncio.run(main())
