#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""qmp.py - the smallest QMP client a shell test needs.

  qmp.py [-t SECONDS] [-e EVENT [-m KEY=VALUE]...] SOCKET [COMMAND_JSON]...

Connects to QEMU's QMP unix SOCKET, does the capabilities handshake, sends
each COMMAND_JSON (a whole command: '{"execute": "query-status"}') in turn
and prints its "return" value as one line of JSON; stops at the first
error. With -e it then waits for event EVENT whose data matches every
-m KEY=VALUE (compared as strings; VALUE may list alternatives: a|b|c) and
prints that event's "data" as one line of JSON.

Exit status: 0 done; 1 QEMU answered with an error (its class and desc on
stderr); 2 usage, connection or timeout (-t, default 30 s, covers the
whole run). One process per call: under TCG each start of python costs
about a second, so batch the commands of one step into one call.

Events are only seen while connected: an event QEMU emits before this
client connects is lost, so send the command that causes it in the same
call (e.g. -e MIGRATION -m status=completed with the migrate command).
QEMU serves one QMP client per monitor at a time; a second client waits
until the first disconnects.
"""
import json
import socket
import sys
import time


def die(msg, rc=2):
    print("qmp.py: " + msg, file=sys.stderr)
    sys.exit(rc)


class Qmp:
    def __init__(self, path, deadline):
        self.deadline = deadline
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.buf = b""
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError) as e:
                if time.monotonic() > deadline:
                    die("cannot connect to %s: %s" % (path, e))
                time.sleep(0.1)
        self.events = []
        greeting = self.recv()
        if "QMP" not in greeting:
            die("no QMP greeting: %r" % greeting)
        self.call({"execute": "qmp_capabilities"})

    def recv(self):
        while b"\n" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                die("timed out")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                die("timed out")
            if not chunk:
                die("QEMU closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, cmd):
        """Send one command; return its reply, keeping events for later."""
        self.sock.sendall(json.dumps(cmd).encode() + b"\n")
        while True:
            msg = self.recv()
            if "event" in msg:
                self.events.append(msg)
                continue
            return msg

    def wait_event(self, name, match):
        def matches(ev):
            data = ev.get("data", {})
            return ev["event"] == name and all(
                str(data.get(k)) in v.split("|") for k, v in match.items())
        while True:
            for ev in self.events:
                if matches(ev):
                    return ev
            self.events = []
            msg = self.recv()
            if "event" in msg:
                self.events.append(msg)


def main(argv):
    timeout, event, match, pos = 30.0, None, {}, []
    it = iter(argv)
    for a in it:
        if a == "-t":
            timeout = float(next(it, "x"))
        elif a == "-e":
            event = next(it, None)
        elif a == "-m":
            k, _, v = next(it, "").partition("=")
            match[k] = v
        elif a.startswith("-") and a != "-":
            die("unknown option " + a)
        else:
            pos.append(a)
    if not pos or (len(pos) == 1 and not event):
        die("usage: qmp.py [-t S] [-e EVENT [-m K=V]...] SOCKET [COMMAND_JSON]...")
    try:
        cmds = [json.loads(c) for c in pos[1:]]
    except ValueError as e:
        die("bad command JSON: %s" % e)
    q = Qmp(pos[0], time.monotonic() + timeout)
    for cmd in cmds:
        reply = q.call(cmd)
        if "error" in reply:
            err = reply["error"]
            die("%s: %s" % (err.get("class"), err.get("desc")), 1)
        print(json.dumps(reply.get("return")))
        sys.stdout.flush()
    if event:
        print(json.dumps(q.wait_event(event, match).get("data", {})))


if __name__ == "__main__":
    main(sys.argv[1:])
