// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "announce.h"

#define ARPOP_RREQUEST_	3	/* RARP "request reverse", as QEMU sends */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "52:54:00:12:34:56" (or with '-'). Return: 0, or -1. */
int vmig_parse_mac(const char *s, uint8_t mac[6])
{
	int i, hi, lo;

	if (strlen(s) != 17)
		return -1;
	for (i = 0; i < 6; i++, s += 3) {
		hi = hexval(s[0]);
		lo = hexval(s[1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[2] != ':' && s[2] != '-'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Ethernet header + RARP request, padded to the 60-byte minimum frame. */
static size_t rarp_frame(uint8_t *f, const uint8_t mac[6])
{
	uint8_t *p = f;

	memset(f, 0, 60);
	memset(p, 0xff, ETH_ALEN);		/* destination: broadcast */
	memcpy(p + ETH_ALEN, mac, ETH_ALEN);	/* source: the guest */
	p[12] = ETH_P_RARP >> 8;
	p[13] = ETH_P_RARP & 0xff;
	p += ETH_HLEN;
	p[1] = 1;				/* htype: Ethernet */
	p[2] = ETH_P_IP >> 8;			/* ptype: IPv4 */
	p[3] = ETH_P_IP & 0xff;
	p[4] = ETH_ALEN;			/* hlen */
	p[5] = 4;				/* plen */
	p[7] = ARPOP_RREQUEST_;
	memcpy(p + 8, mac, ETH_ALEN);		/* sender hw; sender ip 0 */
	memcpy(p + 18, mac, ETH_ALEN);		/* target hw; target ip 0 */
	return 60;
}

/**
 * vmig_announce() - send count RARP frames for mac out of dev
 *
 * Frames go VMIG_ANNOUNCE_GAP_MS apart so one lost frame does not lose the
 * announcement. Needs CAP_NET_RAW.
 *
 * Return: 0, or -1 with err saying why.
 */
int vmig_announce(const char *dev, const uint8_t mac[6], unsigned int count,
		  char *err, size_t errsz)
{
	struct timespec gap = { 0, VMIG_ANNOUNCE_GAP_MS * 1000 * 1000 };
	struct sockaddr_ll sll;
	uint8_t frame[60];
	unsigned int i;
	size_t len;
	int fd;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_RARP);
	sll.sll_ifindex = (int)if_nametoindex(dev);
	sll.sll_halen = ETH_ALEN;
	memset(sll.sll_addr, 0xff, ETH_ALEN);
	if (!sll.sll_ifindex) {
		snprintf(err, errsz, "%s: %s", dev, strerror(errno));
		return -1;
	}
	/* Protocol 0: the socket sends only and never queues received frames. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errsz, "AF_PACKET socket: %s", strerror(errno));
		return -1;
	}
	len = rarp_frame(frame, mac);
	for (i = 0; i < count; i++) {
		if (i)
			nanosleep(&gap, NULL);
		if (sendto(fd, frame, len, 0, (struct sockaddr *)&sll,
			   sizeof(sll)) < 0) {
			snprintf(err, errsz, "sending on %s: %s", dev, strerror(errno));
			close(fd);
			return -1;
		}
	}
	close(fd);
	return 0;
}
