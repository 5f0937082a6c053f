# SPDX-License-Identifier: MIT
"""A FastAPI service as it is deployed: uvicorn with uvloop and httptools. One endpoint
waits for an upstream that never answers, so its requests hang.

Needs Debian's python3-fastapi, python3-uvicorn, python3-uvloop, python3-httptools
(bookworm: for /usr/bin/python3.11). Run it, send a request, point aiodbg at it:

  python3.11 examples/fastapi_service.py &
  curl -s http://127.0.0.1:8000/users/alice/orders/7 &
  aiodbg attach PID -c tasks
"""
import asyncio
import sys

import fastapi
import uvicorn

app = fastapi.FastAPI()
upstream = None  # the future the upstream would complete


async def fetch_order(user, order_id):
    global upstream
    upstream = asyncio.get_running_loop().create_future()
    return await upstream  # nobody ever completes it


@app.get("/users/{user}/orders/{order_id}")
async def read_order(user: str, order_id: int):
    order = await fetch_order(user, order_id)
    return {"user": user, "order": order}


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools")
