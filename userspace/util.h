/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers the subcommands share: argument parsing, human-readable
 * sizes, a monotonic clock, pidfd signals, and SIGINT/SIGTERM as a flag.
 */
#ifndef VMIGCTL_UTIL_H
#define VMIGCTL_UTIL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Set by SIGINT/SIGTERM once vmig_signals_install() ran. */
extern volatile sig_atomic_t vmig_interrupted;

int vmig_parse_pid(const char *arg, pid_t *pid);
int vmig_opt_usage(const char *cmd, int opt, char **argv, void (*usage)(void));
int vmig_parse_u32(const char *arg, uint32_t *v);
int vmig_parse_rate(const char *arg, uint64_t *v);
int vmig_parse_ms(const char *seconds, uint64_t *ms);
int vmig_split_hostport(const char *arg, bool need_host, char *host,
			size_t hostsz, char *port, size_t portsz);

const char *vmig_fmt_short(char *buf, size_t sz, uint64_t bytes);
const char *vmig_fmt_iec(char *buf, size_t sz, double bytes);
const char *vmig_fmt_duration(char *buf, size_t sz, uint64_t ms);

void vmig_json_str(const char *s);

uint64_t vmig_now_ms(void);
int vmig_pidfd_open(pid_t pid);
int vmig_pidfd_signal(int pidfd, int sig);
void vmig_signals_install(void);
void vmig_sock_tune(int fd);
struct sockaddr_storage;
void vmig_fmt_sockaddr(char *buf, size_t sz, const struct sockaddr_storage *ss);
bool vmig_test_knobs(void);
void vmig_test_hold(const char *name);

#endif
