// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util.h"
#include "vmigctl.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

volatile sig_atomic_t vmig_interrupted;

/* Return: 0, or -1 when arg is not a whole decimal number up to max. */
static int parse_ull(const char *arg, unsigned long long max,
		     unsigned long long *v)
{
	char *end;

	if (!isdigit((unsigned char)*arg))
		return -1;
	errno = 0;
	*v = strtoull(arg, &end, 10);
	if (errno || *end || *v > max)
		return -1;
	return 0;
}

int vmig_parse_pid(const char *arg, pid_t *pid)
{
	unsigned long long v;

	if (parse_ull(arg, INT_MAX, &v) || !v)
		return -1;
	*pid = (pid_t)v;
	return 0;
}

int vmig_parse_u32(const char *arg, uint32_t *v)
{
	unsigned long long x;

	if (parse_ull(arg, UINT32_MAX, &x))
		return -1;
	*v = (uint32_t)x;
	return 0;
}

/**
 * vmig_parse_rate() - parse a byte count with an optional binary suffix
 *
 * "100", "512k", "100M", "1.5G", "2T" (k/K = 1024, M = 1024^2, ...); a
 * trailing "B" or "iB" is accepted ("100MiB").
 *
 * Return: 0, or -1 when arg is not such a number or does not fit u64.
 */
int vmig_parse_rate(const char *arg, uint64_t *v)
{
	static const char units[] = "kmgt";
	const char *u;
	double x, mul = 1;
	char *end;

	if (!isdigit((unsigned char)*arg))
		return -1;
	errno = 0;
	x = strtod(arg, &end);
	if (errno || end == arg)
		return -1;
	u = *end ? strchr(units, tolower((unsigned char)*end)) : NULL;
	if (u) {
		mul = pow(1024, (double)(u - units + 1));
		end++;
		if (*end == 'i')
			end++;
	}
	if (*end == 'B')
		end++;
	if (*end)
		return -1;
	x *= mul;
	if (!(x >= 0) || x >= 18446744073709551616.0)
		return -1;
	*v = (uint64_t)x;
	return 0;
}

/**
 * vmig_parse_ms() - parse a positive number of seconds ("2", "0.5")
 *
 * Return: 0 with *ms rounded to the millisecond, or -1.
 */
int vmig_parse_ms(const char *seconds, uint64_t *ms)
{
	char *end;
	double s;

	if (!isdigit((unsigned char)*seconds) && *seconds != '.')
		return -1;
	errno = 0;
	s = strtod(seconds, &end);
	if (errno || *end || !(s >= 0) || s > 1e9)
		return -1;
	*ms = (uint64_t)llround(s * 1000);
	return 0;
}

/**
 * vmig_split_hostport() - split "HOST:PORT", "[V6ADDR]:PORT" or "PORT"
 * @need_host: a bare PORT is refused
 *
 * Return: 0 with host ("" when absent) and port filled, or -1.
 */
int vmig_split_hostport(const char *arg, bool need_host, char *host,
			size_t hostsz, char *port, size_t portsz)
{
	const char *colon = strrchr(arg, ':');
	const char *h = arg, *p;
	size_t hlen;

	if (!colon) {
		if (need_host)
			return -1;
		hlen = 0;
		p = arg;
	} else {
		hlen = (size_t)(colon - arg);
		p = colon + 1;
		if (*arg == '[') {
			if (hlen < 2 || arg[hlen - 1] != ']')
				return -1;
			h++;
			hlen -= 2;
		} else if (memchr(arg, ':', hlen)) {
			return -1;	/* bare IPv6 address: brackets needed */
		}
	}
	if ((need_host && !hlen) || hlen >= hostsz || !*p ||
	    strlen(p) >= portsz || strspn(p, "0123456789") != strlen(p))
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, p, strlen(p) + 1);
	return 0;
}

/* "512B", "40.1K", "2.3M", "210M": binary units, 3 significant digits. */
const char *vmig_fmt_short(char *buf, size_t sz, uint64_t bytes)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int i = -1;

	if (bytes < 1024) {
		snprintf(buf, sz, "%lluB", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	snprintf(buf, sz, v >= 99.95 ? "%.0f%c" : "%.1f%c", v, units[i]);
	return buf;
}

/* "64.0 MiB", "12.3 KiB", "100 B". */
const char *vmig_fmt_iec(char *buf, size_t sz, double bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	int i = -1;

	if (bytes < 1024) {
		snprintf(buf, sz, "%.0f B", bytes);
		return buf;
	}
	while (bytes >= 1024 && i < 4) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, sz, "%.1f %s", bytes, units[i]);
	return buf;
}

/* "850ms", "12.4s", "3m05s". */
const char *vmig_fmt_duration(char *buf, size_t sz, uint64_t ms)
{
	if (ms < 1000)
		snprintf(buf, sz, "%llums", (unsigned long long)ms);
	else if (ms < 60000)
		snprintf(buf, sz, "%.1fs", ms / 1000.0);
	else
		snprintf(buf, sz, "%llum%02llus", (unsigned long long)(ms / 60000),
			 (unsigned long long)(ms / 1000 % 60));
	return buf;
}

/* s as a JSON string on stdout, quotes included. */
void vmig_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

uint64_t vmig_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Return: a pidfd for pid, or -1 with errno set. */
int vmig_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Signal the process a pidfd refers to; a recycled pid is never hit. */
int vmig_pidfd_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static void vmig_on_signal(int sig)
{
	(void)sig;
	vmig_interrupted = 1;
}

/*
 * SIGINT, SIGTERM and SIGHUP (the operator's ssh session dropped) only set
 * vmig_interrupted; the caller cancels cleanly. SIGPIPE is ignored: output
 * into a closed pipe (vmigctl ... | head) fails with EPIPE instead of
 * killing the controller mid-migration. SA_RESTART keeps a netlink request
 * from failing half way with EINTR (its outcome would be unknown); poll()
 * is never restarted, so an event loop still wakes up at once.
 */
void vmig_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vmig_on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * A migration connection must notice a dead peer in seconds, not after
 * TCP's default retransmission timeout of many minutes: the source VM
 * waits on it. Keepalive covers an idle connection, TCP_USER_TIMEOUT
 * unacknowledged data. Best effort: failures leave the defaults.
 */
void vmig_sock_tune(int fd)
{
	int one = 1, idle = 5, intvl = 2, cnt = 3;
	unsigned int user_timeout_ms = 15000;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms,
		   sizeof(user_timeout_ms));
}

/*
 * The end every command's getopt_long() switch shares: -h, an option
 * without its argument, an unknown option. Return: VMIGCTL_USAGE.
 */
int vmig_opt_usage(const char *cmd, int opt, char **argv, void (*usage)(void))
{
	if (opt == ':')
		fprintf(stderr, "vmigctl: %s: %s needs an argument\n", cmd,
			argv[optind - 1]);
	else if (opt != 'h')
		fprintf(stderr, "vmigctl: %s: unknown option '%s'\n", cmd,
			argv[optind - 1]);
	usage();
	return VMIGCTL_USAGE;
}

/* "1.2.3.4:5" or "[::1]:5". */
void vmig_fmt_sockaddr(char *buf, size_t sz, const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, sz, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, sz, "%s:%u", a, ntohs(s4->sin_port));
	}
}


/**
 * vmig_test_knobs() - may VMIGCTL_TEST_* variables act?
 *
 * Only against a test build of the module (the one with fault_inject): a
 * production host ignores them, so no environment can make vmigctl pause
 * or fall back to the unsafe behaviours the tests reproduce.
 *
 * Return: true on a test build.
 */
bool vmig_test_knobs(void)
{
	return !access("/sys/module/vmig/parameters/fault_inject", F_OK);
}

/*
 * Test-only pause point. With VMIGCTL_TEST_HOLD=NAME:DIR in the
 * environment, reaching point NAME creates DIR/NAME.held and waits (at
 * most two minutes) until DIR/NAME.go exists. A test can then look at a
 * state that lasts an instant (both RAM backends before the destination
 * runs the VM) without racing against it or sleeping.
 */
void vmig_test_hold(const char *name)
{
	const char *env = getenv("VMIGCTL_TEST_HOLD");
	struct timespec ms10 = { 0, 10 * 1000 * 1000 };
	size_t n = strlen(name);
	char path[PATH_MAX];
	int i, fd;

	if (!env || strncmp(env, name, n) || env[n] != ':' || !vmig_test_knobs())
		return;
	snprintf(path, sizeof(path), "%s/%s.held", env + n + 1, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/%s.go", env + n + 1, name);
	for (i = 0; i < 12000 && access(path, F_OK); i++)
		nanosleep(&ms10, NULL);
}
