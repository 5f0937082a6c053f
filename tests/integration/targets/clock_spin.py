# SPDX-License-Identifier: MIT
"""A thread that does nothing but read the clock: time.monotonic() runs in the vDSO (no
system call), where a snapshot often stops it. The native stack must unwind through the
vDSO (its image and unwind table come from memory: it is no file) to the Python frames.

Truth: common facts, spinner {tid, frames: the spinner's Python frames at the marked
line, innermost first}, os_threads 2. Never quiescent: the spinner always runs."""
import sys
import threading
import time

import _truth


def spin():
    clock = time.monotonic
    while True:
        clock()  # CLOCK


def main(fifo):
    started = threading.Event()
    ident = {}

    def body():
        ident["tid"] = _truth.register_thread()
        started.set()
        spin()

    t = threading.Thread(target=body, name="clock-spin", daemon=True)
    t.start()
    started.wait()
    truth = _truth.common()
    frames = _truth.thread_frames(ident["tid"])
    line = _truth.marker_line(spin, "CLOCK")
    # The spinner's frames at the clock call: spin at the marker, then whatever called it.
    while frames[0]["function"] != "spin":
        frames.pop(0)
    frames[0]["line"] = line
    truth["spinner"] = {"tid": ident["tid"], "frames": frames}
    truth["os_threads"] = 2
    truth["thread_count"] = 2
    _truth.report(fifo, truth)
    while True:
        time.sleep(3600)


main(sys.argv[1])
