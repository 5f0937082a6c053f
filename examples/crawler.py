# SPDX-License-Identifier: MIT
"""A small asyncio crawler that hangs: no task awaits another directly.

`crawl` starts one fetch per host and waits for them with asyncio.wait(); `fastest` races
two mirrors with as_completed(); every fetch waits for a network that never comes up.
Before Python 3.14, nothing in the tasks says who waits for whom; aiodbg finds it in what
finishing each fetch would do. Run it, then: aiodbg attach PID -c tree
"""
import asyncio
import os
import sys


async def fetch(host, network_up):
    await network_up.wait()  # never set
    return host


async def crawl(hosts, network_up):
    fetches = [asyncio.create_task(fetch(h, network_up), name=f"fetch {h}") for h in hosts]
    done, pending = await asyncio.wait(fetches)
    return [t.result() for t in done]


async def fastest(mirrors, network_up):
    races = [asyncio.create_task(fetch(m, network_up), name=f"mirror {m}") for m in mirrors]
    for first in asyncio.as_completed(races):
        return await first


async def main(ready_path):
    network_up = asyncio.Event()
    crawler = asyncio.create_task(crawl(["a.example", "b.example"], network_up), name="crawl")
    racer = asyncio.create_task(fastest(["m1.example", "m2.example"], network_up),
                                name="fastest")
    await asyncio.sleep(0.2)
    if ready_path:
        with open(ready_path, "w") as f:
            f.write(f"{os.getpid()}\n")
    await asyncio.gather(crawler, racer)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
