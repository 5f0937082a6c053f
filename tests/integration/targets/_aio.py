# SPDX-License-Identifier: MIT
"""asyncio ground truth, computed inside the target (shared by the asyncio targets).

Per task (see task_facts): id (hex address), name (only names the program gave; unnamed
tasks are not asked for theirs, because get_name() would turn 3.13+'s lazy counter into a
string and change what the debugger sees), state, cancelled/cancelling/must_cancel/cancel
message, the coroutine stack where it is suspended (the whole await chain, innermost first,
through coroutines, async generators and generators), Task.get_stack() as CPython reports
it, what it waits on (_fut_waiter), 3.14+'s awaited_by, the awaited_by/primitive the program
declares, loop and thread."""
import asyncio
import gc
import inspect
import threading

import _truth

NAMES = {}  # id(task) -> the name the program gave it
DECLARED = {}  # id(task) -> {"awaited_by": [names], "primitive": str, "eager": bool, "expect": frame}
KEEP = []  # tasks that must stay alive (finished ones are in no registry)


def hexid(o):
    return "0x%x" % id(o)


def named(task, name, **declared):
    """Record a task the program created with an explicit name; returns it."""
    NAMES[id(task)] = name
    DECLARED.setdefault(id(task), {}).update(declared)
    KEEP.append(task)
    return task


def spawn(coro, name, **declared):
    return named(asyncio.get_running_loop().create_task(coro, name=name), name, **declared)


def declare(task, **declared):
    DECLARED.setdefault(id(task), {}).update(declared)


def await_chain(obj):
    """(frames innermost first, the object the chain ends at) for an awaitable."""
    frames = []
    seen = set()
    end = None
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        if inspect.iscoroutine(obj):
            f, nxt = obj.cr_frame, obj.cr_await
        elif inspect.isasyncgen(obj):
            f, nxt = obj.ag_frame, obj.ag_await
        elif inspect.isgenerator(obj):
            f, nxt = obj.gi_frame, obj.gi_yieldfrom
        else:
            # async_generator_asend/athrow, FutureIter, ...: follow what they hold.
            inner = [r for r in gc.get_referents(obj)
                     if inspect.isasyncgen(r) or inspect.iscoroutine(r) or isinstance(r, asyncio.Future)]
            if inner and not isinstance(obj, asyncio.Future):
                obj = inner[0]
                continue
            end = obj
            break
        if f is not None:
            frames.append(_truth.frame_info(f))
        obj = nxt
    return frames[::-1], end


def describe(obj, names_by_id):
    if obj is None:
        return None
    d = {"type": type(obj).__name__, "id": hexid(obj), "task": None, "task_name": None}
    if isinstance(obj, asyncio.Future):
        d["state"] = task_state(obj)
        d["cancel_message"] = getattr(obj, "_cancel_message", None)
    if isinstance(obj, asyncio.Task):
        d["task"] = hexid(obj)
        d["task_name"] = names_by_id.get(id(obj))
    return d


def task_state(t):
    if not t.done():
        return "pending"
    return "cancelled" if t.cancelled() else "finished"


def task_facts(t, thread_tid, in_all_tasks, names_by_id):
    coro = t.get_coro()
    stack, end = await_chain(coro) if (coro is not None and not t.done()) else ([], None)
    gs = []
    if not t.done():
        gs = [_truth.frame_info(f) for f in t.get_stack()][::-1]
    decl = DECLARED.get(id(t), {})
    d = {
        "id": hexid(t),
        "name": NAMES.get(id(t)),
        "default_name": id(t) not in NAMES,
        "type": type(t).__name__,
        "state": task_state(t),
        "cancelled": t.cancelled(),
        "cancelling": t.cancelling(),
        "must_cancel": bool(getattr(t, "_must_cancel", False)),
        "cancel_message": getattr(t, "_cancel_message", None),
        "coro": getattr(coro, "__qualname__", None),
        "stack": stack,
        "get_stack": gs,
        "waiting_on": describe(getattr(t, "_fut_waiter", None), names_by_id),
        "chain_end": describe(end, names_by_id),
        "loop": hexid(t.get_loop()),
        "thread": thread_tid,
        "in_all_tasks": in_all_tasks,
        "eager": bool(decl.get("eager", False)),
        "primitive": decl.get("primitive"),
        "awaited_by_declared": sorted(decl.get("awaited_by", [])),
        "expect": decl.get("expect"),
    }
    ab = getattr(t, "_asyncio_awaited_by", None)  # 3.14+
    if ab is not None or hasattr(t, "_asyncio_awaited_by"):
        d["awaited_by"] = sorted(hexid(x) for x in (ab or ()))
    if t.done() and not t.cancelled():
        exc = t.exception()
        d["exception"] = None if exc is None else f"{type(exc).__name__}: {exc}"
    return d


def loop_facts(loop, thread_tid, extra=()):
    """Facts of one loop and its tasks; call it on the loop's own thread."""
    all_tasks = asyncio.all_tasks(loop)
    tasks = list(all_tasks) + [t for t in extra if t not in all_tasks and t.get_loop() is loop]
    tasks.sort(key=lambda t: (NAMES.get(id(t)) or "", id(t)))
    names_by_id = dict(NAMES)
    return {
        "loop": {"id": hexid(loop), "thread": thread_tid, "type": type(loop).__name__,
                 "running": loop.is_running()},
        "tasks": [task_facts(t, thread_tid, t in all_tasks, names_by_id) for t in tasks],
    }


def check_tasks(tasks, problems):
    """Self-checks: each declared expected frame is the outermost frame of the task's stack."""
    for d in tasks:
        exp = d.get("expect")
        if exp and d["state"] == "pending":
            got = d["stack"][-1] if d["stack"] else None
            if not got or [got["function"], got["file"], got["line"]] != exp:
                problems.append({"task": d["name"], "want_outermost": exp, "got": got})


def loop_thread_is_idle(f):
    """Predicate for _truth.wait_blocked: innermost frame is a selector's select()."""
    return f.f_code.co_name == "select" and f.f_code.co_filename.endswith("selectors.py")


def current_native_id():
    return threading.get_native_id()
