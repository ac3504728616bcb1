#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A destination that accepts a migration and then stalls.

usage: stalled_dest.py HOST PORT SECONDS WHERE
Listens, prints "listening", accepts one connection, reads the source's
HELLO and accepts it with a HELLO_ACK. Then, by WHERE:
  after-hello  reads nothing more: the source's socket buffer fills and
               its worker blocks in a send, as when a destination or link
               stalls. Prints "stalled".
  at-end       reads every frame up to END and never acknowledges it, as a
               destination that dies applying the VM state. Prints
               "got END".
It holds the connection for SECONDS (or until the source closes it).
"""
import socket
import struct
import sys
import time

from wire_craft import END, HELLO, HELLO_ACK, Stream


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        more = sock.recv(min(n - len(data), 1 << 20))
        if not more:
            raise EOFError("the source closed the connection")
        data += more
    return data


def recv_frame(sock):
    # Header: magic, version, type, length, seq, csum (wire-format.rst).
    _, _, ftype, length, _, _ = struct.unpack("<IHHIII", recv_exact(sock, 20))
    recv_exact(sock, length)
    return ftype


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    seconds, where = float(sys.argv[3]), sys.argv[4]
    lsock = socket.create_server((host, port))
    print("listening", flush=True)
    conn, _ = lsock.accept()
    ftype = recv_frame(conn)
    if ftype != HELLO:
        print("first frame is type", ftype, flush=True)
        return 1
    Stream(conn).frame(HELLO_ACK, struct.pack("<I", 0))
    if where == "after-hello":
        print("stalled", flush=True)
    elif where == "at-end":
        while recv_frame(conn) != END:
            pass
        print("got END", flush=True)
    else:
        print("unknown WHERE", where, flush=True)
        return 2
    time.sleep(seconds)
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
