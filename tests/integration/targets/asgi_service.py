# SPDX-License-Identifier: MIT
"""An ASGI service as it is deployed (tests/integration/test_services.py): FastAPI under
uvicorn with loop="uvloop" and http="httptools", three requests stuck in endpoints.

Started as `python asgi_service.py FIFO APP LOOP HTTP`: APP fastapi|starlette, LOOP
uvloop|asyncio, HTTP httptools|h11 (the test picks what the row's interpreter has: Debian
and sid package the compiled ones for one Python each). The server runs on the main thread
(uvicorn.Server.run, as `uvicorn app:app` does) on a socket of ours; a client thread per
request sends it with http.client and logs the answer. The endpoints (path parameters):

  GET /items/{item_id}?q=...                 read_item waits on an asyncio.Event
  GET /users/{user}/orders/{order_id}        read_order awaits fetch_order (asyncio.sleep)
  GET /mw/reports/{name}                     slow_report, in a sub-application behind a
                                             BaseHTTPMiddleware (its own AnyIO task)

Once all three are in their endpoints, the truth (computed on the loop) is written into
FIFO: per endpoint its task, the task's coroutine stack, the endpoint's frame and path
parameters; the loop (id, type) and its thread. A cancelled endpoint logs
`CANCELLED <key> <args>`; every answer the client gets is logged as `RESPONSE <path> <status>`.
"""
import asyncio
import http.client
import json
import socket
import sys
import threading
import time

import _aio
import _truth

APP, LOOP, HTTP = sys.argv[2:5]
PATHS = {
    "item": "/items/42?q=blue",
    "order": "/users/alice/orders/7",
    "report": "/mw/reports/weekly",
}
ENTERED = {}  # key -> (task, endpoint code, path parameters)
MW_TASKS = {}  # key -> the task that ran the middleware's dispatch
GATE = None  # asyncio.Event, made on the loop
LOOP_OBJ = None


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def note(key, code, **params):
    global GATE, LOOP_OBJ
    LOOP_OBJ = asyncio.get_running_loop()
    if GATE is None:
        GATE = asyncio.Event()
    ENTERED[key] = (asyncio.current_task(), code, params)


async def read_item(item_id: int, q: str = "none"):
    note("item", read_item.__code__, item_id=item_id, q=q)
    try:
        await GATE.wait()  # ITEM
    except asyncio.CancelledError as e:
        log("CANCELLED item", e.args)
        raise
    return {"item_id": item_id}


async def fetch_order(user, order_id):
    await asyncio.sleep(3600)  # FETCH
    return {"user": user, "order": order_id}


async def read_order(user: str, order_id: int):
    note("order", read_order.__code__, user=user, order_id=order_id)
    try:
        return await fetch_order(user, order_id)  # ORDER
    except asyncio.CancelledError as e:
        log("CANCELLED order", e.args)
        raise


async def slow_report(name: str):
    note("report", slow_report.__code__, name=name)
    try:
        await GATE.wait()  # REPORT
    except asyncio.CancelledError as e:
        log("CANCELLED report", e.args)
        raise
    return {"name": name}


async def passthrough(request, call_next):
    MW_TASKS["report"] = asyncio.current_task()
    return await call_next(request)  # DISPATCH


LINES = {
    "item": _truth.marker_line(read_item, "ITEM"),
    "order": _truth.marker_line(read_order, "ORDER"),
    "report": _truth.marker_line(slow_report, "REPORT"),
}


def make_app():
    from starlette.middleware.base import BaseHTTPMiddleware

    if APP == "fastapi":
        import fastapi

        app = fastapi.FastAPI()
        app.get("/items/{item_id}")(read_item)
        app.get("/users/{user}/orders/{order_id}")(read_order)
        sub = fastapi.FastAPI()
        sub.get("/reports/{name}")(slow_report)
        sub.add_middleware(BaseHTTPMiddleware, dispatch=passthrough)
        app.mount("/mw", sub)
        return app
    # Starlette alone (no pydantic): the same endpoints behind thin routes.
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    async def item_route(request):
        return JSONResponse(await read_item(int(request.path_params["item_id"]),
                                            request.query_params.get("q", "none")))

    async def order_route(request):
        return JSONResponse(await read_order(request.path_params["user"],
                                             int(request.path_params["order_id"])))

    async def report_route(request):
        return JSONResponse(await slow_report(request.path_params["name"]))

    sub = Starlette(routes=[Route("/reports/{name}", report_route)],
                    middleware=[Middleware(BaseHTTPMiddleware, dispatch=passthrough)])
    return Starlette(routes=[Route("/items/{item_id}", item_route),
                             Route("/users/{user}/orders/{order_id}", order_route),
                             Mount("/mw", app=sub)])


def client(port, path):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port)
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        log("RESPONSE", path, resp.status)
    except Exception as e:
        log("CLIENT-ERROR", path, type(e).__name__, e)


def facts(server_tid):
    """On the loop: the truth."""
    loop = asyncio.get_running_loop()
    out = {"endpoints": {}, "loop": {"id": _aio.hexid(loop), "thread": server_tid,
                                     "type": "%s.%s" % (type(loop).__module__,
                                                        type(loop).__qualname__)}}
    for key, (task, code, params) in ENTERED.items():
        stack, _ = _aio.await_chain(task.get_coro())
        index = [i for i, f in enumerate(stack) if f["function"] == code.co_qualname]
        out["endpoints"][key] = {
            "task": _aio.hexid(task),
            "task_name": task.get_name() if key == "report" else None,
            "path": PATHS[key],
            "params": params,
            "stack": stack,
            "endpoint_index": index[0] if len(index) == 1 else None,
            "endpoint": {"function": code.co_qualname, "file": code.co_filename,
                         "line": LINES[key]},
            "mw_task": _aio.hexid(MW_TASKS[key]) if key in MW_TASKS else None,
        }
    return out


def drive(server, sock, server_tid):
    port = sock.getsockname()[1]
    while not server.started:
        time.sleep(0.01)
    for key in PATHS:
        threading.Thread(target=client, args=(port, PATHS[key]), name="client-" + key,
                         daemon=True).start()
    deadline = time.monotonic() + 60
    while len(ENTERED) < len(PATHS):
        if time.monotonic() > deadline:
            log("TIMEOUT: endpoints entered:", sorted(ENTERED))
            return
        time.sleep(0.01)
    done = threading.Event()
    box = {}

    def compute():
        try:
            box["truth"] = facts(server_tid)
        except BaseException as e:
            box["error"] = repr(e)
        done.set()

    LOOP_OBJ.call_soon_threadsafe(compute)
    done.wait()
    if "error" in box:
        log("TRUTH-ERROR", box["error"])
        return
    truth = dict(_truth.common())
    truth.update(box["truth"])
    truth.update(app=APP, loop_kind=LOOP, http=HTTP, os_threads=_truth.os_thread_count())
    import uvicorn

    truth["uvicorn"] = uvicorn.__version__
    _truth.report(sys.argv[1], truth)
    _truth.block_forever()


def main():
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(make_app(), loop=LOOP, http=HTTP, lifespan="off",
                            log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    threading.Thread(target=drive, args=(server, sock, threading.get_native_id()),
                     name="driver", daemon=True).start()
    server.run(sockets=[sock])


main()
