/* SPDX-License-Identifier: GPL-2.0 */
/* Socket and timing helpers shared by the benchmark programs. */
#ifndef BENCH_NETUTIL_H
#define BENCH_NETUTIL_H

#include <stddef.h>
#include <stdint.h>

uint64_t nu_now_ns(void);
int nu_parse_u64(const char *s, uint64_t *v);
/* "[ADDR:]PORT" (IPv4); returns a listening socket or -1. */
int nu_listen(const char *where);
/* "HOST:PORT" (IPv4); retries for up to @wait_ms while nobody listens. */
int nu_connect(const char *where, unsigned int wait_ms);
int nu_write_all(int fd, const void *buf, size_t len);
int nu_read_full(int fd, void *buf, size_t len);
/* Shut down our write side and wait until the peer has read it all. */
int nu_wait_peer_close(int fd);
void nu_print_result(const char *prog, const char *role, uint64_t bytes,
		     uint64_t ns);

#endif
