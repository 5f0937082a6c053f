# SPDX-License-Identifier: MIT
# The in-target agent of aiodbg's live control (DESIGN.md §5): pause a loop, eval, await, cancel.
#
# Design
# ------
# Loading. The debugger writes this file, preceded by one line `_AIODBG = {...}` (socket
# path, token, lease, wanted loop), into a 0700 directory it creates inside the target's
# root, and gets it executed once: 3.14+ through the PEP 768 slot (CPython runs it with a
# fresh dict), 3.11-3.13 through a pending call of PyRun_SimpleString whose source execs
# this file in a fresh dict. Either way it runs on some Python thread between two
# bytecodes. The load step does the least possible there: it starts one thread (with
# _thread, so threading.enumerate() and interpreter shutdown are not affected) and
# returns. Everything else happens on that thread or on the loop's thread.
#
# Channel. The agent thread connects to the debugger's unix socket (path in _AIODBG),
# sends {"hello": token, "pid": ...} and then reads newline-delimited JSON requests
# {"id": N, "cmd": ...}; every reply carries the request's id. The debugger checks the
# peer with SO_PEERCRED and the token. No TCP, no listening socket in the target.
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
# the new task pauses the loop again and sends the result. `interrupt` (the debugger's
# Ctrl-C) cancels that task only.
#
# Safety. No exception ever leaves the agent into the program: every entry point (load,
# thread, callbacks) catches BaseException. If the channel closes (debugger killed) or
# stays silent longer than the lease while the loop is paused, the agent resumes the loop,
# cancels a running await, closes the socket and lets its thread end; it installs no hook
# (no trace function, no audit hook, no atexit), so nothing of it remains. Imports are
# limited to modules an asyncio program has already loaded, plus json.

import _thread
import sys

_CO_COROUTINE = 0x80
_PyCF_ALLOW_TOP_LEVEL_AWAIT = 0x2000
_MAX_REPR = 65536
_MAX_LINE = 1 << 20
_MAX_FRAMES = 1024
_AGENT_FILE = (lambda: 0).__code__.co_filename


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


def _safe_repr(v):
    try:
        r = repr(v)
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


def _error(e, tb=True):
    """The {"ok": false, ...} object for an exception raised by user code."""
    out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e) if str(e) else type(e).__name__}
    if tb:
        try:
            import traceback

            t = e.__traceback__
            # Drop the agent's own frames at the top of the traceback.
            while t is not None and t.tb_frame.f_code.co_filename == _AGENT_FILE:
                t = t.tb_next
            out["traceback"] = "".join(traceback.format_exception(type(e), e, t))
        except BaseException:
            pass
    return out


class _Stop(Exception):
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
        self.loop_tid = None
        self.pause_req = None
        self.await_task = None
        self.await_interrupted = False
        self.lease = float(config.get("lease") or 600)
        # Liveness: the debugger's keepalive sends a byte a second (channel.c); after
        # `alive` seconds of running without one, the debugger is stopped or dead.
        self.alive = float(config.get("alive") or 5)
        self.rx = 0  # chunks received so far (the reader thread counts)

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
        obj["id"] = req.get("id")
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
        dpid, duid = self.cfg.get("dpid"), self.cfg.get("duid")
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
        cmd = req.get("cmd")
        if cmd == "ping":
            loop = self.loop
            self.reply(req, {"ok": True, "state": self.state,
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
        if cmd == "interrupt":
            t = self.await_task
            if state == "awaiting" and t is not None:
                self.await_interrupted = True
                try:
                    self.loop.call_soon_threadsafe(t.cancel)
                except BaseException:
                    pass
                self.reply(req, {"ok": True})
            else:
                self.reply(req, {"ok": False, "error": "nothing to interrupt"})
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
                self.loop.call_soon_threadsafe(t.cancel)
            except BaseException:
                pass
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
    def find_loop(self, tid, loop_id):
        import asyncio
        import threading

        idents = {}
        try:
            for t in threading.enumerate():
                idents[t.ident] = t
        except BaseException:
            pass
        found = []
        for ident, frame in sys._current_frames().items():
            depth = 0
            while frame is not None and depth < 4096:
                if frame.f_code.co_name in ("run_forever", "_run_once", "run_until_complete"):
                    try:
                        cand = frame.f_locals.get("self")
                    except BaseException:
                        cand = None
                    if isinstance(cand, asyncio.AbstractEventLoop):
                        th = idents.get(ident)
                        native = getattr(th, "native_id", None) if th else None
                        found.append((cand, ident, native, th))
                        break
                frame = frame.f_back
                depth += 1
        for cand, ident, native, th in found:
            if loop_id and id(cand) == loop_id:
                return cand, native, th
        for cand, ident, native, th in found:
            if tid and native == tid:
                return cand, native, th
        if loop_id or tid:
            return None, None, None
        main = threading.main_thread().ident
        for cand, ident, native, th in found:
            if ident == main:
                return cand, native, th
        if len(found) == 1:
            return found[0][0], found[0][2], found[0][3]
        return None, None, None

    # -- pause -------------------------------------------------------------------------
    def start_pause(self, req):
        import time

        loop, native, th = self.find_loop(int(req.get("tid") or 0), int(req.get("loop") or 0))
        if loop is None:
            self.reply(req, {"ok": False, "error": "no running asyncio loop found%s" % (
                " on thread %s" % req.get("tid") if req.get("tid") else "")})
            return
        if req.get("lease"):
            self.lease = float(req["lease"])
        pr = {"req": req, "cancelled": False, "t0": time.monotonic(), "tid": native,
              "name": th.name if th is not None else None}
        with self.lock:
            self.loop = loop
            self.loop_tid = native
            if self.queue is None:
                self.queue = _Mailbox()
            self.pause_req = pr
            self.state = "pausing"
        try:
            loop.call_soon_threadsafe(self.on_pause, pr)
        except BaseException as e:
            with self.lock:
                self.state = "running"
                self.pause_req = None
            self.reply(req, _error(e, tb=False))

    def on_pause(self, pr):
        """Loop thread: the requested pause begins (unless the debugger gave up)."""
        try:
            import time

            with self.lock:
                if pr["cancelled"] or self.state != "pausing":
                    return
                self.state = "paused"
                self.pause_req = None
            self.reply(pr["req"], {"ok": True, "loop": "%#x" % id(self.loop),
                                   "thread": pr["tid"], "thread_name": pr["name"],
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
            cmd = req.get("cmd")
            if cmd == "_resume":
                return
            if cmd == "continue":
                self.set_running()
                self.reply(req, {"ok": True})
                return
            try:
                if cmd == "eval":
                    self.reply(req, self.do_eval(req))
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
        import asyncio

        want = int(spec, 16) if isinstance(spec, str) else int(spec)
        for t in asyncio.all_tasks(self.loop):
            if id(t) == want:
                return t
        raise LookupError("no pending task %#x on the paused loop %#x" % (want, id(self.loop)))

    def task_frames(self, task):
        try:
            coro = task.get_coro()
        except AttributeError:
            coro = getattr(task, "_coro", None)
        return _coro_frames(coro)

    def scope(self, req):
        """(globals, locals, frame info or None, task or None) for a request."""
        spec = req.get("task")
        if not spec:
            g = sys.modules["__main__"].__dict__
            return g, g, None, None
        task = self.find_task(spec)
        frames = self.task_frames(task)
        i = int(req.get("frame") or 0)
        if not frames:
            raise LookupError("task %#x has no Python frame (not started or finished)" % id(task))
        if i < 0 or i >= len(frames):
            raise LookupError("task %#x has %d frames; no frame #%d" % (id(task), len(frames), i))
        f = frames[i]
        return f.f_globals, f.f_locals, _frame_info(f), task

    @staticmethod
    def task_context(task):
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
        try:
            return compile(expr, "<aiodbg>", "eval", flags)
        except SyntaxError:
            return compile(expr, "<aiodbg>", "exec", flags)

    def do_frames(self, req):
        task = self.find_task(req["task"])
        return {"ok": True, "frames": [_frame_info(f) for f in self.task_frames(task)]}

    def do_eval(self, req):
        g, l, finfo, task = self.scope(req)
        ctx = self.task_context(task) if task is not None else None
        try:
            code = self.compile(req["expr"])
            # In the task's own context, so contextvars read (and write) what the
            # task's code would.
            v = ctx.run(eval, code, g, l) if ctx is not None else eval(code, g, l)
        except BaseException as e:
            out = _error(e)
        else:
            out = {"ok": True, "repr": _safe_repr(v), "type": _type_name(v)}
        if finfo is not None:
            out["frame"] = finfo
        return out

    def do_cancel(self, req):
        task = self.find_task(req["task"])
        msg = req.get("msg")
        done = task.cancel(msg) if msg is not None else task.cancel()
        state = "cancelled" if task.cancelled() else "finished" if task.done() else "pending"
        return {"ok": True, "cancelled": bool(done), "cancelling": task.cancelling(),
                "state": state}

    # -- await -------------------------------------------------------------------------
    def start_await(self, req):
        """Start the await; True when the loop must run (paused callback returns)."""
        import asyncio
        import contextvars

        def fail(out):
            # A failed start under a pause of the await's own ends that pause too.
            if req.get("resume"):
                self.set_running()
            self.reply(req, out)
            return bool(req.get("resume"))

        try:
            g, l, finfo, task = self.scope(req)
            code = self.compile(req["expr"], _PyCF_ALLOW_TOP_LEVEL_AWAIT)
        except BaseException as e:
            return fail(_error(e, tb=not isinstance(e, LookupError)))
        ctx = self.task_context(task) if task is not None else contextvars.Context()

        async def _aiodbg_await():
            v = eval(code, g, l)
            if code.co_flags & _CO_COROUTINE:
                v = await v
            if hasattr(type(v), "__await__"):
                v = await v
            return v

        coro = _aiodbg_await()
        try:
            if self.loop.get_task_factory() is None:
                t = self.loop.create_task(coro, name="aiodbg-await", context=ctx)
            else:  # bypass a custom factory: ours must not be eager or wrapped
                t = asyncio.Task(coro, loop=self.loop, name="aiodbg-await", context=ctx)
        except BaseException as e:
            coro.close()
            return fail(_error(e, tb=False))
        with self.lock:
            if self.state != "paused":
                t.cancel()
                return True
            self.state = "awaiting"
            self.await_task = t
            self.await_interrupted = False
        t.add_done_callback(lambda done: self.await_done(req, finfo, done),
                            context=contextvars.Context())
        return True

    def await_done(self, req, finfo, t):
        """Loop thread: the awaited expression finished; report it, pause again or run on."""
        try:
            # "resume": the debugger paused the loop for this await only; the loop runs
            # on when it ends, even if the debugger stopped waiting for it.
            resume = bool(req.get("resume"))
            with self.lock:
                self.await_task = None
                if self.state == "closed":
                    return
                self.state = "running" if resume else "paused"
            if t.cancelled():
                out = {"ok": False, "error": "CancelledError: the expression was cancelled"
                       + (" (interrupted)" if self.await_interrupted else "")}
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


def _start(config):
    _thread.start_new_thread(_Agent(config).run, ())


try:
    _start(_AIODBG)  # noqa: F821 (prepended by the debugger)
except BaseException:
    pass
