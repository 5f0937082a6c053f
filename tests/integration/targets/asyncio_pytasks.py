# SPDX-License-Identifier: MIT
"""Pure-Python tasks (issue 4): asyncio.tasks._PyTask, which CPython uses when _asyncio is
not there, and which a task factory can ask for.

asyncio.run(main()): main (a native Task, unnamed) installs a task factory that makes
_PyTask objects, then spawns "py-waiter" (waits on an Event), "py-parent" (awaits the task
py-waiter) and "py-cancelling" (cancelled with a message; it catches the CancelledError and
waits again, so it stays pending with cancelling() == 1), and awaits py-parent itself. One
native task, "native-on-py", awaits the pure-Python task py-waiter too.

Truth: common facts; "loops"; "tasks" (see _aio.task_facts; "type" tells _PyTask from
Task; in_all_tasks is False for the pure-Python ones on 3.14+, whose asyncio.all_tasks()
misses them); "main_task"; "problems" (self-checks, must be empty)."""
import asyncio
import sys
import threading

import _aio
import _truth

ME = __file__


def at(func, tag):
    return [func.__code__.co_qualname, ME, _truth.marker_line(func, tag)]


async def wait_event(ev):
    await ev.wait()  # WAIT


async def stubborn(ev):
    try:
        await ev.wait()  # FIRST-WAIT
    except asyncio.CancelledError:
        await ev.wait()  # HANDLING


async def parent(child):
    await child  # AWAIT-CHILD


def py_task_factory(loop, coro, **kwargs):
    return asyncio.tasks._PyTask(coro, loop=loop, **kwargs)


def reporter(fifo, facts):
    try:
        mt = threading.main_thread()
        _truth.wait_blocked({mt.native_id: _aio.loop_thread_is_idle}, syscalls=_truth.EPOLL_SYSCALLS)
        truth = _truth.common()
        truth["thread_count"] = 1
        truth["os_threads"] = 1
        truth["loops"] = [facts["loop"]]
        truth["tasks"] = facts["tasks"]
        truth["main_task"] = MAIN_TASK[0]
        problems = []
        _aio.check_tasks(truth["tasks"], problems)
        types = {t["name"]: t["type"] for t in truth["tasks"] if t["name"]}
        for name in ("py-waiter", "py-parent", "py-cancelling"):
            if types.get(name) != "Task" or not PY_TASKS.get(name):
                problems.append({"not a pure-Python task": name})
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
    # 3.14+'s asyncio.all_tasks() leaves pure-Python tasks out: hand them over.
    facts = _aio.loop_facts(asyncio.get_running_loop(), threading.get_native_id(),
                            extra=_aio.KEEP)
    _truth.register_thread(threading.main_thread())
    threading.Thread(target=reporter, args=(fifo, facts), name="reporter", daemon=True).start()


MAIN_TASK = []
PY_TASKS = {}


async def main(fifo):
    loop = asyncio.get_running_loop()
    ev = asyncio.Event()
    _aio.declare(asyncio.current_task(), expect=at(main, "MAIN-AWAIT"))
    MAIN_TASK.append(_aio.hexid(asyncio.current_task()))
    loop.set_task_factory(py_task_factory)
    waiter = _aio.spawn(wait_event(ev), "py-waiter", awaited_by=["py-parent", "native-on-py"],
                        expect=at(wait_event, "WAIT"))
    par = _aio.spawn(parent(waiter), "py-parent", expect=at(parent, "AWAIT-CHILD"))
    canc = _aio.spawn(stubborn(ev), "py-cancelling", expect=at(stubborn, "HANDLING"))
    loop.set_task_factory(None)
    _aio.spawn(parent(waiter), "native-on-py", expect=at(parent, "AWAIT-CHILD"))
    for name, t in (("py-waiter", waiter), ("py-parent", par), ("py-cancelling", canc)):
        PY_TASKS[name] = isinstance(t, asyncio.tasks._PyTask) and type(t) is not asyncio.Task
    await asyncio.sleep(0.02)
    canc.cancel("stop now")  # delivered and handled before the snapshot
    await asyncio.sleep(0.05)
    loop.call_soon(snapshot, fifo)
    await par  # MAIN-AWAIT


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))  # MODULE-RUN
