# SPDX-License-Identifier: MIT
"""Await edges that no task field names (issue 15): asyncio.run(main()) on the main thread
builds, with tasks named as below (parent -> children it awaits):

  asyncio.wait        wait-parent -> wait-child-0..1 (ALL_COMPLETED);
                      wait-first-parent -> wait-first-child (FIRST_COMPLETED, a timeout)
  as_completed        ac-parent -> ac-child-0..1 (for f in as_completed(...): await f)
  gather, a failure   gf-parent: gather(gf-child, gf-failer) raised gf-failer's ValueError,
                      gf-parent caught it and waits on an Event: gf-child, still running,
                      is awaited by nobody
  wait_for(fut, 0)    wf0-parent -> wf0-child (cancelled by wait_for, handles it by
                      awaiting: wait_for waits in _cancel_and_wait)
  async generator     agen-parent -> agen-child (async for over a generator that awaits
                      asyncio.wait)
  TaskGroup body      tg-body-parent -> tg-body-child (the parent awaits an Event inside
                      the `async with`, not in the group's exit)
  user callbacks      partial-parent -> partial-child (child.add_done_callback(
                      functools.partial(f, fut)), then await fut); method-parent ->
                      method-child (a bound method whose object holds the future)
  AnyIO (if importable) anyio-body-host -> anyio-body-child (host awaits in the body),
                      anyio-exit-host -> anyio-exit-child-0..1 (host in the group's
                      exit), anyio-start-host -> anyio-start-child (host in tg.start()),
                      anyio-scope-host -> anyio-scope-child (the child in a CancelScope)
  eager (3.12+)       eager-parent -> eager-child: created by TaskGroup.create_task with
                      asyncio.eager_task_factory, whose first step writes the truth and
                      blocks the loop for good (so it is the running task, in its first
                      step, inside eager-parent's create_task call)

Before 3.12 (no eager tasks), a plain callback writes the truth and blocks.

Truth: common facts; "tasks" (see _aio.task_facts; awaited_by_declared is the exact set
expected, for every named task); "anyio" (its version, or null); "eager" (whether the
eager case ran); "problems" (self-check failures, must be empty)."""
import asyncio
import functools
import sys

import _aio
import _truth
from _aio import spawn

try:
    import anyio
except ImportError:
    anyio = None

ME = __file__
FOREVER = 1e6
STATE = {}


def at(func, tag):
    return [func.__code__.co_qualname, ME, _truth.marker_line(func, tag)]


async def leaf(ev):
    await ev.wait()  # LEAF


async def wait_parent(children):
    await asyncio.wait(children)  # WAIT


async def wait_first_parent(children):
    await asyncio.wait(children, timeout=FOREVER, return_when=asyncio.FIRST_COMPLETED)  # WAIT-FIRST


async def ac_parent(children):
    for f in asyncio.as_completed(children):
        await f  # AS-COMPLETED


async def failer():
    await asyncio.sleep(0)
    raise ValueError("gf-failer")


async def gf_parent(children, ev):
    try:
        await asyncio.gather(*children)
    except ValueError:
        await ev.wait()  # GF-AFTER


async def slow_to_cancel(ev):
    try:
        await ev.wait()
    except asyncio.CancelledError:
        await ev.wait()  # WF0-CHILD


async def wf0_parent(child):
    await asyncio.sleep(0)  # the child starts first: cancelling it then needs its help
    await asyncio.wait_for(child, 0)  # WF0


async def agen_wait(children):
    yield 0
    await asyncio.wait(children)  # AGEN-WAIT
    yield 1


async def agen_parent(children):
    async for _ in agen_wait(children):  # AGEN-FOR
        pass


async def tg_body_parent(ev):
    async with asyncio.TaskGroup() as tg:
        _aio.named(tg.create_task(leaf(ev), name="tg-body-child"), "tg-body-child",
                   awaited_by=["tg-body-parent"], expect=at(leaf, "LEAF"))
        await ev.wait()  # TG-BODY


def set_when_done(fut, task):
    if not fut.done():
        fut.set_result(None)


async def partial_parent(child):
    fut = asyncio.get_running_loop().create_future()
    child.add_done_callback(functools.partial(set_when_done, fut))
    await fut  # PARTIAL


class Collector:
    def __init__(self):
        self.done = asyncio.get_running_loop().create_future()

    def on_done(self, task):
        if not self.done.done():
            self.done.set_result(task)


async def method_parent(child):
    c = Collector()
    child.add_done_callback(c.on_done)
    await c.done  # METHOD


# --- AnyIO ------------------------------------------------------------------------------


async def anyio_body_host(ev):
    async with anyio.create_task_group() as tg:
        tg.start_soon(leaf, ev, name="anyio-body-child")
        await ev.wait()  # ANYIO-BODY


async def anyio_exit_host(ev):
    async with anyio.create_task_group() as tg:  # ANYIO-EXIT
        tg.start_soon(leaf, ev, name="anyio-exit-child-0")
        tg.start_soon(leaf, ev, name="anyio-exit-child-1")


async def never_started(ev, *, task_status=None):
    await ev.wait()  # ANYIO-START-CHILD


async def anyio_start_host(ev):
    async with anyio.create_task_group() as tg:
        await tg.start(never_started, ev, name="anyio-start-child")  # ANYIO-START


async def in_scope(ev):
    with anyio.CancelScope():
        await ev.wait()  # ANYIO-SCOPE-CHILD


async def anyio_scope_host(ev):
    async with anyio.create_task_group() as tg:
        tg.start_soon(in_scope, ev, name="anyio-scope-child")
        await ev.wait()  # ANYIO-SCOPE


def anyio_tasks():
    """Name the tasks AnyIO made (they exist now) and declare their edges. Only tasks that
    were given a name are asked for it (see _truth)."""
    by_name = {t.get_name(): t for t in asyncio.all_tasks()
               if id(t) not in _aio.NAMES and t is not STATE["main_task"]}
    for host, children in (("anyio-body-host", ["anyio-body-child"]),
                           ("anyio-exit-host", ["anyio-exit-child-0", "anyio-exit-child-1"]),
                           ("anyio-start-host", ["anyio-start-child"]),
                           ("anyio-scope-host", ["anyio-scope-child"])):
        for c in children:
            _aio.named(by_name[c], c, awaited_by=[host])


# --- eager ------------------------------------------------------------------------------


async def eager_child(fifo):
    report_and_block(fifo)  # EAGER-CHILD


async def eager_parent(fifo):
    asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(eager_child(fifo), name="eager-child")  # EAGER


# --- main -------------------------------------------------------------------------------


async def main(fifo):
    loop = asyncio.get_running_loop()
    never = asyncio.Event()
    STATE["main_task"] = asyncio.current_task()

    def kids(prefix, n, **decl):
        return [spawn(leaf(never), f"{prefix}-{i}" if n > 1 else prefix,
                      expect=at(leaf, "LEAF"), **decl) for i in range(n)]

    spawn(wait_parent(kids("wait-child", 2, awaited_by=["wait-parent"])), "wait-parent",
          expect=at(wait_parent, "WAIT"))
    spawn(wait_first_parent(kids("wait-first-child", 1, awaited_by=["wait-first-parent"])),
          "wait-first-parent", expect=at(wait_first_parent, "WAIT-FIRST"))
    spawn(ac_parent(kids("ac-child", 2, awaited_by=["ac-parent"])), "ac-parent",
          expect=at(ac_parent, "AS-COMPLETED"))
    gf = kids("gf-child", 1)  # awaited by nobody once gather failed
    gf.append(spawn(failer(), "gf-failer"))
    spawn(gf_parent(gf, never), "gf-parent", expect=at(gf_parent, "GF-AFTER"))
    wf0 = spawn(slow_to_cancel(never), "wf0-child", awaited_by=["wf0-parent"],
                expect=at(slow_to_cancel, "WF0-CHILD"))
    spawn(wf0_parent(wf0), "wf0-parent", expect=at(wf0_parent, "WF0"))
    spawn(agen_parent(kids("agen-child", 1, awaited_by=["agen-parent"])), "agen-parent",
          expect=at(agen_parent, "AGEN-FOR"))
    spawn(tg_body_parent(never), "tg-body-parent", expect=at(tg_body_parent, "TG-BODY"))
    spawn(partial_parent(kids("partial-child", 1, awaited_by=["partial-parent"])[0]),
          "partial-parent", expect=at(partial_parent, "PARTIAL"))
    spawn(method_parent(kids("method-child", 1, awaited_by=["method-parent"])[0]),
          "method-parent", expect=at(method_parent, "METHOD"))
    if anyio is not None:
        spawn(anyio_body_host(never), "anyio-body-host", expect=at(anyio_body_host, "ANYIO-BODY"))
        spawn(anyio_exit_host(never), "anyio-exit-host", expect=at(anyio_exit_host, "ANYIO-EXIT"))
        spawn(anyio_start_host(never), "anyio-start-host",
              expect=at(anyio_start_host, "ANYIO-START"))
        spawn(anyio_scope_host(never), "anyio-scope-host",
              expect=at(anyio_scope_host, "ANYIO-SCOPE"))

    for _ in range(20):
        await asyncio.sleep(0.01)  # everybody reaches its wait; gf-failer fails
    if anyio is not None:
        anyio_tasks()
    STATE["fifo"] = fifo
    if sys.version_info >= (3, 12):
        spawn(eager_parent(fifo), "eager-parent", expect=at(eager_parent, "EAGER"))
    else:
        loop.call_soon(report_and_block, fifo)
    await never.wait()  # MAIN


def report_and_block(fifo):
    try:
        report(fifo)
    except BaseException:
        import os
        import traceback
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(3)
    _truth.block_forever()  # REPORT-BLOCK


def report(fifo):
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    if current is not None:  # eager-child, in its first step
        # 3.12's TaskGroup.create_task names the task only once create_task returned.
        current.set_name("eager-child")
        _aio.named(current, "eager-child", awaited_by=["eager-parent"], eager=True)
    mt = __import__("threading").main_thread()
    _truth.register_thread(mt)
    facts = _aio.loop_facts(loop, mt.native_id, extra=_aio.KEEP)
    truth = _truth.common()
    truth["os_threads"] = 1
    truth["tasks"] = facts["tasks"]
    truth["loop"] = facts["loop"]
    truth["anyio"] = getattr(anyio, "__version__", None) if anyio else None
    if anyio is not None and truth["anyio"] is None:
        from importlib.metadata import version
        truth["anyio"] = version("anyio")
    truth["eager"] = current is not None
    truth["main_task"] = _aio.hexid(STATE["main_task"])
    problems = []
    _aio.check_tasks(truth["tasks"], problems)
    by = {t["name"]: t for t in truth["tasks"] if t["name"]}
    for name in ("gf-child", "wf0-child"):
        if by.get(name, {}).get("state") != "pending":
            problems.append({"task": name, "state": by.get(name, {}).get("state")})
    if by.get("gf-failer", {}).get("exception") != "ValueError: gf-failer":
        problems.append({"task": "gf-failer", "got": by.get("gf-failer")})
    truth["problems"] = problems
    _truth.report(fifo, truth)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
