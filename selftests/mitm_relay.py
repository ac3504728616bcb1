#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A man in the middle for one migration connection.

Usage: mitm_relay.py LISTEN_IP LISTEN_PORT TO_IP TO_PORT FLIP_AT

Accepts one connection, connects to TO, and relays both ways; the byte at
offset FLIP_AT of the client-to-server direction is inverted (0: relay
unchanged). Prints "listening", then "flipped" once it altered the byte,
and "server closed" once the server's end closed and the client was told
(its connection shut down for writing).
"""
import select
import socket
import sys


def main():
    lip, lport, tip, tport, flip_at = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((lip, lport))
    ls.listen(1)
    print("listening", flush=True)
    c, _ = ls.accept()
    s = socket.create_connection((tip, tport))
    up = 0          # client-to-server bytes relayed so far
    open_ends = {c: s, s: c}
    while open_ends:
        r, _, _ = select.select(list(open_ends), [], [], 120)
        if not r:
            break
        for src in r:
            data = src.recv(65536)
            dst = open_ends[src]
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                if src is s:
                    print("server closed", flush=True)
                del open_ends[src]
                continue
            if src is c and flip_at and up <= flip_at < up + len(data):
                data = bytearray(data)
                data[flip_at - up] ^= 0xff
                data = bytes(data)
                print("flipped", flush=True)
            if src is c:
                up += len(data)
            try:
                dst.sendall(data)
            except OSError:
                open_ends.pop(src, None)
    c.close()
    s.close()


if __name__ == "__main__":
    main()
