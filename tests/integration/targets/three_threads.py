# SPDX-License-Identifier: MIT
"""The main thread plus three threads, each blocked on a lock it can never take.

Truth: common facts, thread_count (Python threads == OS threads == 4), threads with their
stacks (innermost first). Then the main thread sleeps forever in _truth.block_forever."""
import sys
import threading

import _truth

LOCK = threading.Lock()
LOCK.acquire()


def waiter():
    _truth.register_thread()
    LOCK.acquire()  # WAIT


WAIT_LINE = _truth.marker_line(waiter, "WAIT")


def main(fifo):
    _truth.register_thread()
    threads = [threading.Thread(target=waiter, name=f"waiter-{i}", daemon=True) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        while t.native_id is None:
            pass
    _truth.wait_blocked({t.native_id: _truth.is_at(waiter, WAIT_LINE) for t in threads})
    truth = _truth.common()
    main_t = threading.main_thread()
    truth["thread_count"] = threading.active_count()
    truth["os_threads"] = 4
    truth["threads"] = [_truth.thread_facts(main_t)] + [
        _truth.thread_facts(t, _truth.thread_frames(t.native_id)) for t in threads
    ]
    _truth.report(fifo, truth)
    _truth.block_forever()


main(sys.argv[1])
