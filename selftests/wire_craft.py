#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send one kind of malformed vmig stream to a destination (vmigctl receive).

usage: wire_craft.py HOST PORT KIND RAM VCPUS [DISKNAME DISKSIZE]
A valid HELLO for a one-slot VM of RAM bytes at GPA 0 comes first (except
for short-hello), then the malformed frame. The destination must refuse it
before writing any guest memory. Layout: Documentation/wire-format.rst.

Disk kinds (blocks-*, disk-*) announce a disk of DISKSIZE bytes named
DISKNAME after the HELLO (except blocks-before-disk), as a source with
--disk does. disk-* kinds are refused in the DISK_ACK, whose error is
printed (disk-twice: the second one's, after the first was accepted);
blocks-* kinds need the disk accepted and then send a BLOCKS frame the
destination must refuse without writing anything of it.
blocks-out-of-range first writes one valid frame, 8 sectors of 0xAA at
sector 0, then one of 16 sectors of 0xBB across the end of the announced
disk, so a test can tell a check that holds from a writer that writes
nothing at all.

silent sends a valid HELLO and then nothing: a source that stalls.
"""
import socket
import struct
import sys
import zlib

MAGIC, VERSION = 0x564D4947, 1
HELLO, HELLO_ACK, PAGES, ZERO, STATE, END, ACK, DISK, DISK_ACK, BLOCKS = range(1, 11)
PAGE, SECTOR = 4096, 512


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


def size(text):
    return int(text[:-1]) << 20 if text.endswith("M") else int(text)


def status(sock):
    """The error of a HELLO_ACK or DISK_ACK, None when there is none."""
    ack = b""
    while len(ack) < 24:
        more = sock.recv(24 - len(ack))
        if not more:
            return None
        ack += more
    return struct.unpack("<I", ack[20:24])[0]


def blocks(sector, count, data, flags=0):
    return struct.pack("<QII", sector, count, flags) + data


def disk_frames(s, kind, name, disk_bytes):
    """The disk kinds; return: exit status."""
    sectors = disk_bytes // SECTOR
    disk = struct.pack("<QII", sectors, 128, len(name)) + name
    if kind != "blocks-before-disk":
        s.frame(DISK, disk)
        err = status(s.sock)
        if kind == "disk-twice" and err == 0:
            s.frame(DISK, disk)
            err = status(s.sock)
        if kind.startswith("disk-"):
            print("DISK_ACK error", err)
            return 0
        if err != 0:
            print("disk refused", err)
            return 1
    if kind == "blocks-before-disk":
        s.frame(BLOCKS, blocks(0, 8, b"\xAA" * (8 * SECTOR)))
    elif kind == "blocks-out-of-range":
        s.frame(BLOCKS, blocks(0, 8, b"\xAA" * (8 * SECTOR)))
        s.frame(BLOCKS, blocks(sectors - 8, 16, b"\xBB" * (16 * SECTOR)))
    elif kind == "blocks-count-zero":
        s.frame(BLOCKS, blocks(0, 0, b""))
    elif kind == "blocks-too-long":
        s.frame(BLOCKS, blocks(0, 2049, b"\xAA" * (2049 * SECTOR)))
    elif kind == "blocks-bad-flags":
        s.frame(BLOCKS, blocks(0, 8, b"\xAA" * (8 * SECTOR), flags=1))
    elif kind == "blocks-len-mismatch":
        s.frame(BLOCKS, blocks(0, 8, b"\xAA" * (7 * SECTOR)))
    else:
        print("unknown kind", kind)
        return 2
    return 0


def main():
    host, port, kind, ram, vcpus = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    ram = size(ram)
    npages = ram // PAGE
    s = Stream(socket.create_connection((host, port)))
    if kind == "short-hello":
        s.frame(HELLO, b"\0" * 8)
    else:
        s.frame(HELLO, struct.pack("<IIII", PAGE, vcpus, 1, 0) + struct.pack("<IIQQ", 0, 0, 0, npages))
        err = status(s.sock)
        if err != 0:
            print("hello refused", err)
            return 1
    run = lambda slot, count, off: struct.pack("<IIQ", slot, count, off)
    if kind.startswith(("blocks-", "disk-")):
        ret = disk_frames(s, kind, sys.argv[6].encode(), size(sys.argv[7]))
        if ret:
            return ret
    elif kind == "bad-magic":
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
    elif kind in ("short-hello", "silent"):
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
