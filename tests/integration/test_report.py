# SPDX-License-Identifier: MIT
"""`report --html FILE` and `tree --dot` (issue 19), on every row of the matrix, live and on a
core of the same process, and `aio report --html` in GDB.

The report is rendered by headless Chromium (`--dump-dom`: the page after its script ran):
the task table holds exactly the tasks `tasks --json` lists, by name; a filter given in the
URL fragment (#filter=..., #state=..., #task=ID) shows exactly the matching rows; a target
with a cycle (targets/asyncio_basic.py: cycle-a and cycle-b await each other) gets the
deadlock banner naming both. The dot text is checked for the exact clusters (thread, name,
loop), node labels (name, state, cancellation, innermost frame) and the red cycle edges,
and `dot -Tpng` must draw it. targets/report_names.py names tasks with markup and script:
the page must show them as text, run none of it, and dot must still draw them."""
import html
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse

import pytest

import helpers
from helpers import aiodbg, aiodbg_json

KINDS = ["live", "core"]
CHROMIUM = shutil.which("chromium")
DOT = shutil.which("dot")


def need(tool, name):
    if not tool:
        pytest.fail(f"{name} is not installed (Debian: apt install {name}); make check installs it",
                    pytrace=False)


@pytest.fixture(scope="module")
def target(row):
    t = helpers.launch_or_fail(row, "asyncio_basic.py", timeout=90)
    assert not t.truth["problems"], t.truth["problems"]
    yield t
    t.kill()


@pytest.fixture(scope="module")
def names_target(row):
    t = helpers.launch_or_fail(row, "report_names.py")
    yield t
    t.kill()


@pytest.fixture(scope="module")
def names_core(names_target):
    path = helpers.make_core(names_target.pid)
    yield path
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


@pytest.fixture(scope="module")
def tmp():
    d = tempfile.mkdtemp(prefix="aiodbg-report-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def args_of(kind, target, core):
    return ["attach", target.pid] if kind == "live" else helpers.core_args(core)


def chromium(url, *extra, timeout=120):
    """Run headless Chromium on url; returns its stdout (the DOM with --dump-dom)."""
    need(CHROMIUM, "chromium")
    profile = tempfile.mkdtemp(prefix="aiodbg-chromium-")
    cmd = [CHROMIUM, "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={profile}", "--virtual-time-budget=10000"]
    if os.geteuid() == 0:
        cmd.append("--no-sandbox")
    try:
        p = subprocess.run(cmd + list(extra) + [url], capture_output=True, text=True,
                           errors="replace", timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert p.returncode == 0, f"chromium failed ({p.returncode}): {p.stderr[-2000:]}"
    return p.stdout


def dom(path, fragment=""):
    url = "file://" + urllib.parse.quote(path) + (("#" + fragment) if fragment else "")
    d = chromium(url, "--dump-dom")
    assert 'data-ready="1"' in d, f"the page's script did not finish: {d[-3000:]}"
    return d


def cells(d, cls):
    """The texts of the task table's cells of class cls, in order."""
    body = re.search(r'<tbody id="task-rows">(.*?)</tbody>', d, re.S).group(1)
    return [html.unescape(m) for m in re.findall(rf'<td class="{cls}[^"]*">(.*?)</td>', body, re.S)]


def report(args, path, env=None):
    r = aiodbg(*args, "-c", f"report --html {path}", env=env, timeout=180)
    assert r.rc == 0, f"report: rc {r.rc}: {r.err}"
    return r


@pytest.fixture(scope="module")
def reports(target, core, tmp):
    """One report per kind, with the tasks --json of the same kind to compare with."""
    out = {}
    for kind in KINDS:
        args = args_of(kind, target, core)
        path = os.path.join(tmp, f"basic-{kind}.html")
        r = report(args, path)
        out[kind] = (path, r.out, aiodbg_json(*args, "-c", "tasks --json"))
    return out


def program_frame(stack):
    """Where a task is, as tables show it: the innermost frame that is not asyncio's own
    (lib/python3.X/asyncio/*.py), or the innermost when all are."""
    for f in stack:
        d = os.path.dirname(f["file"] or "")
        if not (os.path.basename(d) == "asyncio"
                and os.path.basename(os.path.dirname(d)).startswith("python3.")):
            return f
    return stack[0]


@pytest.mark.parametrize("kind", KINDS)
def test_report_lists_every_task(target, reports, kind):
    path, said, doc = reports[kind]
    names = sorted(t["name"] for t in doc["tasks"])
    assert said.startswith(f"report written to {path}: {len(names)} tasks, "), said
    d = dom(path, "size=1000")
    assert sorted(cells(d, "name")) == names
    # Ids, states and where each one is, row by row.
    by_id = {t["id"]: t for t in doc["tasks"]}
    for tid, name, where in zip(cells(d, "id"), cells(d, "name"), cells(d, "where")):
        t = by_id[tid]
        assert t["name"] == name
        if t["stack"]:
            f = program_frame(t["stack"])
            assert where == f"{f['function']} {os.path.basename(f['file'])}:{f['line']}"
    # 3.14+ lists pending tasks only (see test_tasks.py): the finished ones may be missing.
    old = int(target.truth["version"].split(".")[1]) < 14
    named = {t["name"] for t in target.truth["tasks"]
             if not t["default_name"] and (old or t["state"] == "pending")}
    assert named and named <= set(names)
    # Summary, threads, tree, graph and the command that made it.
    tg = doc["target"]
    assert f"Python {tg['python']['version']}" in d
    assert "loop-thread" in d and "MainThread" in d
    assert "(T) cycle-a " in d and "(T) cycle-b " in d
    assert '<svg' in d and 'class="node"' in d, "no graph drawn"
    cmd = html.unescape(re.search(r'<pre id="command-line">(.*?)</pre>', d, re.S).group(1))
    assert cmd.endswith(f"-c 'report --html {path}'"), cmd
    assert cmd.startswith(f"aiodbg attach {target.pid} " if kind == "live" else "aiodbg core ")
    # Self-contained: nothing is fetched.
    with open(path) as f:
        text = f.read()
    assert not re.search(r'<(link|img|iframe|object|embed)\b|\bsrc=|url\(|@import', text)
    assert len(re.findall(r"<script\b", text)) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_report_deadlock_banner(reports, kind):
    path, _, doc = reports[kind]
    d = dom(path)
    m = re.search(r'<div class="deadlock" id="deadlock">(.*?)</div>\s*</div>|'
                  r'<div class="deadlock" id="deadlock">(.*)', d, re.S)
    assert m, "no deadlock banner"
    banner = html.unescape(re.sub(r"<[^>]+>", "", m.group(0)))
    assert "Deadlock: 1 cycle of tasks waiting on each other" in banner
    ids = {t["name"]: t["id"] for t in doc["tasks"]}
    assert f"cycle-a {ids['cycle-a']}" in banner and f"cycle-b {ids['cycle-b']}" in banner
    # The banner comes first, before the summary.
    assert d.index('id="deadlock"') < d.index('id="summary"')


def test_report_filters(reports):
    # The page's script is the same for a live and a core report of the same program
    # (test_report_lists_every_task compares both kinds' tables); its views, each a
    # Chromium run, are checked on the core's.
    path, _, doc = reports["core"]
    n = len(doc["tasks"])
    d = dom(path, "filter=cycle-")
    assert sorted(cells(d, "name")) == ["cycle-a", "cycle-b"]
    assert f"rows 1\u20132 of 2 matching ({n} tasks)" in html.unescape(d)
    d = dom(path, "state=cycle")
    assert sorted(cells(d, "name")) == ["cycle-a", "cycle-b"]
    cancelling = sorted(t["name"] for t in doc["tasks"] if t["cancelling"] and t["state"] == "pending")
    assert cancelling, "the target has tasks being cancelled"
    d = dom(path, "state=cancelling&size=1000")
    assert sorted(cells(d, "name")) == cancelling
    # A filter on a file name finds the tasks suspended in it.
    d = dom(path, "filter=queues.py&size=1000")
    want = sorted(t["name"] for t in doc["tasks"]
                  if any(f["file"].endswith("/queues.py") for f in t["stack"]))
    assert want and sorted(cells(d, "name")) == want
    # Sorted by a column, both ways (ties keep the table's order).
    names = [t["name"] for t in doc["tasks"]]
    assert cells(dom(path, "sort=name&size=1000"), "name") == sorted(names)
    assert cells(dom(path, "sort=name&desc=1&size=1000"), "name") == sorted(names, reverse=True)
    # Pages: the second page of 5 rows is the table's rows 6 to 10.
    assert cells(dom(path, "size=5&page=2"), "id") == [t["id"] for t in doc["tasks"]][5:10]
    # One task in full, from the URL: its whole stack, outermost first.
    t = next(t for t in doc["tasks"] if t["name"] == "cycle-a")
    d = html.unescape(dom(path, "task=" + t["id"]))
    assert f"<h3>Task cycle-a {t['id']}</h3>" in d
    stack = "".join(f"{f['function']} ({f['file']}:{f['line']})\n" for f in reversed(t["stack"]))
    assert stack in d


def dot_text(args):
    r = aiodbg(*args, "-c", "tree --dot")
    assert r.rc == 0, r.err
    return r.out


def dot_png(text, tmp, name):
    need(DOT, "graphviz")
    png = os.path.join(tmp, name)
    p = subprocess.run([DOT, "-Tpng", "-o", png], input=text, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, f"dot failed: {p.stderr[-2000:]}"
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    return png


def esc(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')


@pytest.mark.parametrize("kind", KINDS)
def test_dot(target, core, tmp, kind):
    args = args_of(kind, target, core)
    text = dot_text(args)
    dot_png(text, tmp, f"basic-{kind}.png")
    doc = aiodbg_json(*args, "-c", "tasks --json")
    threads = {t["tid"]: t["name"] for t in aiodbg_json(*args, "-c", "threads --json")["threads"]}
    # A cluster per loop, labelled with its thread.
    for lp in doc["loops"]:
        if lp["thread"]:
            assert (f'label="thread {lp["thread"]} \\"{esc(threads[lp["thread"]])}\\", '
                    f'loop {lp["type"]} {lp["id"]}') in text
    assert '\\"loop-thread\\"' in text
    # Each task: its own node with name, state, cancellation and innermost frame, or a
    # member of a group "×N coro (...)" of identical siblings.
    grouped = {}
    for t in doc["tasks"]:
        state = "running" if t["running"] else t["state"]
        m = re.search(rf'^    "{t["id"]}" \[label="([^\n]*?)", fillcolor', text, re.M)
        if not m:
            grouped.setdefault(t["coro"], []).append(t)
            continue
        label = m.group(1).split("\\n")
        assert label[0] == esc(t["name"])
        assert label[1].startswith(state)
        if t["cancelling"] and t["state"] == "pending":
            assert f"cancelling({t['cancel']['count']})" in label[1]
        if t["stack"]:
            f = program_frame(t["stack"])
            assert label[2] == f"at {esc(f['function'])} {os.path.basename(f['file'])}:{f['line']}"
    groups = re.findall(r'\[label="×(\d+) ([^ "]+) ', text)
    for coro, members in grouped.items():
        assert len(members) >= 3, f"{[t['name'] for t in members]} neither drawn nor collapsed"
    assert sorted((int(n), c) for n, c in groups) == sorted((len(m), c) for c, m in grouped.items()) \
        or sum(int(n) for n, _ in groups) == sum(len(m) for m in grouped.values())
    # The cycle: red edges both ways, and the caption.
    ids = {t["name"]: t["id"] for t in doc["tasks"]}
    for a, b in (("cycle-a", "cycle-b"), ("cycle-b", "cycle-a")):
        assert re.search(rf'"{ids[a]}" -> "{ids[b]}" \[color="#d00000"[^\]]*label="deadlock"', text)
    assert "DEADLOCK: 1 cycle of tasks waiting on each other" in text


HOSTILE = [
    "</script><script>document.body.dataset.pwned='script'</script>",
    "<img src=x onerror=\"document.body.dataset.pwned='img'\">",
    "quote \" back\\slash \\n \\l dot-escapes & <b>bold</b>",
    "line\nbreak\ttab\x01ctl",
    "ünïcødé ✓ \u2028 sep",
]


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_names(names_target, names_core, tmp, kind):
    args = args_of(kind, names_target, names_core)
    path = os.path.join(tmp, f"names-{kind}.html")
    r = report(args, path)
    assert "graph drawn by Graphviz dot" in r.out, r.out
    d = dom(path, "size=1000")
    assert "pwned" not in re.search(r"<body[^>]*>", d).group(0), "the target's names ran as script"
    assert "<img src" not in d
    names = sorted(names_target.truth["names"].values())
    assert sorted(cells(d, "name")) == names
    for h in HOSTILE:
        assert h in cells(d, "name")
    banner = re.search(r'<div class="deadlock" id="deadlock">(.*?)None of these', d, re.S).group(1)
    assert 'cycle &lt;a&gt; &amp; "b"' in banner and "cycle &lt;b&gt;&lt;/script&gt;" in banner
    # dot draws them; the dot text keeps them (quotes and backslashes escaped, control
    # characters as '?').
    text = dot_text(args)
    dot_png(text, tmp, f"names-{kind}.png")
    for h in HOSTILE[:3]:
        assert f'[label="{esc(h)}\\n' in text
    assert '[label="line?break?tab?ctl\\n' in text
    assert '[label="ünïcødé ✓ ? sep\\n' in text
    # where they are: the program's line that called asyncio.sleep
    line = names_target.truth["worker_line"]
    assert f'[label="×5 worker (sleep)\\npending\\nat worker report_names.py:{line}' in text
    for w in names_target.truth["workers"]:
        assert f'"{w}" [' not in text


def test_report_without_graphviz(names_target, tmp):
    path = os.path.join(tmp, "nodot.html")
    r = report(["attach", names_target.pid], path, env={"AIODBG_DOT": "/nonexistent/dot"})
    assert "graph not drawn: Graphviz's dot is not installed" in r.out
    d = dom(path)
    note = html.unescape(re.search(r'<p class="note" id="graph-note">(.*?)</p>', d, re.S).group(1))
    assert note.startswith("The graph is not drawn: Graphviz's dot is not installed")
    assert "<svg" not in d
    assert "digraph asyncio {" in html.unescape(d)


def test_report_errors(names_target, tmp):
    r = aiodbg("attach", names_target.pid, "-c", "report out.html")
    helpers.assert_one_line_error(r, rc=2)
    assert "which format? (--html)" in r.err
    r = aiodbg("attach", names_target.pid, "-c", "report --html")
    helpers.assert_one_line_error(r, rc=2)
    r = aiodbg("attach", names_target.pid, "-c", f"report --html {tmp}/no/such/dir/r.html")
    helpers.assert_one_line_error(r, rc=1)
    assert f"cannot write {tmp}/no/such/dir/r.html" in r.err


def test_report_to_stdout(names_target):
    r = aiodbg("attach", names_target.pid, "-c", "report --html -")
    assert r.rc == 0, r.err
    assert r.out.startswith("<!DOCTYPE html>") and r.out.rstrip().endswith("</html>")


@pytest.mark.parametrize("kind", KINDS)
def test_gdb_report(names_target, names_core, tmp, kind):
    """`aio report --html` in the host's GDB writes the same page (the same tasks)."""
    import test_gdb
    g = next((g for g in test_gdb.GDBS if g.host), None)
    if g is None:
        pytest.fail("gdb is not installed", pytrace=False)
    if not os.path.exists(g.so):
        pytest.fail(f"{g.so} is missing: run `make gdbext`", pytrace=False)
    row = names_target.row
    path = os.path.join(tmp, f"gdb-{kind}.html")
    if kind == "live":
        gargs = ["-p", str(names_target.pid)]
    else:
        root = helpers.CORE_ROOTS.get(names_core, "/")
        gargs = (["-iex", f"set sysroot {root}"] if root != "/" else []) + \
            [test_gdb.executable(row), "-c", names_core]
    outs, out, err = test_gdb.run_gdb(g, gargs, [f"aio report --html {path}"])
    assert outs[0] and outs[0].startswith(f"report written to {path}: "), (out[-2000:], err[-2000:])
    d = dom(path, "size=1000")
    assert sorted(cells(d, "name")) == sorted(names_target.truth["names"].values())
    cmd = html.unescape(re.search(r'<pre id="command-line">(.*?)</pre>', d, re.S).group(1))
    assert cmd.startswith(f"(gdb) aio report --html {path}"), cmd


def test_pictures_script(tmp):
    """examples/pictures.sh (make pictures) draws the README's two pictures from the demo."""
    need(DOT, "graphviz")
    need(CHROMIUM, "chromium")
    out = os.path.join(tmp, "pictures")
    p = subprocess.run(["sh", os.path.join(helpers.TOP, "examples", "pictures.sh"), out],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, AIODBG=helpers.AIODBG))
    assert p.returncode == 0, p.stderr
    for name in ("demo-graph.png", "demo-report.png"):
        with open(os.path.join(out, name), "rb") as f:
            head = f.read(24)
        assert head[:8] == b"\x89PNG\r\n\x1a\n", name
        width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        assert width >= 400 and height >= 300, (name, width, height)


@pytest.fixture(scope="module")
def trio_target(row):
    import test_trio
    if not test_trio.has_trio(row):
        pytest.skip(f"{row.name}: this interpreter cannot import trio (no Trio installed for it)")
    t = helpers.launch_or_fail(row, "trio_basic.py", timeout=90)
    assert not t.truth["problems"], t.truth["problems"]
    yield t
    t.kill()


@pytest.fixture(scope="module")
def trio_core(trio_target):
    path = helpers.make_core(trio_target.pid)
    yield path
    shutil.rmtree(os.path.dirname(path), ignore_errors=True)


@pytest.mark.parametrize("kind", KINDS)
def test_trio_lock_deadlock(trio_target, trio_core, tmp, kind):
    """targets/trio_basic.py: lock-a-b and lock-b-a each hold the lock the other waits for.
    The graph links them with dashed red "waits for" edges and says who holds the lock;
    nodes show where the tasks wait (not Trio's trap); the report's banner names both."""
    args = args_of(kind, trio_target, trio_core)
    text = dot_text(args)
    dot_png(text, tmp, f"trio-{kind}.png")
    doc = aiodbg_json(*args, "-c", "tasks --json")
    ids = {t["name"]: t["id"] for t in doc["tasks"]}
    line = trio_target.truth["lines"]["LOCKER"]
    for a, b in (("lock-a-b", "lock-b-a"), ("lock-b-a", "lock-a-b")):
        assert re.search(rf'^  "{ids[a]}" -> "{ids[b]}" \[color="#d00000", penwidth=2.5, '
                         r'style=dashed, label="waits for"', text, re.M), (a, b)
        assert re.search(rf'^    "{ids[a]}" \[label="{a}\\npending\\nat locker trio_basic.py:{line}'
                         rf'\\nawaits Lock.acquire held by {b}", fillcolor="#d6e6fb", '
                         r'color="#d00000", penwidth=2.5\];$', text, re.M), a
    path = os.path.join(tmp, f"trio-{kind}.html")
    report(args, path)
    d = dom(path, "filter=lock-")
    banner = html.unescape(re.search(r'<div class="deadlock" id="deadlock">(.*?)None of these', d,
                                     re.S).group(1))
    assert f"lock-a-b {ids['lock-a-b']}" in banner and f"lock-b-a {ids['lock-b-a']}" in banner
    assert sorted(cells(d, "name")) == ["lock-a-b", "lock-b-a"]
    assert cells(d, "where") == [f"locker trio_basic.py:{line}"] * 2
    assert cells(d, "await") == ["Lock.acquire held by lock-b-a", "Lock.acquire held by lock-a-b"] or \
        cells(d, "await") == ["Lock.acquire held by lock-a-b", "Lock.acquire held by lock-b-a"]
