#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""rarp_sniff.py DEV MAC SECONDS: print a running count of RARP/ARP
announcements for MAC seen on DEV (one line per frame)."""
import socket
import sys
import time

dev, mac, secs = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", "")), float(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((dev, 0))
s.settimeout(0.2)
print("ready", flush=True)
end, seen = time.time() + secs, 0
while time.time() < end:
    try:
        pkt = s.recv(2048)
    except socket.timeout:
        continue
    ethertype = int.from_bytes(pkt[12:14], "big")
    # RARP (0x8035) or ARP (0x0806) whose sender hardware address is MAC.
    if ethertype in (0x8035, 0x0806) and pkt[6:12] == mac and pkt[22:28] == mac:
        seen += 1
        print(seen, flush=True)
