# SPDX-License-Identifier: MIT
"""Task names an attacker chose, for `report --html` and `tree --dot` (issue 19).

Tasks named with markup, script, quotes, backslashes, dot escapes and control characters;
two of them await each other (a cycle: the report's deadlock banner shows their names);
"gatherer" gathers five identical workers (one collapsed node "×5 worker (sleep)" in the
graph).

Truth: common facts; "names": {task id: name} of every task the program made; "cycle":
the ids of the two tasks of the cycle; "workers": the ids of the gathered workers."""
import asyncio
import sys

import _aio
import _truth

HOSTILE = [
    "</script><script>document.body.dataset.pwned='script'</script>",
    "<img src=x onerror=\"document.body.dataset.pwned='img'\">",
    "quote \" back\\slash \\n \\l dot-escapes & <b>bold</b>",
    "line\nbreak\ttab\x01ctl",
    "ünïcødé ✓ \u2028 sep",
]
PEERS = {}


async def worker():
    await asyncio.sleep(3600)  # WORKER


async def hostile(i):
    # Each waits on a line of its own, so that no two are identical siblings.
    if i == 0:
        await asyncio.sleep(3600)
    elif i == 1:
        await asyncio.sleep(3600)
    elif i == 2:
        await asyncio.sleep(3600)
    elif i == 3:
        await asyncio.sleep(3600)
    else:
        await asyncio.sleep(3600)


async def gatherer():
    await asyncio.gather(*(worker() for _ in range(5)))  # GATHER


async def await_peer(name):
    while name not in PEERS:
        await asyncio.sleep(0)
    await PEERS[name]  # PEER


async def main(fifo):
    names = {}
    keep = []
    for i, n in enumerate(HOSTILE):
        t = asyncio.create_task(hostile(i), name=n)
        keep.append(t)
    a = asyncio.create_task(await_peer("b"), name="cycle <a> & \"b\"")
    b = asyncio.create_task(await_peer("a"), name="cycle <b></script>")
    PEERS["a"], PEERS["b"] = a, b
    g = asyncio.create_task(gatherer(), name="gatherer")
    keep += [a, b, g]
    await asyncio.sleep(0.1)
    workers = [t for t in asyncio.all_tasks() if t.get_name().startswith("Task-") and t is not asyncio.current_task()]
    for t in asyncio.all_tasks():
        names[_aio.hexid(t)] = t.get_name()
    truth = _truth.common()
    truth["names"] = names
    truth["cycle"] = [_aio.hexid(a), _aio.hexid(b)]
    truth["workers"] = [_aio.hexid(t) for t in workers]
    truth["worker_line"] = _truth.marker_line(worker, "WORKER")
    truth["main"] = _aio.hexid(asyncio.current_task())
    truth["os_threads"] = 1
    _truth.report(fifo, truth)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
