#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Replay a dm-log-writes log up to a mark: what a device held durably then.

usage: logreplay.py LOGDEV MARK IMAGE SECTORS

dm-log-writes logs a write only once it is durable: a write completed
without FUA enters the log just before the next flush, so a log read up
to MARK holds exactly the writes a crash at MARK would keep. IMAGE (a
file of SECTORS 512-byte sectors, zeros first) gets those writes
applied; discards zero their range. Prints one line: the entries before
the mark by kind, and whether a flush entry came after the last write;
exit 1 when MARK is not in the log.

Format (read from the on-disk layout, not the kernel's code): sector 0
holds the super block (le64 magic, version, nr_entries; le32 sectorsize);
entries follow from the second block, each a header block (le64 sector,
nr_sectors, flags, data_len; a mark's name after it) followed by
nr_sectors blocks of data unless it is a discard.
"""
import struct
import sys

MAGIC = 0x6a736677736872
FLUSH, FUA, DISCARD, MARK = 1, 2, 4, 8


def main():
    logdev, mark, image, sectors = sys.argv[1], sys.argv[2].encode(), sys.argv[3], int(sys.argv[4])
    with open(logdev, "rb") as log, open(image, "wb") as out:
        out.truncate(sectors * 512)
        magic, _, nr_entries, bs = struct.unpack("<QQQI", log.read(28))
        if magic != MAGIC:
            print("no dm-log-writes super block (magic %#x)" % magic)
            return 2
        pos = bs
        writes = flushes = fuas = discards = 0
        flushed_after_last_write = False
        for _ in range(nr_entries):
            log.seek(pos)
            hdr = log.read(bs)
            sector, nr, flags, dlen = struct.unpack("<QQQQ", hdr[:32])
            pos += bs
            if flags & MARK:
                if hdr[32:32 + dlen] == mark:
                    print("before mark %s: %d writes (%d FUA), %d discards, %d flushes; "
                          "flush after the last write: %s" %
                          (mark.decode(), writes, fuas, discards, flushes,
                           "yes" if flushed_after_last_write else "no"))
                    return 0
                continue
            if flags & FLUSH and not nr:
                flushes += 1
                flushed_after_last_write = True
                continue
            if flags & DISCARD:
                out.seek(sector * bs)
                out.write(b"\0" * (nr * bs))
                discards += 1
                flushed_after_last_write = False
                continue
            if nr:
                log.seek(pos)
                data = log.read(nr * bs)
                pos += nr * bs
                out.seek(sector * bs)
                out.write(data)
                writes += 1
                fuas += bool(flags & FUA)
                flushed_after_last_write = False
    print("mark %s not found in %d entries" % (mark.decode(), nr_entries))
    return 1


if __name__ == "__main__":
    sys.exit(main())
