# SPDX-License-Identifier: MIT
"""A target that keeps running: the main thread increments a counter and writes it to a
file every ~2 ms; two more threads do the same into their own slots. Used to check that
a debugger killed or interrupted mid-snapshot never leaves the process stopped.

Truth: common facts, counter_file (path as the target sees it; 3 slots of 20 digits),
os_threads 3. Never quiescent (the test must not wait for it to sleep)."""
import os
import sys
import threading
import time

import _truth


def spin(fd, slot):
    n = 0
    while True:
        n += 1
        os.pwrite(fd, b"%020d" % n, 20 * slot)
        time.sleep(0.002)


def main(fifo):
    path = os.path.join(os.path.dirname(fifo), f"counter-{os.getpid()}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.pwrite(fd, b"0" * 60, 0)
    for slot in (1, 2):
        threading.Thread(target=spin, args=(fd, slot), name=f"spin-{slot}", daemon=True).start()
    truth = _truth.common()
    truth["counter_file"] = path
    truth["slots"] = 3
    truth["os_threads"] = 3
    truth["thread_count"] = 3
    _truth.report(fifo, truth)
    spin(fd, 0)


main(sys.argv[1])
