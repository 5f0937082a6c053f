# SPDX-License-Identifier: MIT
# aiodbg for GDB: `gdb -x aiodbg-gdb.py` loads aiodbg_gdb.so and registers the `aio` commands.
#
# The work is done in C (aiodbg_gdb.so, the same command layer as the aiodbg executable);
# this script only finds the module, checks that it was built for the Python this GDB
# embeds, declares one GDB command per aiodbg command (so `help aio` and `help aio tasks`
# come from the command table) and tells the module when the inferior ran or changed.
import glob
import importlib.machinery
import importlib.util
import os
import sys

import gdb

_TAG = b"aiodbg-gdb-python="
_HERE = os.path.dirname(os.path.realpath(__file__))


def _built_for(path):
    """The "X.Y" that aiodbg_gdb.so at path was built for, read from the file (not loaded)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    i = data.find(_TAG)
    if i < 0:
        return None
    end = data.find(b";", i)
    return data[i + len(_TAG):end].decode("ascii", "replace") if end > 0 else None


def _candidates():
    """aiodbg_gdb.so files to try: $AIODBG_GDB_SO alone when set, else the ones next to this
    script, then those of the build tree (make gdbext, make gdbext-sid)."""
    env = os.environ.get("AIODBG_GDB_SO")
    if env:
        yield env
        return
    top = os.path.dirname(_HERE)
    for d in (_HERE, os.path.join(top, "build", "gdbext"), os.path.join(top, "build", "gdbext-sid")):
        for p in sorted(glob.glob(os.path.join(d, "aiodbg_gdb*.so"))):
            yield p


def _load():
    # Sourced twice (or another copy first): keep the module that is loaded.
    if "aiodbg_gdb" in sys.modules:
        return sys.modules["aiodbg_gdb"]
    want = "%d.%d" % sys.version_info[:2]
    found = []
    for path in _candidates():
        v = _built_for(path)
        if v == want:
            loader = importlib.machinery.ExtensionFileLoader("aiodbg_gdb", path)
            spec = importlib.util.spec_from_file_location("aiodbg_gdb", path, loader=loader)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            # `python import aiodbg_gdb` then works in GDB scripts:
            # aiodbg_gdb.run("tasks --json", to_string=True).
            sys.modules["aiodbg_gdb"] = mod
            return mod
        if v is None and not os.path.exists(path):
            raise gdb.GdbError("aiodbg: %s does not exist" % path)
        found.append((path, v))
    if not found:
        raise gdb.GdbError(
            "aiodbg: aiodbg_gdb.so not found (AIODBG_GDB_SO, next to %s, build/gdbext): "
            "build it with 'make gdbext'" % __file__)
    path, v = found[0]
    raise gdb.GdbError(
        "aiodbg: aiodbg_gdb.so was built for Python %s but this GDB embeds Python %s: "
        "rebuild with make gdbext GDB=%s (found %s)" % (v or "?", want, _gdb_path(), path))


def _gdb_path():
    try:
        return os.readlink("/proc/self/exe")
    except OSError:
        return "gdb"


class _Unavailable(gdb.Command):
    """aiodbg could not load: run any `aio` command to see why."""

    def __init__(self, why):
        super().__init__("aio", gdb.COMMAND_STACK, gdb.COMPLETE_NONE, True)
        self.why = why

    def invoke(self, arg, from_tty):
        raise gdb.GdbError(self.why)


try:
    _mod = _load()
except gdb.GdbError as e:
    # Say why once, without a traceback, and keep saying it when `aio` is used.
    gdb.write("%s\n" % e, gdb.STDERR)
    _Unavailable(str(e))
    _mod = None


def _doc(c):
    """GDB help text: first line is the one-line summary `help aio` lists."""
    doc = "%s.\nUsage: aio %s\n\n%s" % (c["summary"][:1].upper() + c["summary"][1:], c["usage"], c["help"])
    if c["aliases"]:
        doc += "\nAliases: " + ", ".join("aio " + a for a in c["aliases"])
    if c["live_only"]:
        doc += "\nLive processes only."
    return doc


class _AioPrefix(gdb.Command):
    """Asyncio-aware debugging of a CPython program: tasks, await graph, Python stacks.

Usage: aio COMMAND [ARGS] [--json]
Every aiodbg command is available as `aio COMMAND`, with the same output as the aiodbg
executable ('aio help' lists them). Works on live processes and core files of CPython
3.11-3.15, with or without debug symbols."""

    def __init__(self):
        super().__init__("aio", gdb.COMMAND_STACK, gdb.COMPLETE_NONE, True)

    def invoke(self, arg, from_tty):
        # Aliases (`aio ps`) and commands not registered below reach the command layer,
        # which answers them or says "unknown command".
        self.dont_repeat()
        if not arg.strip():
            arg = "help"
        _mod.run(arg)


def _make_command(c, name=None, doc=None):
    """`aio NAME`; for an alias (`aio p`) name is the alias: GDB would otherwise take
    `aio p` for the unique command it prefixes (`aio pause`)."""
    name = name or c["name"]

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        _mod.run(name + " " + arg)

    def complete(self, text, word):
        return _mod.complete(name, text, word)

    cls = type("_Aio_" + name, (gdb.Command,),
               {"__doc__": doc or _doc(c), "invoke": invoke, "complete": complete})
    return cls("aio " + name, gdb.COMMAND_STACK)


def _register():
    _AioPrefix()
    for c in _mod.commands():
        if not c["frontend"]:
            _make_command(c)
            for a in c["aliases"]:
                _make_command(c, a, "Alias for `aio %s`.\nUsage: aio %s" % (c["name"], c["usage"]))

    def invalidate(*_):
        _mod.invalidate()

    def forget(*_):
        _mod.forget()

    if getattr(_mod, "_events_connected", False):
        return
    _mod._events_connected = True
    events = gdb.events
    for name in ("stop", "cont", "memory_changed", "inferior_call"):
        if hasattr(events, name):
            getattr(events, name).connect(invalidate)
    for name in ("exited", "new_objfile", "clear_objfiles", "new_inferior", "inferior_deleted",
                 "gdb_exiting"):
        if hasattr(events, name):
            getattr(events, name).connect(forget)
    # After `detach`: close live control's channel, so the agent resumes a paused loop.
    if hasattr(events, "before_prompt"):
        events.before_prompt.connect(lambda: _mod.check())


if _mod:
    _register()
