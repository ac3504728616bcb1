/* SPDX-License-Identifier: GPL-2.0 */
/* A connected loopback TCP pair, the wire between two test sessions. */
#ifndef VMIG_TEST_LOOPBACK_H
#define VMIG_TEST_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* Return: 0 with both ends in *@a and *@b, or -1. */
static inline int tcp_pair(int *a, int *b)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	*a = socket(AF_INET, SOCK_STREAM, 0);
	*b = -1;
	if (l >= 0 && *a >= 0 && !bind(l, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !listen(l, 1) && !getsockname(l, (struct sockaddr *)&sa, &al) &&
	    !connect(*a, (struct sockaddr *)&sa, sizeof(sa)))
		*b = accept(l, NULL, NULL);
	if (l >= 0)
		close(l);
	if (*b >= 0)
		return 0;
	if (*a >= 0)
		close(*a);
	return -1;
}

#endif
