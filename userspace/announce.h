/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tell the network where a migrated guest's MAC address lives now: a RARP
 * frame from that MAC to broadcast, as QEMU sends after migration, so that
 * learning switches and bridges update their forwarding tables. RARP needs
 * no knowledge of the guest's IP addresses (a gratuitous ARP would).
 */
#ifndef VMIGCTL_ANNOUNCE_H
#define VMIGCTL_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

#define VMIG_ANNOUNCE_COUNT	3
#define VMIG_ANNOUNCE_GAP_MS	100

int vmig_parse_mac(const char *s, uint8_t mac[6]);
int vmig_announce(const char *dev, const uint8_t mac[6], unsigned int count,
		  char *err, size_t errsz);

#endif
