# SPDX-License-Identifier: MIT
# A hostile process of the target's user (test_live_safety.py): run as that user in the
# target's root, it watches /tmp for aiodbg channel directories and tries to take them over
# (replace the socket, rename or write into the directory) and to talk to the debugger
# with the agent's token. `python impostor.py STOPFILE`: runs until STOPFILE exists, then
# prints one JSON line of counters. Nothing of this may succeed but reading the token.
import json
import os
import re
import socket
import sys
import time

stop = sys.argv[1]
NAME = re.compile(r"^aiodbg-[A-Za-z0-9]{6}$")
c = {"seen": 0, "replaced": 0, "read_token": 0, "connected": 0, "answered": 0, "errors": []}
done = set()  # directories whose token was read: attacked no more
tried = set()  # directories attacked at least once


def attempt(what, fn):
    try:
        fn()
    except OSError:
        return False
    c["replaced"] += 1
    c["errors"].append(what)
    return True


def attack(d):
    p = os.path.join("/tmp", d)
    token = None
    try:
        with open(os.path.join(p, "a.py")) as f:
            m = re.search(r'"token": *"([0-9a-f]+)"', f.readline())
        token = m and m.group(1)
        c["read_token"] += 1
    except OSError:
        pass
    attempt("unlink s", lambda: os.unlink(os.path.join(p, "s")))
    attempt("create s2", lambda: os.mkdir(os.path.join(p, "s2")))
    attempt("rename dir", lambda: os.rename(p, p + "-x"))
    attempt("rename s", lambda: os.rename(os.path.join(p, "s"), os.path.join(p, "t")))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(os.path.join(p, "s"))
        c["connected"] += 1
        s.sendall(json.dumps({"hello": token or "", "pid": os.getpid(), "agent": 1}).encode()
                  + b"\n")
        data = s.recv(65536)
        if data.strip():
            c["answered"] += 1
            c["errors"].append("debugger said %r" % data[:200])
    except OSError:
        pass
    finally:
        s.close()


while not os.path.exists(stop):
    try:
        names = [n for n in os.listdir("/tmp") if NAME.match(n) and n not in done]
    except OSError:
        names = []
    for n in names:
        # The directory exists a moment before the debugger writes the agent's source
        # (and its token) into it: attack again until the token was read.
        if n not in tried:
            tried.add(n)
            c["seen"] += 1
        before = c["read_token"]
        attack(n)
        if c["read_token"] > before:
            done.add(n)
    time.sleep(0.002)
print(json.dumps(c), flush=True)
