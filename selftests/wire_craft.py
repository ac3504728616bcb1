#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send one kind of malformed vmig stream to a destination (vmigctl receive).

usage: wire_craft.py HOST PORT KIND RAM VCPUS
A valid HELLO for a one-slot VM of RAM bytes at GPA 0 comes first (except
for short-hello), then the malformed frame. The destination must refuse it
before writing any guest memory. Layout: Documentation/wire-format.rst.
"""
import socket
import struct
import sys
import zlib

MAGIC, VERSION = 0x564D4947, 1
HELLO, HELLO_ACK, PAGES, ZERO, STATE, END, ACK = range(1, 8)
PAGE = 4096


class Stream:
    def __init__(self, sock):
        self.sock, self.seq = sock, 0

    def frame(self, ftype, payload=b"", magic=MAGIC, length=None, csum_xor=0, seq=None):
        length = len(payload) if length is None else length
        seq = self.seq if seq is None else seq
        head = struct.pack("<IHHII", magic, VERSION, ftype, length, seq)
        # crc32_le(~0, head) in the kernel is zlib's crc32 without the final inversion.
        csum = (zlib.crc32(head) ^ 0xFFFFFFFF ^ csum_xor) & 0xFFFFFFFF
        self.seq += 1
        try:
            self.sock.sendall(head + struct.pack("<I", csum) + payload)
        except OSError:
            pass


def main():
    host, port, kind, ram, vcpus = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    ram = int(ram[:-1]) << 20 if ram.endswith("M") else int(ram)
    npages = ram // PAGE
    s = Stream(socket.create_connection((host, port)))
    if kind == "short-hello":
        s.frame(HELLO, b"\0" * 8)
    else:
        s.frame(HELLO, struct.pack("<IIII", PAGE, vcpus, 1, 0) + struct.pack("<IIQQ", 0, 0, 0, npages))
        ack = s.sock.recv(24)
        if len(ack) != 24 or struct.unpack("<I", ack[20:24])[0] != 0:
            print("hello refused", ack.hex())
            return 1
    run = lambda slot, count, off: struct.pack("<IIQ", slot, count, off)
    if kind == "bad-magic":
        s.frame(ZERO, run(0, 1, 0), magic=0x12345678)
    elif kind == "bad-csum":
        s.frame(ZERO, run(0, 1, 0), csum_xor=1)
    elif kind == "bad-seq":
        s.frame(ZERO, run(0, 1, 0), seq=7)
    elif kind == "out-of-range-run":
        s.frame(PAGES, run(0, 2, npages - 1) + b"\xAA" * (2 * PAGE))
    elif kind == "unknown-slot":
        s.frame(PAGES, run(7, 1, 0) + b"\xAA" * PAGE)
    elif kind == "truncated-run":
        s.frame(PAGES, run(0, 2, 0) + b"\xAA" * PAGE)
    elif kind == "huge-state":
        s.frame(STATE, struct.pack("<HHI", 6, 0, 1 << 20), length=8 + (1 << 20))
    elif kind == "unknown-state-kind":
        s.frame(STATE, struct.pack("<HHI", 99, 0, 16) + b"\0" * 16)
    elif kind == "short-hello":
        pass
    else:
        print("unknown kind", kind)
        return 2
    s.sock.settimeout(10)
    try:
        s.sock.recv(1)
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
