# SPDX-License-Identifier: MIT
"""An aiohttp server with its own client on the same loop (tests/integration/test_services.py).

Started as `python aiohttp_service.py FIFO LOOP` (LOOP uvloop|asyncio: the loop asyncio.Runner
makes). The server (web.AppRunner on a socket of ours) has two handlers with path
parameters; two client tasks (named client-order, client-feed) of one aiohttp.ClientSession
request them, and both stay in their handlers:

  GET /orders/{order_id}        get_order sleeps
  GET /users/{user}/feed        get_feed waits on an asyncio.Event through wait_feed

The truth, written once both handlers run: per handler its task, coroutine stack, the
handler's frame and path parameter; per client task its name and stack; the loop. A
cancelled handler logs `CANCELLED <key> <args>`; a client logs `RESPONSE <path> <status>`
or `CLIENT-ERROR <path> <exception type>`.
"""
import asyncio
import socket
import sys

import aiohttp
from aiohttp import web

import _aio
import _truth

LOOP = sys.argv[2]
ENTERED = {}  # key -> (task, handler code, path parameters)
BOTH = None  # asyncio.Event: both handlers entered
FEED = None  # asyncio.Event nobody sets


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def note(key, code, **params):
    ENTERED[key] = (asyncio.current_task(), code, params)
    if len(ENTERED) == 2:
        BOTH.set()


async def get_order(request):
    order_id = request.match_info["order_id"]
    note("order", get_order.__code__, order_id=order_id)
    try:
        await asyncio.sleep(3600)  # ORDER
    except asyncio.CancelledError as e:
        log("CANCELLED order", e.args)
        raise
    return web.json_response({"order": order_id})


async def wait_feed(user):
    await FEED.wait()  # WAIT-FEED
    return [user]


async def get_feed(request):
    user = request.match_info["user"]
    note("feed", get_feed.__code__, user=user)
    try:
        items = await wait_feed(user)  # FEED
    except asyncio.CancelledError as e:
        log("CANCELLED feed", e.args)
        raise
    return web.json_response(items)


LINES = {"order": _truth.marker_line(get_order, "ORDER"),
         "feed": _truth.marker_line(get_feed, "FEED")}


async def client(session, port, path):
    try:
        async with session.get(f"http://127.0.0.1:{port}{path}") as resp:
            await resp.read()
            log("RESPONSE", path, resp.status)
    except Exception as e:
        log("CLIENT-ERROR", path, type(e).__name__)


async def main():
    global BOTH, FEED
    BOTH, FEED = asyncio.Event(), asyncio.Event()
    app = web.Application()
    app.router.add_get("/orders/{order_id}", get_order)
    app.router.add_get("/users/{user}/feed", get_feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    port = sock.getsockname()[1]
    session = aiohttp.ClientSession()
    clients = {
        "order": _aio.spawn(client(session, port, "/orders/7"), "client-order"),
        "feed": _aio.spawn(client(session, port, "/users/bob/feed"), "client-feed"),
    }
    await BOTH.wait()
    await asyncio.sleep(0.05)  # the clients reach their reads
    loop = asyncio.get_running_loop()
    truth = dict(_truth.common())
    truth["loop"] = {"id": _aio.hexid(loop), "thread": _aio.current_native_id(),
                     "type": "%s.%s" % (type(loop).__module__, type(loop).__qualname__)}
    truth["handlers"] = {}
    for key, (task, code, params) in ENTERED.items():
        stack, _ = _aio.await_chain(task.get_coro())
        index = [i for i, f in enumerate(stack) if f["function"] == code.co_qualname]
        truth["handlers"][key] = {
            "task": _aio.hexid(task), "params": params, "stack": stack,
            "endpoint_index": index[0] if len(index) == 1 else None,
            "endpoint": {"function": code.co_qualname, "file": code.co_filename,
                         "line": LINES[key]},
        }
    truth["clients"] = {}
    for key, task in clients.items():
        stack, _ = _aio.await_chain(task.get_coro())
        truth["clients"][key] = {"task": _aio.hexid(task), "name": task.get_name(),
                                 "stack": stack}
    truth.update(loop_kind=LOOP, aiohttp=aiohttp.__version__,
                 os_threads=_truth.os_thread_count())
    _truth.report(sys.argv[1], truth)
    await asyncio.Event().wait()


def loop_factory():
    if LOOP == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


with asyncio.Runner(loop_factory=loop_factory) as runner:
    runner.run(main())
