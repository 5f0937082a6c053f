# SPDX-License-Identifier: MIT
# The in-target agent of aiodbg's live control (docs/design.md §5): pause a loop, eval, await, cancel.
#
# Design
# ------
# Loading. The debugger writes this file, preceded by one line `_AIODBG = {...}` (socket
# path, token, leases, the debugger's pid and uid as we see them, this file's path), into
# a directory it owns inside the target's root (the target may enter it and read this
# file, not change anything there: shared/channel.c), and gets it executed once: 3.14+ through the PEP 768 slot (CPython runs it with a
# fresh dict), 3.11-3.13 through a pending call of PyRun_SimpleString whose source execs
# this file in a fresh dict. Either way it runs on some Python thread between two
# bytecodes. The load step does the least possible there: it starts one thread (with
# _thread, so threading.enumerate() and interpreter shutdown are not affected) and
# returns. Everything else happens on that thread or on the loop's thread.
#
# Channel. The agent thread connects to the debugger's unix socket (path in _AIODBG),
# sends {"hello": token, "pid": ...} and then reads newline-delimited JSON requests
# {"id": N, "cmd": ...}; every reply carries the request's id. Both ends check the peer
# with SO_PEERCRED: we talk only to the debugger's pid and uid (a socket owned by anyone
# else gets not a byte), the debugger only to the target's pid bearing the token. Empty
# lines are the debugger's keepalive (one a second). No TCP, no listening socket in the
# target. A debugger that died before we loaded refuses nothing: its socket is gone or
# dead, connect() fails at once and the thread ends.
#
# Pause. `pause` schedules a callback with loop.call_soon_threadsafe (which writes one
# byte into the loop's self-pipe, exactly as the program's own threads do). The callback
# runs between two callbacks of the loop and blocks the loop thread on a queue that the
# agent thread fills with requests: eval, await, cancel, frames, continue. Other threads
# keep running; the debugger can still read memory.
#
# Await. The expression is compiled with PyCF_ALLOW_TOP_LEVEL_AWAIT in the selected
# frame's globals/locals and run as a new task on the live loop, in the selected task's
# own Context object (so contextvar writes persist in that task, as under
# pdb.set_trace_async). The paused callback returns so the loop runs; a done callback of
# the new task pauses the loop again and sends the result. The task drives the
# expression's coroutine step by step (_Agent.drive): a future or task of the program it
# waits on is waited on through a proxy future of ours, as asyncio.shield does, so that
# cancelling the await cancels only what the expression created.
#
# Interrupting. The debugger's Ctrl-C (`interrupt`) and the request's "timeout" (enforced
# here, by a watchdog thread, so that it holds even when the debugger is stopped) stop an
# expression: an await's task is cancelled, and code of the expression running on the
# loop thread (an eval, or a step of an await) gets a private exception, _Interrupt,
# raised in that thread at its next bytecode (PyThreadState_SetAsyncExc; _Agent.deliver
# says why it can never reach the program). Code blocked in a C call sees it only when
# the call returns: the debugger says so, and the loop runs on (or is paused again) when
# the expression ends.
#
# Trio. A Trio run (trio.run on some thread) is controlled the same way: its Runner stands
# for the loop (the debugger names it by its id, found in the frames of trio.run), the
# callbacks go through the run's TrioToken.run_sync_soon (Trio's documented way into a run
# from another thread), an await runs as a system task of the run in the selected task's
# Context, inside a CancelScope of its own that Ctrl-C and the timeout cancel, and cancel
# cancels the task's innermost cancel scope. Trio has no futures to share: what the
# expression awaits is its own, so cancelling it cancels nothing of the program's (_Trio).
#
# Safety. No exception ever leaves the agent into the program: every entry point (load,
# thread, callbacks) catches BaseException. If the channel closes (debugger killed) or
# stays silent longer than the lease while the loop is paused, the agent resumes the loop,
# cancels a running await, closes the socket and lets its thread end; it installs no hook
# (no trace function, no audit hook, no atexit), so nothing of it remains. Silence is
# measured in time the program runs (next_request): the keepalive's bytes stop when the
# debugger is stopped or dead, and after `alive` seconds the loop runs again. No `queue`
# (the paused loop waits on a _Mailbox). Imports are
# limited to modules an asyncio program has already loaded, plus json, the built-in gc
# (3.11's task contexts; the last way to find a loop, _Agent.gc_loop), and ctypes when an
# expression must be interrupted (_Agent.async_exc_api).
#
# Which loop. The debugger names the loop by its address and thread (find_loop); the agent
# never needs a Python frame of the loop's own, so any implementation works (uvloop).

import _thread
import sys

_CO_COROUTINE = 0x80
_PyCF_ALLOW_TOP_LEVEL_AWAIT = 0x2000
_MAX_REPR = 65536
_MAX_LINE = 1 << 20
_MAX_FRAMES = 1024
_AGENT_FILE = (lambda: 0).__code__.co_filename


def _get(d, key, default=None):
    """d.get(key, default) for the agent's dicts, without dict.get. On free-threaded
    3.13, dict.get() locks the dict, and the first read of a dict from a thread other
    than the one that made it (the request the agent's thread parsed, read on the loop's
    thread; sys.modules, threading._active and the config on the agent's thread) locks
    it again inside, to mark it shared. PyMutex spins on that second lock, which the
    thread itself holds, with 40 sched_yield() calls before it parks; beside busy
    threads each yield waits a whole round of the run queue: 2.6-3.7 s for one get with
    25 spinning threads on 2 cores. A subscript reads without the outer lock."""
    try:
        return d[key]
    except KeyError:
        return default


def _frame_info(f):
    code = f.f_code
    return {
        "function": getattr(code, "co_qualname", code.co_name),
        "file": code.co_filename,
        "line": f.f_lineno or 0,
    }


def _coro_frames(coro):
    """Frames of a coroutine chain, innermost first (cr_await / gi_yieldfrom / ag_await)."""
    frames = []
    seen = set()
    while coro is not None and len(frames) < _MAX_FRAMES and id(coro) not in seen:
        seen.add(id(coro))
        f = None
        for attr in ("cr_frame", "gi_frame", "ag_frame"):
            f = getattr(coro, attr, None)
            if f is not None:
                break
        if f is None:
            break
        frames.append(f)
        nxt = None
        for attr in ("cr_await", "gi_yieldfrom", "ag_await"):
            nxt = getattr(coro, attr, None)
            if nxt is not None:
                break
        coro = nxt
    frames.reverse()
    return frames


async def _coro_probe():
    pass


_probe = _coro_probe()
_CoroutineType = type(_probe)
_probe.close()
del _probe


def _created(x):
    """x is a coroutine that was never started (whose finalizer would warn "never
    awaited")."""
    return (type(x) is _CoroutineType and x.cr_frame is not None and not x.cr_running
            and not x.cr_suspended)


def _dispose(v, base=None, depth=3, budget=None):
    """An eval's value is about to be dropped. A coroutine the expression created and
    nobody else holds (`eval trio.sleep(1)`, `p [asyncio.sleep(1)], 2`) would print
    "coroutine ... was never awaited" on the program's stderr when it is freed: close it
    first (an unstarted coroutine runs no code when closed). The value is looked at, and
    the items of list/tuple/set/dict values down to `depth` levels (at most 10 000 items);
    a coroutine is closed, and a container looked into, only when its reference count
    shows no holder besides ours and the containers above it (what the program holds is
    left alone). With base None, returns the reference counts of
    this very code shape for a value held by one local of the caller and for an item of
    it: the baseline (_DISPOSE_BASE), so that the counts are right on every CPython
    version."""
    n = sys.getrefcount(v)
    if budget is None:
        budget = [10000]
        if base is not None and n > base[0]:
            return None  # the program holds the value: everything in it is its own
        if _created(v):
            v.close()
            return None
    it = v.values() if type(v) is dict else v if type(v) in (list, tuple, set, frozenset) else ()
    for x in it:
        m = sys.getrefcount(x)
        if base is None:
            return n, m
        budget[0] -= 1
        if budget[0] < 0 or m > base[1]:
            continue  # held elsewhere too: the program's
        if _created(x):
            x.close()
        elif depth > 1 and type(x) in (list, tuple, set, frozenset, dict):
            _dispose(x, base, depth - 1, budget)
    return None


def _dispose_base():
    v = [object()]
    return _dispose(v)


_DISPOSE_BASE = _dispose_base()


def _safe_repr(v):
    try:
        r = repr(v)
    except _Interrupt:
        raise
    except BaseException as e:  # a broken __repr__ must not fail the command
        r = "<repr failed: %s: %s>" % (type(e).__name__, e)
    if len(r) > _MAX_REPR:
        r = r[:_MAX_REPR] + "..."
    return r


def _type_name(v):
    t = type(v)
    mod = getattr(t, "__module__", "builtins")
    name = getattr(t, "__qualname__", t.__name__)
    return name if mod in ("builtins", None) else "%s.%s" % (mod, name)


def _user_tb(t):
    """Traceback t without the agent's own frames at its top."""
    while t is not None and t.tb_frame.f_code.co_filename == _AGENT_FILE:
        t = t.tb_next
    return t


def _error(e, tb=True):
    """The {"ok": false, ...} object for an exception raised by user code. A SyntaxError
    (raised by compile() in the agent: no frame of the user's) comes out as Python's REPL
    shows it, its caret line and message."""
    out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__}
    if tb:
        try:
            import traceback

            out["traceback"] = "".join(traceback.format_exception(type(e), e,
                                                                  _user_tb(e.__traceback__)))
        except BaseException:
            pass
    return out


def _interrupted(e, why):
    """The {"ok": false, ...} object for an expression the agent stopped with _Interrupt:
    where it was (its frames) and why ("interrupted (Ctrl-C)", "interrupted after 10.0 s"),
    instead of the private exception."""
    msg = "interrupted %s" % why
    out = {"ok": False, "error": msg, "interrupted": True}
    try:
        import traceback

        t = _user_tb(e.__traceback__)
        out["traceback"] = ("Traceback (most recent call last):\n" + "".join(traceback.format_tb(t))
                            if t is not None else "") + msg + "\n"
    except BaseException:
        pass
    return out


class _Stop(Exception):
    pass


class _Interrupt(BaseException):
    """Raised by the agent, in the thread running an expression, to stop it (Ctrl-C, the
    timeout). A BaseException, so that `except Exception` in the code it runs does not
    swallow it; private, so that nothing else catches it by name or raises it."""


class _Run:
    """One stretch of an expression's code on the loop thread (an eval, one step of an
    await), which _Agent.deliver may interrupt."""

    __slots__ = ("tid", "token", "sent", "why", "ended")

    def __init__(self):
        self.tid = None  # the thread running it (_thread.get_ident()), once it runs
        # Taken (popped) once: by deliver(), which then raises _Interrupt, or by end_run(),
        # after which nothing is raised. list.pop() is atomic under the GIL.
        self.token = [True]
        self.sent = False  # deliver() has raised _Interrupt in tid
        self.why = None  # "(Ctrl-C)", "after 10.0 s"
        # Held until the stretch ends: a watchdog waits on it.
        self.ended = _thread.allocate_lock()
        self.ended.acquire()


class _Steps:
    """`await _Steps(agent, coro, before)`: coro, run step by step by _Agent.drive."""

    __slots__ = ("agent", "coro", "before")

    def __init__(self, agent, coro, before):
        self.agent = agent
        self.coro = coro
        self.before = before

    def __await__(self):
        return self.agent.drive(self.coro, self.before)


async def _aiodbg_body(code, g, l, mode):
    """The expression of an `await` (asyncio and Trio alike), evaluated in g/l."""
    v = eval(code, g, l)
    if mode == "awaited":
        # `await STATEMENTS` as Python runs it (Agent.compile_await): None.
        return await v
    if code.co_flags & _CO_COROUTINE:
        # EXPR awaits itself (top-level await): its value is the result, awaited too
        # when it is awaitable.
        v = await v
        if hasattr(type(v), "__await__"):
            v = await v
    elif mode == "eval":
        # As Python awaits: a value that cannot be awaited is Python's own TypeError
        # (`await 42`). Statements (mode "exec") give None.
        v = await v
    return v


def _nothing():
    pass


class _Mailbox:
    """Requests for the paused loop thread: a list and a lock (no import: `queue` would be
    a new module in the program's sys.modules). put() from any thread; get() on one."""

    def __init__(self):
        self.items = []
        self.ready = _thread.allocate_lock()
        self.ready.acquire()  # held while there may be nothing to take

    def put(self, item):
        self.items.append(item)
        try:
            self.ready.release()
        except RuntimeError:  # already released: a wake-up is pending anyway
            pass

    def get(self, timeout):
        """The next item, or None after timeout seconds without one."""
        if not self.items:
            self.ready.acquire(True, timeout)
        return self.items.pop(0) if self.items else None


class _Agent:
    def __init__(self, config):
        self.cfg = config
        self.sock = None
        self.wlock = _thread.allocate_lock()
        self.lock = _thread.allocate_lock()
        # running | pausing | paused | awaiting | closed
        self.state = "running"
        self.queue = None
        self.loop = None
        # the _Trio of a Trio run when self.loop is its Runner, else None
        self.trio = None
        self.loop_tid = None
        self.pause_req = None
        self.await_task = None
        # The stretch of expression code running on the loop thread (_Run), if any; why the
        # running await was interrupted; the id of the eval/await request being run; an
        # interrupt that came before its expression began ((request id, why)); ctypes and
        # PyThreadState_SetAsyncExc once needed (False: unavailable).
        self.run = None
        self.await_why = None
        self.expr_id = None
        self.early = None
        self.sae = None
        self.await_interrupted = False
        self.lease = float(_get(config, "lease") or 600)
        # Liveness: the debugger's keepalive sends a byte a second (channel.c); after
        # `alive` seconds of running without one, the debugger is stopped or dead.
        self.alive = float(_get(config, "alive") or 5)
        self.rx = 0  # chunks received so far (the reader thread counts)
        # Loops the agent can name by id (remember()): the loop that was running on the
        # thread that loaded us, and every loop paused since.
        self.known = {}

    # -- channel -----------------------------------------------------------------------
    def send(self, obj):
        import json
        import socket

        data = (json.dumps(obj, default=str) + "\n").encode("utf-8", "backslashreplace")
        with self.wlock:
            if self.sock is not None:
                try:
                    # MSG_NOSIGNAL: a debugger gone mid-reply must not SIGPIPE the
                    # program (its handler would run; the default would kill it).
                    self.sock.sendall(data, socket.MSG_NOSIGNAL)
                except OSError:
                    pass

    def reply(self, req, obj):
        obj = dict(obj)
        obj["id"] = _get(req, "id")
        self.send(obj)

    def run(self):
        """The agent thread: connect, then route requests until the channel closes."""
        try:
            self._run()
        except BaseException:
            pass
        try:
            self._shutdown()
        except BaseException:
            pass

    def _run(self):
        import json
        import os
        import socket

        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = s
        s.settimeout(5)
        s.connect(self.cfg["sock"])  # refused at once when our debugger is gone
        s.settimeout(None)
        # Talk only to the debugger that loaded us: the socket's owner must be its pid
        # and uid as our namespaces see them (pid 0: it is outside our pid namespace).
        dpid, duid = _get(self.cfg, "dpid"), _get(self.cfg, "duid")
        if dpid is not None or duid is not None:
            cred = s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
            pid = int.from_bytes(cred[0:4], sys.byteorder, signed=True)
            uid = int.from_bytes(cred[4:8], sys.byteorder)
            if (dpid is not None and pid != dpid) or (duid is not None and uid != duid):
                return
        self.send({"hello": self.cfg["token"], "pid": os.getpid(), "agent": 1,
                   "python": "%d.%d.%d" % sys.version_info[:3]})
        buf = b""
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                if len(buf) > _MAX_LINE:
                    return
                chunk = s.recv(65536)
                if not chunk:
                    return  # the debugger went away
                self.rx += 1
                buf += chunk
                continue
            line, buf = buf[:nl], buf[nl + 1:]
            if not line.strip():
                continue  # keepalive
            try:
                req = json.loads(line)
                if not isinstance(req, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                self.send({"id": None, "ok": False, "error": "bad request: %s" % e})
                continue
            if self.route(req) is _Stop:
                return

    def route(self, req):
        cmd = _get(req, "cmd")
        if cmd == "ping":
            loop = self.loop
            # "evaluating": an eval the debugger stopped waiting for is still running.
            state = self.state
            if state == "paused" and self.run is not None:
                state = "evaluating"
            self.reply(req, {"ok": True, "state": state,
                             "loop": "%#x" % id(loop) if loop is not None else None,
                             "thread": self.loop_tid})
            return None
        if cmd == "detach":
            self.reply(req, {"ok": True})
            return _Stop
        if cmd == "cancel_pause":
            with self.lock:
                pr = self.pause_req
                if self.state == "pausing" and pr is not None:
                    pr["cancelled"] = True
                    self.state = "running"
                    self.pause_req = None
                was_paused = self.state == "paused"
            self.reply(req, {"ok": True, "was_paused": was_paused})
            return None
        if cmd == "interrupt":
            # Not through the queue: the loop thread is busy in the expression.
            self.reply(req, self.interrupt(_get(req, "why") or "(Ctrl-C)", req_id=_get(req, "req")))
            return None
        with self.lock:
            state = self.state
            if state == "paused":
                self.queue.put(req)
                return None
        if cmd == "pause":
            if state != "running":
                self.reply(req, {"ok": False, "error": "the loop is already %s" % state})
            else:
                self.start_pause(req)
            return None
        if state == "awaiting":
            self.reply(req, {"ok": False, "error": "an await is still running"})
        else:
            self.reply(req, {"ok": False, "error": "'%s' needs the loop paused" % cmd})
        return None

    def _shutdown(self):
        """Channel gone or detach: resume the loop, stop an await, close, forget."""
        with self.lock:
            state = self.state
            self.state = "closed"
            if self.pause_req is not None:
                self.pause_req["cancelled"] = True
        if state == "paused":
            self.queue.put({"cmd": "_resume"})
        t = self.await_task
        if state == "awaiting" and t is not None:
            try:
                self.await_interrupted = True
                self.soon(t.cancel)
            except BaseException:
                pass
        # Expression code running on the loop thread is interrupted too: nobody waits for
        # it any more, and the loop must not stay busy in it.
        self.deliver(self.run, "(the debugger went away)")
        with self.wlock:
            s, self.sock = self.sock, None
        if s is not None:
            import socket

            try:
                # shutdown wakes the agent thread out of recv(); close alone would not.
                s.shutdown(socket.SHUT_RDWR)
            except BaseException:
                pass
            try:
                s.close()
            except BaseException:
                pass

    # -- finding the loop --------------------------------------------------------------
    # The debugger names the loop by its address (id()) and thread, both read from memory:
    # tasks' _loop, the running loop the thread state records. Python offers no way to
    # reach an object by address (ctypes could, and an address that went stale would crash
    # the program), so the agent looks for an object of that id among what it can reach,
    # cheapest first (find_loop): loops it already holds, the task registries, and only
    # then the threads' Python frames. No step needs the loop's own code to be Python:
    # uvloop's run_forever is compiled and leaves no frame.

    def remember(self, loop):
        """Keep loop for later find_loop() calls: weakly where the loop allows (asyncio's
        and uvloop's do), so that the agent does not keep a closed loop alive."""
        import weakref

        try:
            ref = weakref.ref(loop)
        except TypeError:
            ref = lambda: loop  # noqa: E731 (no weak references: held while we live)
        self.known[id(loop)] = ref

    def known_loop(self, loop_id):
        ref = _get(self.known, loop_id)
        loop = ref() if ref is not None else None
        if loop is None or id(loop) != loop_id:
            self.known.pop(loop_id, None)
            return None
        return loop

    @staticmethod
    def registry_loops(loop_id):
        """The loop of id loop_id as a task registry shows it, else None. The registries
        hold every task the loop has not finished (Lib/asyncio/tasks.py): 3.11 _all_tasks
        (a WeakSet, native and pure-Python tasks alike); 3.12-3.13 _scheduled_tasks
        (WeakSet) and _eager_tasks (set); 3.14+ the same two, which there hold only
        pure-Python and third-party tasks (native ones are on per-thread lists that
        asyncio.all_tasks() needs the loop to read); ≤3.13 _current_tasks, {loop: the task
        it runs now}. Copied first (a C-level copy, atomic under the GIL), so that the
        loop thread adding tasks meanwhile does not break the walk; each task's loop is
        one attribute read, and the walk ends at the first match: a few ms for 100k tasks
        of other loops."""
        tasks = _get(sys.modules, "asyncio.tasks")
        if tasks is None:
            return None
        current = getattr(tasks, "_current_tasks", None)
        if isinstance(current, dict):
            for loop in list(current):
                if id(loop) == loop_id:
                    return loop
        for name in ("_all_tasks", "_scheduled_tasks", "_eager_tasks"):
            reg = getattr(tasks, name, None)
            if reg is None:
                continue
            data = getattr(reg, "data", None)  # a WeakSet's set of weak references
            try:
                items = list(data if isinstance(data, set) else reg)
            except BaseException:
                continue
            weak = data is not None
            for t in items:
                if weak:
                    t = t()
                    if t is None:
                        continue
                try:
                    loop = t.get_loop()
                except BaseException:
                    loop = getattr(t, "_loop", None)
                if loop is not None and id(loop) == loop_id:
                    return loop
        return None

    @staticmethod
    def frame_loops(tid, loop_id):
        """[(loop, native thread id)] from the threads' Python frames (without loop_id,
        thread tid's only, when given): the `self` of a loop method that runs the loop (asyncio's
        run_forever/_run_once/run_until_complete in Python), or, when loop_id is given,
        an object of that id among the frames' locals, their attributes, and the __self__
        of bound methods among them (asyncio.Runner.run's self._loop, the
        loop.run_forever a threading.Thread runs). Frames can be anything: a fallback."""
        import asyncio
        import threading

        natives = {}
        try:
            for t in threading.enumerate():
                natives[t.ident] = getattr(t, "native_id", None)
        except BaseException:
            pass
        found = []
        for ident, frame in sys._current_frames().items():
            native = _get(natives, ident)
            # A loop asked for by id is recognised wherever it is: a thread started with
            # _thread has no threading object, so its native id is unknown here.
            if tid and not loop_id and native != tid:
                continue
            depth = 0
            while frame is not None and depth < 4096:
                cands = []
                try:
                    if frame.f_code.co_name in ("run_forever", "_run_once", "run_until_complete"):
                        cands.append(_get(frame.f_locals, "self"))
                    if loop_id:
                        for v in list(frame.f_locals.values()):
                            cands.append(v)
                            cands.append(getattr(v, "__self__", None))
                            d = getattr(v, "__dict__", None)
                            if isinstance(d, dict) and len(d) <= 256:
                                for w in list(d.values()):
                                    cands.append(w)
                                    cands.append(getattr(w, "__self__", None))
                except BaseException:
                    pass
                hit = None
                for c in cands:
                    if c is not None and (id(c) == loop_id if loop_id else
                                          isinstance(c, asyncio.AbstractEventLoop)):
                        hit = c
                        break
                if hit is not None:
                    found.append((hit, native, ident))
                    break
                frame = frame.f_back
                depth += 1
        if loop_id or tid or len(found) <= 1:
            return [(c, n) for c, n, _ in found]
        # No identity asked for: the main thread's loop.
        main = threading.main_thread().ident
        return [(c, n) for c, n, i in found if i == main]

    def soon(self, fn, *args):
        """Run fn(*args) on the loop thread, between callbacks (asyncio) or task steps
        (Trio), from any thread."""
        if self.trio is not None:
            self.trio.soon(fn, *args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def find_loop(self, tid, loop_id):
        """(loop, native thread id or None): the loop of id loop_id (running on thread tid,
        as the debugger read it), or without an id the one of thread tid, or the main
        thread's."""
        if loop_id:
            loop = self.known_loop(loop_id)
            if loop is None:
                loop = self.registry_loops(loop_id)
            if loop is not None:
                return loop, tid or None
        runner, native, _ = _Trio.find(tid, loop_id)
        if runner is not None:
            return runner, native
        found = self.frame_loops(tid, loop_id)
        if len(found) == 1 or (found and loop_id):
            return found[0]
        if loop_id:
            return self.gc_loop(loop_id), tid or None
        return None, None

    @staticmethod
    def gc_loop(loop_id):
        """The last resort: the object of id loop_id among everything the cyclic GC tracks
        (a loop has references, so it is tracked), if it is an event loop. One pass in C
        over the heap, with the GIL held: tens of ms on a heap of millions of objects, so
        only when nothing cheaper found it (a 3.14+ loop on a thread the agent was not
        loaded on, with no Python frame naming it, and only native tasks)."""
        import asyncio
        import gc

        objs = gc.get_objects()
        try:
            for o in objs:
                if id(o) == loop_id:
                    return o if isinstance(o, asyncio.AbstractEventLoop) else None
        finally:
            del objs
        return None

    # -- pause -------------------------------------------------------------------------
    def start_pause(self, req):
        import time

        loop_id = int(_get(req, "loop") or 0)
        try:
            loop, native = self.find_loop(int(_get(req, "tid") or 0), loop_id)
        except BaseException as e:
            self.reply(req, _error(e, tb=False))
            return
        if loop is None:
            self.reply(req, {"ok": False, "error": "no running asyncio loop or Trio run found%s%s" % (
                " %#x" % loop_id if loop_id else "",
                " on thread %s" % _get(req, "tid") if _get(req, "tid") else "")})
            return
        try:
            closed = loop.is_closed()
        except BaseException:
            closed = False
        if closed:
            self.reply(req, {"ok": False, "error": "the loop %#x is closed" % id(loop)})
            return
        self.remember(loop)
        if _get(req, "lease"):
            self.lease = float(req["lease"])
        pr = {"req": req, "cancelled": False, "t0": time.monotonic()}
        with self.lock:
            if self.loop is not loop:
                self.trio = _Trio(loop) if _Trio.is_runner(loop) else None
            self.loop = loop
            self.loop_tid = native
            if self.queue is None:
                self.queue = _Mailbox()
            self.pause_req = pr
            self.state = "pausing"
        try:
            self.soon(self.on_pause, pr)
        except BaseException as e:
            with self.lock:
                self.state = "running"
                self.pause_req = None
            self.reply(req, _error(e, tb=False))

    def on_pause(self, pr):
        """Loop thread: the requested pause begins (unless the debugger gave up)."""
        try:
            import time

            # The thread is known for sure only here, on it.
            native = _thread.get_native_id()
            th = _get(getattr(_get(sys.modules, "threading"), "_active", {}), _thread.get_ident())
            with self.lock:
                if pr["cancelled"] or self.state != "pausing":
                    return
                self.state = "paused"
                self.pause_req = None
                self.loop_tid = native
            self.reply(pr["req"], {"ok": True, "loop": "%#x" % id(self.loop),
                                   "thread": native,
                                   "thread_name": getattr(th, "name", None),
                                   "waited_ms": (time.monotonic() - pr["t0"]) * 1000.0})
            self.paused()
        except BaseException:
            self.set_running()

    def set_running(self):
        with self.lock:
            if self.state != "closed":
                self.state = "running"

    def paused(self):
        """Loop thread, paused: serve requests until continue/await/detach/lease."""
        while True:
            req = self.next_request()
            if req is None:
                # The debugger is stopped, dead, or silent for too long: give the loop back.
                self._shutdown()
                return
            cmd = _get(req, "cmd")
            if cmd == "_resume":
                return
            if cmd == "continue":
                self.set_running()
                self.reply(req, {"ok": True})
                return
            try:
                if cmd == "eval":
                    out = self.do_eval(req)
                    if _get(req, "resume"):
                        # A pause of this eval's own: the loop runs on, from before the
                        # reply (the debugger's next request must find it running).
                        self.set_running()
                        self.reply(req, out)
                        return
                    self.reply(req, out)
                elif cmd == "await":
                    if self.start_await(req):
                        return
                elif cmd == "cancel":
                    self.reply(req, self.do_cancel(req))
                elif cmd == "frames":
                    self.reply(req, self.do_frames(req))
                else:
                    self.reply(req, {"ok": False, "error": "unknown command %r" % (cmd,)})
            except BaseException as e:
                self.reply(req, _error(e, tb=False))

    def next_request(self):
        """Loop thread, paused: the next request, or None when the lease ran out: `alive`
        seconds without a byte from the debugger (its keepalive stopped: SIGSTOP, Ctrl-Z,
        killed) or `lease` seconds without a request. Only time the program runs counts:
        a step that took much longer than asked means the process was stopped (GDB at
        its prompt, a snapshot's freeze), and counts as one step."""
        import time

        step = 0.25
        idle = quiet = 0.0
        rx = self.rx
        while True:
            t0 = time.monotonic()
            req = self.queue.get(step)
            if req is not None:
                return req
            dt = min(time.monotonic() - t0, 2 * step)
            if self.rx != rx:
                rx = self.rx
                idle = 0.0
            else:
                idle += dt
            quiet += dt
            if idle >= self.alive or quiet >= self.lease:
                return None

    # -- tasks, frames, scopes -----------------------------------------------------------
    def find_task(self, spec):
        want = int(spec, 16) if isinstance(spec, str) else int(spec)
        if self.trio is not None:
            return self.trio.find_task(want)
        import asyncio

        for t in asyncio.all_tasks(self.loop):
            if id(t) == want:
                return t
        raise LookupError("no pending task %#x on the paused loop %#x" % (want, id(self.loop)))

    def task_frames(self, task):
        try:
            coro = task.get_coro()
        except AttributeError:
            # the pure-Python asyncio Task; a Trio Task
            coro = getattr(task, "_coro", None) or getattr(task, "coro", None)
        return _coro_frames(coro)

    def scope(self, req):
        """(globals, locals, frame info or None, task or None) for a request."""
        spec = _get(req, "task")
        if not spec:
            g = sys.modules["__main__"].__dict__
            return g, g, None, None
        task = self.find_task(spec)
        frames = self.task_frames(task)
        i = int(_get(req, "frame") or 0)
        if not frames:
            raise LookupError("task %#x has no Python frame (not started or finished)" % id(task))
        if i < 0 or i >= len(frames):
            raise LookupError("task %#x has %d frames; no frame #%d" % (id(task), len(frames), i))
        f = frames[i]
        return f.f_globals, f.f_locals, _frame_info(f), task

    def task_context(self, task):
        if self.trio is not None:
            return task.context
        get = getattr(task, "get_context", None)  # 3.12+
        if get is not None:
            return get()
        ctx = getattr(task, "_context", None)  # pure-Python Task
        if ctx is not None:
            return ctx
        # 3.11's C Task does not expose its context; TaskObj_traverse visits
        # task_context first (Modules/_asynciomodule.c), so it is the first Context
        # among the task's referents.
        import contextvars
        import gc

        for o in gc.get_referents(task):
            if type(o) is contextvars.Context:
                return o
        return None

    @staticmethod
    def compile(expr, flags=0):
        """(code, "eval" or "exec"): an expression if expr is one, else statements. The
        SyntaxError of statements is raised on its own, not chained to the expression's
        (whose traceback would show the agent)."""
        try:
            return compile(expr, "<aiodbg>", "eval", flags), "eval"
        except SyntaxError:
            pass
        return compile(expr, "<aiodbg>", "exec", flags), "exec"

    @classmethod
    def compile_await(cls, expr):
        """(code, mode) of `await EXPR`: EXPR is awaited (mode "eval"), or awaits itself
        (top-level await in it). Statements without an await of their own are read as
        Python reads `await STATEMENTS` (`await trio.sleep(1); x = 2` awaits the sleep; a
        coroutine made and dropped would only warn on the program's stderr): mode
        "awaited", unless that is no Python (`await x = f()` runs `x = f()`)."""
        code, mode = cls.compile(expr, _PyCF_ALLOW_TOP_LEVEL_AWAIT)
        if mode == "exec" and not code.co_flags & _CO_COROUTINE:
            try:
                return compile("await " + expr, "<aiodbg>", "exec",
                               _PyCF_ALLOW_TOP_LEVEL_AWAIT), "awaited"
            except SyntaxError:
                pass
        return code, mode

    def do_frames(self, req):
        task = self.find_task(req["task"])
        return {"ok": True, "frames": [_frame_info(f) for f in self.task_frames(task)]}

    def do_eval(self, req):
        """Loop thread, paused: evaluate req["expr"], interruptible (Ctrl-C, the timeout);
        the reply. Never raises."""
        try:
            g, l, finfo, task = self.scope(req)
            ctx = self.task_context(task) if task is not None else None
        except BaseException as e:
            return _error(e, tb=False)
        try:
            code = self.compile(req["expr"])[0]
        except BaseException as e:
            out = _error(e)
        else:
            def evaluate():
                v = eval(code, g, l)
                r = _safe_repr(v), _type_name(v)
                _dispose(v, _DISPOSE_BASE)
                return r

            run = _Run()
            timeout = float(_get(req, "timeout") or 0)
            with self.lock:
                self.expr_id = _get(req, "id")
            if timeout > 0:
                self.watch(run.ended, timeout, lambda: self.deliver(run, "after %.1f s" % timeout))
            # In the task's own context, so contextvars read (and write) what the task's
            # code would.
            if ctx is not None:
                ok, v = self.run_interruptible(run, ctx.run, evaluate)
            else:
                ok, v = self.run_interruptible(run, evaluate)
            if ok:
                out = {"ok": True, "repr": v[0], "type": v[1]}
            elif isinstance(v, _Interrupt):
                out = _interrupted(v, run.why)
            else:
                out = _error(v)
            with self.lock:
                self.expr_id = None
        if finfo is not None:
            out["frame"] = finfo
        return out

    def do_cancel(self, req):
        task = self.find_task(req["task"])
        if self.trio is not None:
            return self.trio.cancel(task, _get(req, "msg"))
        msg = _get(req, "msg")
        done = task.cancel(msg) if msg is not None else task.cancel()
        state = "cancelled" if task.cancelled() else "finished" if task.done() else "pending"
        return {"ok": True, "cancelled": bool(done), "cancelling": task.cancelling(),
                "state": state}

    # -- interrupting expressions --------------------------------------------------------
    def async_exc_api(self):
        """(ctypes, PyThreadState_SetAsyncExc), or None where ctypes is missing.

        The one way CPython offers to stop code running in another thread: an exception
        that thread raises at its next bytecode. Every other way shows in the program: a
        signal runs its handlers, _thread.interrupt_main reaches only the main thread and
        is a SIGINT, a trace function shows in sys.gettrace() and (3.12+) instruments all
        code. So ctypes is imported, but only when an expression must actually be stopped:
        a session whose expressions return loads nothing new. Through a PyDLL handle of our
        own, so that ctypes.pythonapi (whose argtypes a program may have set) is neither
        used nor changed."""
        if self.sae is None:
            try:
                import ctypes

                self.sae = (ctypes, ctypes.PyDLL(None).PyThreadState_SetAsyncExc)
            except BaseException:
                self.sae = False
        return self.sae or None

    def deliver(self, run, why):
        """Raise _Interrupt in the thread running `run` if it has not ended (from any other
        thread). True when raised.

        The exception must reach the expression and nothing else. Of deliver() and
        end_run(), whoever takes the run's token first wins: if the run ended first,
        nothing is raised; if deliver() won, end_run() waits until the exception is set and
        takes it back if the thread has not raised it yet, and the agent's code between the
        end of the expression and that point catches _Interrupt (run_interruptible)."""
        if run is None or run.tid is None or run.tid == _thread.get_ident():
            return False
        api = self.async_exc_api()
        if api is None:
            return False
        try:
            run.token.pop()
        except IndexError:
            return False
        try:
            run.why = why
            api[1](api[0].c_ulong(run.tid), api[0].py_object(_Interrupt))
        finally:
            run.sent = True
        return True

    def run_interruptible(self, run, fn, *args):
        """Loop thread: fn(*args) as the stretch `run`; (True, result) or (False, exception),
        which is _Interrupt when deliver() stopped it (even just after fn returned: the
        result is then lost, and the interruption reported)."""
        try:
            run.tid = _thread.get_ident()
            # Published and checked for an interrupt that came before the expression began
            # in one step with interrupt()'s: it either sees this run or leaves `early`.
            with self.lock:
                self.run = run
                early = self.early
                if early is not None and early[0] == self.expr_id:
                    self.early = None
                else:
                    early = None
            try:
                if early is not None:
                    run.why = early[1]
                    raise _Interrupt()
                r = (True, fn(*args))
            except BaseException as e:
                r = (False, e)
            self.end_run(run)
        except _Interrupt as e:
            self.end_run(run)
            r = (False, e)
        return r

    def end_run(self, run):
        """Loop thread: `run` is over; no _Interrupt of it is raised once this returns. The
        pending _Interrupt may be raised in here: the caller catches it and calls again."""
        if self.run is run:
            self.run = None
        try:
            run.token.pop()
        except IndexError:
            # deliver() won: wait until it has set the exception (microseconds), then take
            # it back if this thread has not raised it yet.
            import time

            while not run.sent:
                time.sleep(0.0005)
            api = self.async_exc_api()
            if api is not None:
                api[1](api[0].c_ulong(run.tid), None)
        try:
            run.ended.release()
        except RuntimeError:
            pass  # released by an earlier call

    @staticmethod
    def watch(lock, timeout, expire):
        """Call expire() on a thread of ours unless `lock` is released within timeout
        seconds: the timeout of an expression holds even when the debugger is stopped."""
        def watchdog():
            try:
                if not lock.acquire(True, timeout):
                    expire()
            except BaseException:
                pass

        try:
            _thread.start_new_thread(watchdog, ())
        except BaseException:
            pass

    def interrupt(self, why, req_id=None, task=None):
        """Stop the running expression (the agent thread: Ctrl-C; a watchdog: the timeout).
        An await's task is cancelled, and its code running on the loop thread now, or an
        eval, gets _Interrupt. req_id: the eval/await request meant (if it has not begun,
        it stops as it begins); task: only that await."""
        with self.lock:
            t = self.await_task if self.state == "awaiting" else None
            if task is not None and t is not task:
                return {"ok": False, "error": "nothing to interrupt"}
            if req_id is not None and self.expr_id != req_id:
                self.early = (req_id, why)
                return {"ok": True, "raised": False}
            run = self.run
            if t is not None and self.await_why is None:
                self.await_why = why
                self.await_interrupted = True
        if t is None and run is None:
            return {"ok": False, "error": "nothing to interrupt"}
        raised = self.deliver(run, why)
        if t is not None:
            try:
                self.soon(t.cancel)
            except BaseException:
                pass
        return {"ok": True, "raised": raised}

    # -- await -------------------------------------------------------------------------
    def start_await(self, req):
        """Start the await; True when the loop must run (paused callback returns)."""
        import asyncio
        import contextvars
        import weakref

        def fail(out):
            # A failed start under a pause of the await's own ends that pause too.
            if _get(req, "resume"):
                self.set_running()
            self.reply(req, out)
            return bool(_get(req, "resume"))

        try:
            g, l, finfo, task = self.scope(req)
            code, mode = self.compile_await(req["expr"])
        except BaseException as e:
            return fail(_error(e, tb=not isinstance(e, LookupError)))
        if self.trio is not None:
            return self.trio.start_await(self, req, g, l, finfo, task, code, mode, fail)
        ctx = self.task_context(task) if task is not None else contextvars.Context()
        # The program's tasks now: one that is not among them was created by the
        # expression, and cancelling the await may cancel it (protect()).
        before = weakref.WeakSet(asyncio.all_tasks(self.loop))

        async def _aiodbg_await():
            return await _Steps(self, _aiodbg_body(code, g, l, mode), before)

        coro = _aiodbg_await()
        try:
            if self.loop.get_task_factory() is None:
                t = self.loop.create_task(coro, name="aiodbg-await", context=ctx)
            else:  # bypass a custom factory: ours must not be eager or wrapped
                t = asyncio.Task(coro, loop=self.loop, name="aiodbg-await", context=ctx)
        except BaseException as e:
            coro.close()
            return fail(_error(e, tb=False))
        end = _thread.allocate_lock()
        end.acquire()
        with self.lock:
            if self.state != "paused":
                t.cancel()
                return True
            early = self.begin_await(t, req)
        t.add_done_callback(lambda done: self.await_done(req, finfo, done, end),
                            context=contextvars.Context())
        self.bound_await(t, req, end, early)
        return True

    def begin_await(self, t, req):
        """Under self.lock: the await of req runs as t (what interrupt() cancels). The
        interrupt that came for this expression before it began, (id, why), or None."""
        self.state = "awaiting"
        self.await_task = t
        self.await_interrupted = False
        self.await_why = None
        self.expr_id = _get(req, "id")
        early = self.early
        if early is not None and early[0] == self.expr_id:
            self.early = None
            return early
        return None

    def bound_await(self, t, req, end, early):
        """The await t has begun: deliver the interrupt that came early, or else cancel it
        after req's timeout unless `end` (released when it is over) comes first."""
        timeout = float(_get(req, "timeout") or 0)
        if early is not None:
            self.interrupt(early[1], task=t)
        elif timeout > 0:
            self.watch(end, timeout, lambda: self.interrupt("after %.1f s" % timeout, task=t))

    def drive(self, coro, before):
        """Generator (`await _Steps(...)`): run the await's coroutine one step at a time.

        Each step (coro.send/throw) is code of the expression on the loop thread that the
        debugger can interrupt (run_interruptible). What a step waits on goes to our task
        through protect(), so that cancelling our task (Ctrl-C, the timeout) cancels only
        what the expression created; the cancellation still reaches the expression's
        coroutine where it waits, as CancelledError."""
        value, exc = None, None
        while True:
            if exc is None:
                ok, r = self.run_interruptible(_Run(), coro.send, value)
            else:
                ok, r = self.run_interruptible(_Run(), coro.throw, exc)
            value = exc = None
            if not ok:
                if isinstance(r, StopIteration):
                    return r.value
                if isinstance(r, _Interrupt):
                    # Stopped just after a step, the coroutine may be suspended: end it
                    # here (its finally blocks run now, on this thread).
                    try:
                        coro.close()
                    except BaseException:
                        pass
                raise r
            waited, undo = self.protect(r, before)
            try:
                value = yield waited
            except GeneratorExit:
                undo()
                coro.close()
                raise
            except BaseException as e:
                exc = e
            undo()

    def protect(self, fut, before):
        """(what our task waits on instead of fut, a function undoing it). A future or task
        of the program's (anything but a task the expression created, or a gather of only
        such tasks) is waited on through a proxy future, as asyncio.shield does: cancelling
        our task cancels the proxy, never the program's object."""
        if self.trio is not None:
            return fut, _nothing  # Trio's traps: nothing of the program's to shield
        import asyncio
        import contextvars

        try:
            if not asyncio.isfuture(fut) or fut.get_loop() is not self.loop \
                    or self.owned(fut, before):
                return fut, _nothing
        except BaseException:
            return fut, _nothing
        # What Task.__step does with a future it takes to wait on.
        fut._asyncio_future_blocking = False
        proxy = self.loop.create_future()
        proxy._asyncio_future_blocking = True

        def wake(_):
            if not proxy.done():
                proxy.set_result(None)

        fut.add_done_callback(wake, context=contextvars.Context())

        def undo():
            try:
                fut.remove_done_callback(wake)
            except BaseException:
                pass

        return proxy, undo

    @staticmethod
    def owned(fut, before):
        """True for a task the expression created (not among the program's `before`), or
        an asyncio.gather of only such tasks: cancelling those is what Ctrl-C means."""
        import asyncio

        if isinstance(fut, asyncio.Task):
            return fut not in before
        children = getattr(fut, "_children", None)  # asyncio.gather's _GatheringFuture
        if type(fut).__name__ == "_GatheringFuture" and children:
            return all(_Agent.owned(c, before) for c in children)
        return False

    def await_done(self, req, finfo, t, end):
        """Loop thread: the awaited expression finished; report it, pause again or run on."""
        try:
            try:
                end.release()  # the watchdog has nothing more to do
            except RuntimeError:
                pass
            # "resume": the debugger paused the loop for this await only; the loop runs
            # on when it ends, even if the debugger stopped waiting for it.
            resume = bool(_get(req, "resume"))
            with self.lock:
                why = self.await_why
                self.await_task = None
                self.await_why = None
                self.expr_id = None
                if self.state == "closed":
                    return
                self.state = "running" if resume else "paused"
            if t.cancelled():
                # Ctrl-C keeps the words it always had.
                out = {"ok": False, "error": "CancelledError: the expression was cancelled"
                       + (" (interrupted)" if why == "(Ctrl-C)" else
                          " (interrupted %s)" % why if why else "")}
                if why:
                    out["interrupted"] = True
            elif isinstance(t.exception(), _Interrupt):
                out = _interrupted(t.exception(), why or "")
            elif t.exception() is not None:
                out = _error(t.exception())
            else:
                v = t.result()
                out = {"ok": True, "repr": _safe_repr(v), "type": _type_name(v)}
            if finfo is not None:
                out["frame"] = finfo
            self.reply(req, out)
            if not resume:
                self.paused()
        except BaseException:
            self.set_running()

class _Trio:
    """A Trio run under control: its Runner is the agent's loop (see the header)."""

    def __init__(self, runner):
        self.runner = runner
        self.token = None

    @staticmethod
    def is_runner(obj):
        t = type(obj)
        return t.__name__ == "Runner" and t.__module__ == "trio._core._run"

    @staticmethod
    def find(tid, loop_id):
        """(Runner, native thread id, Thread) of the Trio run the debugger names (by the
        Runner's id, else by thread), from the frames of trio.run (its local `runner`:
        trio/_core/_run.py, Trio 0.22-0.34); (None, None, None) when there is none."""
        if "trio" not in sys.modules:
            return None, None, None
        import threading

        threads = {}
        try:
            for t in threading.enumerate():
                threads[t.ident] = t
        except BaseException:
            pass
        found = []
        for ident, frame in sys._current_frames().items():
            depth = 0
            while frame is not None and depth < 4096:
                code = frame.f_code
                if code.co_name in ("run", "unrolled_run") and \
                        code.co_filename.replace("\\", "/").endswith("trio/_core/_run.py"):
                    runner = _get(frame.f_locals, "runner")
                    if runner is not None:
                        th = _get(threads, ident)
                        found.append((runner, getattr(th, "native_id", None), th))
                        break
                frame = frame.f_back
                depth += 1
        for runner, native, th in found:
            if (loop_id and id(runner) == loop_id) or (not loop_id and tid and native == tid):
                return runner, native, th
        return None, None, None

    def soon(self, fn, *args):
        """fn(*args) on the run's thread between task steps: TrioToken.run_sync_soon. A
        callback that raised would crash the run: every one of ours catches everything."""
        if self.token is None:
            r = self.runner
            # What trio.lowlevel.current_trio_token() does in the run, once per run.
            if r.trio_token is None:
                r.trio_token = _trio_token_type()._create(r.entry_queue)
            self.token = r.trio_token

        def guarded():
            try:
                fn(*args)
            except BaseException:
                pass

        self.token.run_sync_soon(guarded)

    def find_task(self, want):
        for t in self.runner.tasks:
            if id(t) == want:
                return t
        raise LookupError("no task %#x in the paused Trio run %#x" % (want, id(self.runner)))

    @staticmethod
    def cancel(task, msg):
        """Cancel the task's innermost cancel scope. Without a scope of its own that is the
        scope of its nursery, whose other tasks are then cancelled too (the reply says)."""
        scope = task._cancel_status._scope
        try:
            scope.cancel(reason=msg) if msg is not None else scope.cancel()
        except TypeError:  # Trio before 0.28: no reason
            scope.cancel()
        out = {"ok": True, "cancelled": True, "state": "pending",
               "cancelling": 1 if task._cancel_status.effectively_cancelled else 0,
               "scope": "%#x" % id(scope)}
        nursery = task.parent_nursery
        if nursery is not None and nursery.cancel_scope is scope:
            others = [t for t in nursery.child_tasks if t is not task]
            out["note"] = ("its innermost cancel scope is its nursery's: %d other task%s of "
                           "the nursery %s cancelled too"
                           % (len(others), "" if len(others) == 1 else "s",
                              "is" if len(others) == 1 else "are"))
        return out

    def start_await(self, agent, req, g, l, finfo, task, code, mode, fail):
        """Run the await as a system task of the run in the task's Context (all of it
        guarded: an exception escaping a system task would end the run). True: the loop
        must run (the paused callback returns)."""
        import trio

        ctx = task.context if task is not None else None
        state = {"scope": None}

        async def _aiodbg_await():
            out = None
            try:
                with trio.CancelScope() as sc:
                    state["scope"] = sc
                    try:
                        v = await _Steps(agent, _aiodbg_body(code, g, l, mode), None)
                        out = {"ok": True, "repr": _safe_repr(v), "type": _type_name(v)}
                    except trio.Cancelled:
                        raise
                    except _Interrupt as e:
                        out = _interrupted(e, agent.await_why or "")
                    except BaseException as e:
                        out = _error(e)
                if sc.cancelled_caught or out is None:
                    why = agent.await_why
                    out = {"ok": False, "error": "Cancelled: the expression was cancelled"
                           + (" (interrupted)" if why == "(Ctrl-C)" else
                              " (interrupted %s)" % why if why else "")}
                    if why:
                        out["interrupted"] = True
            except BaseException as e:  # the run itself is ending
                out = _error(e, tb=False)
            agent.trio_await_done(req, finfo, out, end)

        end = _thread.allocate_lock()
        end.acquire()
        with agent.lock:
            if agent.state != "paused":
                return True
        try:
            kw = {"name": "aiodbg-await"}
            if ctx is not None:
                kw["context"] = ctx
            trio.lowlevel.spawn_system_task(_aiodbg_await, **kw)
        except BaseException as e:
            return fail(_error(e, tb=False))
        t = _TrioAwait(state)
        with agent.lock:
            early = agent.begin_await(t, req)
        agent.bound_await(t, req, end, early)
        return True


class _TrioAwait:
    """What interrupt() cancels for a Trio await: the expression's CancelScope."""

    def __init__(self, state):
        self.state = state

    def cancel(self):
        sc = self.state["scope"]
        if sc is not None:
            sc.cancel()


def _trio_token_type():
    import trio

    return trio.lowlevel.TrioToken


def _trio_await_done(self, req, finfo, out, end):
    """Run thread, in the await's system task: report, then pause again or run on."""
    try:
        try:
            end.release()
        except RuntimeError:
            pass
        resume = bool(_get(req, "resume"))
        with self.lock:
            self.await_task = None
            self.await_why = None
            self.expr_id = None
            if self.state == "closed":
                return
            self.state = "running" if resume else "paused"
        if finfo is not None:
            out["frame"] = finfo
        self.reply(req, out)
        if not resume:
            self.paused()
    except BaseException:
        self.set_running()


_Agent.trio_await_done = _trio_await_done


def _start(config):
    path = _get(config, "file")
    if path and _AGENT_FILE != path:
        # 3.14+ (PEP 768) compiles this file as "<string>": run it again under its own
        # name, so that its frames say where they come from (the debugger recognises
        # another session's paused loop by them).
        import io

        with io.open_code(path) as f:
            code = compile(f.read(), path, "exec")
        exec(code, {"__name__": "__aiodbg__"})
        return
    agent = _Agent(config)
    # The loader runs between two bytecodes of a thread of the debugger's choosing: the
    # loop's own (3.14+, PEP 768) or the main thread (≤3.13, a pending call). A loop that
    # runs there is that thread's running loop, whatever its implementation.
    events = _get(sys.modules, "asyncio.events")
    if events is not None:
        try:
            loop = events._get_running_loop()
            if loop is not None:
                agent.remember(loop)
        except BaseException:
            pass
    # Through the class: an instance attribute named `run` (the running expression) must
    # not hide the thread's entry point.
    _thread.start_new_thread(_Agent.run, (agent,))


try:
    _start(_AIODBG)  # noqa: F821 (prepended by the debugger)
except BaseException:
    pass
