# SPDX-License-Identifier: MIT
"""An idle event loop (issue 3: a loop thread blocked in selectors inside asyncio.run).

asyncio.run(main()): main (unnamed, its name never asked for) awaits the task "idler",
which waits on an Event that is never set. Nothing else is scheduled, so the main thread
sits in the selector (epoll) for good.

Truth: common facts; "threads": MainThread with frames innermost first (EpollSelector.select
... <module>), taken once the thread is in epoll_wait; "loops"; "tasks" (see _aio.task_facts); "main_task" (id of main's task, "<main>" in
"edges" and in awaited_by_declared); "edges";
"problems" (self-checks, must be empty). A short-lived reporter thread writes the truth
and exits before the test starts."""
import asyncio
import sys
import threading

import _aio
import _truth

ME = __file__


def at(func, tag):
    return [func.__code__.co_qualname, ME, _truth.marker_line(func, tag)]


async def idle(ev):
    await ev.wait()  # IDLE


def reporter(fifo, facts):
    try:
        mt = threading.main_thread()
        _truth.wait_blocked({mt.native_id: _aio.loop_thread_is_idle}, syscalls=_truth.EPOLL_SYSCALLS)
        truth = _truth.common()
        truth["thread_count"] = 1
        truth["os_threads"] = 1
        truth["threads"] = [_truth.thread_facts(mt, _truth.thread_frames(mt.native_id))
                            | {"loop": facts["loop"]["id"], "running_task": None}]
        truth["loops"] = [facts["loop"]]
        truth["tasks"] = facts["tasks"]
        truth["main_task"] = MAIN_TASK[0]
        truth["edges"] = [["<main>", "idler", "await"]]  # "<main>" is the task main_task
        problems = []
        _aio.check_tasks(truth["tasks"], problems)
        frames = truth["threads"][0]["frames"]
        if frames[-1]["function"] != "<module>" or not frames[0]["file"].endswith("selectors.py"):
            problems.append({"main_frames": frames})
        truth["problems"] = problems
        _truth.report(fifo, truth)
    except BaseException:
        import os
        import traceback
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(3)


def snapshot(fifo):
    """A callback on the loop: task facts now, the thread facts once the loop is idle."""
    facts = _aio.loop_facts(asyncio.get_running_loop(), threading.get_native_id())
    _truth.register_thread(threading.main_thread())
    threading.Thread(target=reporter, args=(fifo, facts), name="reporter", daemon=True).start()


MAIN_TASK = []


async def main(fifo):
    ev = asyncio.Event()
    _aio.declare(asyncio.current_task(), expect=at(main, "MAIN-AWAIT"))
    MAIN_TASK.append(_aio.hexid(asyncio.current_task()))
    t = _aio.spawn(idle(ev), "idler", awaited_by=["<main>"], expect=at(idle, "IDLE"))
    await asyncio.sleep(0.05)
    asyncio.get_running_loop().call_soon(snapshot, fifo)
    await t  # MAIN-AWAIT


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))  # MODULE-RUN
