# SPDX-License-Identifier: MIT
"""The JSON schema (issue 19): every command that has JSON output, run with --json on a live
target and on a core of it on every row of the matrix, prints documents that validate
against docs/aiodbg.schema.json (Debian's python3-jsonschema), each as the document of its
own command ($defs/<command>_document); failures are error documents with the exit status
they give. Several commands print JSON Lines: one compact object per line, one per
command, from -c, -x and standard input alike. The negative tests show that the schema
and the suite's check of it (helpers.validate, which every test's JSON goes through)
reject broken documents.

Targets: targets/asyncio_basic.py (tasks in every state, cycles, a second loop in a thread;
its loop is blocked for good, so it is read-only) live and as a core; targets/live_basic.py
for the live-control commands (pause, eval, await, cancel, select, locals, continue)."""
import copy
import json
import subprocess

import pytest

import helpers
from helpers import aiodbg, aiodbg_json, aiodbg_jsonl


@pytest.fixture(scope="module")
def target(row):
    t = helpers.launch_or_fail(row, "asyncio_basic.py", timeout=90)
    assert not t.truth["problems"], t.truth["problems"]
    yield t
    t.kill()


def source(target, kind, core):
    return ["attach", target.pid] if kind == "live" else helpers.core_args(core)


def truth_id(target, name):
    (tid,) = [t["id"] for t in target.truth["tasks"] if t["name"] == name]
    return tid


# Every read-only command with JSON output (and its aliases and options), and the $defs
# entry its document must match.
def read_only_commands(target):
    return [
        ("info", "info"), ("threads", "threads"), ("bt", "bt"), ("backtrace", "bt"),
        (f"bt {target.pid}", "bt"), ("bt --max-frames 2", "bt"), ("bt --native", "bt"),
        ("tasks", "tasks"), ("ps", "tasks"), ("tree", "tasks"), ("pstree", "tasks"),
        ("tasks --group-by coro", "tasks_groups"), ("ps --group-by thread", "tasks_groups"),
        ("task cycle-a", "task"), (f"task {truth_id(target, 'await-inner')}", "task"),
        ("task cancel-requested", "task"), ("task tg-abort-slow-0", "task"),
    ]


@pytest.mark.parametrize("kind", ["live", "core"])
def test_every_read_only_command_validates(target, core, kind):
    """One run of every read-only command, in one batch: JSON Lines, one validated document
    per command, each the document of its own command, with the target's facts."""
    cmds = read_only_commands(target)
    args = list(source(target, kind, core))
    for cmd, _ in cmds:
        args += ["-c", cmd]
    docs = aiodbg_jsonl(*args, "--json", timeout=180)
    want_kind = "process" if kind == "live" else "core"
    for (cmd, doc_name), doc in zip(cmds, docs):
        assert helpers.schema_errors(doc, cmd) == [], cmd
        assert "ok" not in doc and doc["target"]["kind"] == want_kind, (cmd, doc)
        assert doc["target"]["pid"] == target.pid, cmd
        if doc_name in ("tasks", "task"):
            names = {t["name"] for t in doc["tasks"]}
            assert names >= ({"cycle-a", "cycle-b", "await-inner"} if doc_name == "tasks"
                             else names) and len(names) >= 1, (cmd, names)
        if doc_name == "task":
            assert doc["tasks"][0]["name"] in cmd or doc["tasks"][0]["id"] in cmd, (cmd, doc["tasks"])
    by_cmd = dict(zip([c for c, _ in cmds], docs))
    assert by_cmd["info"]["target"]["thread_count"] == target.truth.get(
        "os_threads", by_cmd["info"]["target"]["thread_count"])
    assert any(len(c) >= 2 for c in by_cmd["tasks"]["cycles"]), by_cmd["tasks"]["cycles"]
    assert {t["tid"] for t in by_cmd[f"bt {target.pid}"]["threads"]} == {target.pid}
    assert any(f["kind"] == "native" for th in by_cmd["bt --native"]["threads"] for f in th["frames"])
    # A task doc is the same object as the task's row of `tasks`.
    one = by_cmd["task cycle-a"]["tasks"][0]
    assert one == next(t for t in by_cmd["tasks"]["tasks"] if t["id"] == one["id"])


@pytest.mark.parametrize("kind", ["live", "core"])
def test_selection_commands_validate(target, core, kind):
    """select, up, down, locals (from memory: cores too)."""
    docs = aiodbg_jsonl(*source(target, kind, core), "--json", "-c", "select await-inner",
                        "-c", "down", "-c", "up", "-c", "locals")
    sel, down, up, loc = docs
    assert sel["selected"]["name"] == "await-inner" and sel["selected"]["task"] == truth_id(target, "await-inner")
    assert down["selected"]["frame_index"] == sel["selected"]["frame_index"] - 1, (sel, down)
    assert down["selected"]["frame"]["function"] == "Event.wait", down
    assert up["selected"] == sel["selected"], (sel, up)
    assert loc["task"] == sel["selected"]["task"] and loc["frame"] == sel["selected"]["frame"]


@pytest.mark.parametrize("kind", ["live", "core"])
def test_errors_are_json_documents(target, core, kind):
    """In JSON mode a failing command prints an error document on stdout (its line of the
    JSON Lines) as well as its one-line message on stderr; exit statuses are unchanged."""
    args = source(target, kind, core)
    cmds = ["task no-such-task", "bogus", "tasks --bogus", "info", "bt 1", "tree --dot --json",
            "up"]
    argv = list(args) + ["--json"]
    for c in cmds:
        argv += ["-c", c]
    r = aiodbg(*argv)
    assert r.rc == 1, r  # the first failure's status
    docs = helpers.json_lines(r.out, "errors")
    assert len(docs) == len(cmds), r.out
    for cmd, doc in zip(cmds, docs):
        helpers.validate(doc, cmd)
    errs = {cmd: doc for cmd, doc in zip(cmds, docs) if doc.get("ok") is False}
    assert set(errs) == set(cmds) - {"info"}, errs
    assert {c: (d["command"], d["exit_status"]) for c, d in errs.items()} == {
        "task no-such-task": ("task no-such-task", 1), "bogus": ("bogus", 2),
        "tasks --bogus": ("tasks --bogus", 2), "bt 1": ("bt 1", 1),
        "tree --dot --json": ("tree --dot --json", 2), "up": ("up", 2)}
    assert errs["task no-such-task"]["error"] == "no task named 'no-such-task'"
    # stderr: the same messages, one line each.
    assert r.err.splitlines() == [f"aiodbg: {d['error']}" for d in errs.values()], r.err
    # One failing command: its status, its document.
    r = aiodbg(*args, "-c", "bogus --json")
    assert r.rc == 2 and helpers.json_lines(r.out)[0]["exit_status"] == 2, r
    # Without --json: nothing on stdout (as before).
    r = aiodbg(*args, "-c", "task no-such-task")
    assert (r.rc, r.out) == (1, ""), r


@pytest.mark.parametrize("kind", ["live", "core"])
def test_json_lines_from_every_batch_source(target, core, kind, tmp_path):
    """-c, -x FILE, standard input; --json global or per command: one compact object per
    line, in command order, nothing else on stdout."""
    args = list(source(target, kind, core))
    want = ["tasks", "threads", "info"]
    runs = {
        "-c global": aiodbg(*args, "-c", "tasks", "-c", "threads", "-c", "info", "--json"),
        "-c each": aiodbg(*args, "-c", "tasks --json", "-c", "threads --json", "-c", "info --json"),
    }
    script = tmp_path / "cmds"
    script.write_text("# a comment\ntasks\n\nthreads\ninfo\n")
    runs["-x"] = aiodbg(*args, "--json", "-x", str(script))
    runs["stdin"] = aiodbg(*args, "--json", input="tasks\nthreads\n  info\n")
    for how, r in runs.items():
        assert r.rc == 0 and r.err == "", (how, r)
        lines = r.out.split("\n")
        assert lines[-1] == "" and len(lines) == len(want) + 1, (how, r.out[:3000])
        for cmd, line in zip(want, lines):
            assert line.startswith('{"schema":"aiodbg/1",') and "\n" not in line
            doc = helpers.validate(json.loads(line), cmd, how)
            assert ("tasks" in doc, "threads" in doc, "runtime" in doc["target"]) == \
                (cmd == "tasks", cmd == "threads", cmd == "info"), (how, cmd)
    # The same documents whichever way the commands came (but for the snapshot's time).
    def strip(out):
        docs = helpers.json_lines(out)
        for d in docs:
            d["target"].pop("stopped_ms")
            d["target"].pop("copy_ms", None)
        return docs
    if kind == "core":
        outs = [strip(r.out) for r in runs.values()]
        assert all(o == outs[0] for o in outs), "the documents differ between batch sources"


def test_a_target_that_cannot_be_opened(tmp_path):
    """With --json, a target that cannot be opened is the run's one document (its command is
    the mode), exit status 3 and the message on stderr as without --json; no command runs."""
    p = subprocess.Popen(["sleep", "0"])
    p.wait()  # a pid that no longer exists
    bad = tmp_path / "core.1"
    bad.write_bytes(b"not an ELF core")
    for mode in (["attach", str(p.pid)], ["core", str(bad)], ["core", str(tmp_path / "none")]):
        r = aiodbg(*mode, "--json", "-c", "tasks", "-c", "info")
        (doc,) = helpers.json_lines(r.out, " ".join(mode))
        helpers.validate(doc, "attach")
        assert (r.rc, doc["ok"], doc["command"], doc["exit_status"]) == (3, False, " ".join(mode), 3), r
        assert r.err == f"aiodbg: {doc['error']}\n", r
        r = aiodbg(*mode, "-c", "tasks")
        assert (r.rc, r.out) == (3, ""), r


def test_live_control_commands_validate(row, start_target):
    """pause, eval/p (a value, an exception, a SyntaxError), await, select, locals, up,
    down, cancel, continue on a live loop: each document validates as its command's."""
    t = start_target(row, "live_basic.py", quiescent=False)
    cmds = ["pause", "p 6*7", "p 1/0", "p 1 +", "await compute(21)", "select worker",
            "locals", "down", "up", "p local_a", "cancel gated bye", "continue", "continue"]
    argv = ["attach", t.pid, "--json"]
    for c in cmds:
        argv += ["-c", c]
    r = aiodbg(*argv, timeout=120)
    docs = helpers.json_lines(r.out, "live control")
    assert len(docs) == len(cmds), r
    for cmd, doc in zip(cmds, docs):
        helpers.validate(doc, cmd)
    d = dict(zip(cmds, docs))
    assert d["pause"]["paused"]["thread"] == t.pid and d["pause"]["paused"]["thread_name"] == "MainThread"
    assert {k: d["p 6*7"][k] for k in ("ok", "repr", "type")} == {"ok": True, "repr": "42", "type": "int"}
    assert d["p 1/0"]["ok"] is False and d["p 1/0"]["error"] == "ZeroDivisionError: division by zero"
    assert d["p 1 +"]["ok"] is False and d["p 1 +"]["error"].startswith("SyntaxError: ")
    assert d["await compute(21)"]["repr"] == "42"
    assert d["select worker"]["selected"]["name"] == "worker"
    assert {"name": "local_a", "repr": "41"} in d["locals"]["locals"]
    assert d["p local_a"]["repr"] == "41" and d["p local_a"]["frame"]["function"] == "worker"
    assert d["cancel gated bye"]["cancel"] == {
        "task": d["cancel gated bye"]["cancel"]["task"], "cancelled": True, "cancelling": 1,
        "state": "pending", "message": "bye"}
    assert docs[-2]["continued"] == d["pause"]["paused"]["loop"], docs[-2]
    # The second continue fails: nothing is paused. Its error document says so.
    assert docs[-1]["ok"] is False and docs[-1]["command"] == "continue", docs[-1]
    assert r.rc == 1, r  # the first failure: p 1/0


# --- the check can fail ---------------------------------------------------------------


def test_schema_rejects_broken_documents(target, core):
    """A real document validates; each breakage of it does not (a wrong enum, a missing
    required field, a wrong type, an unknown field, a malformed id, pretty-printing that is
    not the command's document), and helpers.validate fails the test on it."""
    tasks = aiodbg_json(*helpers.core_args(core), "-c", "tasks --json")
    bt = aiodbg_json(*helpers.core_args(core), "-c", "bt --json")
    assert helpers.schema_errors(tasks, "tasks") == [] and helpers.schema_errors(bt, "bt") == []

    def broken(doc, change):
        d = copy.deepcopy(doc)
        change(d)
        return d

    bad = {
        "state running": broken(tasks, lambda d: d["tasks"][0].update(state="running")),
        "no awaited_by": broken(tasks, lambda d: d["tasks"][0].pop("awaited_by")),
        "line as text": broken(tasks, lambda d: next(t for t in d["tasks"] if t["stack"])["stack"][0]
                               .update(line="98")),
        "unknown field": broken(tasks, lambda d: d["tasks"][0].update(colour="red")),
        "decimal id": broken(tasks, lambda d: d["tasks"][0].update(id="140292")),
        "no target": broken(tasks, lambda d: d.pop("target")),
        "other schema": broken(tasks, lambda d: d.update(schema="aiodbg/2")),
        "gil maybe": broken(bt, lambda d: d["threads"][0].update(gil="maybe")),
        "bt without frames": broken(bt, lambda d: d["threads"][0].pop("frames")),
        "cancel count -1": broken(tasks, lambda d: d["tasks"][0]["cancel"].update(count=-1)),
    }
    for what, doc in bad.items():
        cmd = "bt" if what.startswith(("gil", "bt ")) else "tasks"
        assert helpers.schema_errors(doc, cmd), f"the schema accepts a document with {what}"
        with pytest.raises(pytest.fail.Exception, match="does not follow docs/aiodbg.schema.json"):
            helpers.validate(doc, cmd)
    # A threads document is not a bt document (frames are bt's), nor tasks a task's.
    threads = aiodbg_json(*helpers.core_args(core), "-c", "threads --json")
    assert helpers.schema_errors(threads, "bt") and helpers.schema_errors(bt, "threads")
    assert helpers.schema_errors(tasks, "task") if len(tasks["tasks"]) > 1 else True
    # And the check the whole suite uses on every output fails on a bad line.
    with pytest.raises(pytest.fail.Exception, match="does not follow"):
        helpers.validate_output(["x"], json.dumps(bad["state running"], separators=(",", ":")) + "\n")


def test_schema_file_is_valid_draft_2020_12(core):
    """The schema file itself: a valid JSON Schema (draft 2020-12) with a document for every
    command that has JSON output (`help CMD` shows --json in its usage, or says so for
    eval/await), every alias mapped, and no document for another command."""
    js = helpers._jsonschema()
    with open(helpers.SCHEMA_PATH) as f:
        schema = json.load(f)
    js.Draft202012Validator.check_schema(schema)
    docs = {k[:-len("_document")] for k in schema["$defs"] if k.endswith("_document")}
    assert set(helpers.SCHEMA_DOCS.values()) | {"error"} | set(helpers.SCHEMA_EXTRA_DOCS) == docs
    assert {r["$ref"].split("/")[-1][:-len("_document")] for r in schema["anyOf"]} == docs
    listing = aiodbg(*helpers.core_args(core), "-c", "help")
    assert listing.rc == 0, listing
    names = []
    for line in listing.out.splitlines()[1:-1]:
        if line.startswith("  ") and not line.startswith("   "):
            names.append([w.strip(",") for w in line.split("  ")[1].split()])
    assert ["info"] in names and ["quit", "detach", "exit", "q"] in names, names
    argv = list(helpers.core_args(core))
    for n in names:
        argv += ["-c", f"help {n[0]}"]
    r = aiodbg(*argv)
    assert r.rc == 0, r
    usages = [ln[len("usage: "):] for ln in r.out.splitlines() if ln.startswith("usage: ")]
    assert len(usages) == len(names), r.out
    for n, usage in zip(names, usages):
        has_json = "--json" in usage or n[0] in ("eval", "await")
        for name in n:
            assert (name in helpers.SCHEMA_DOCS) == has_json, (name, usage)
