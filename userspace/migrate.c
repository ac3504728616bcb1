// SPDX-License-Identifier: GPL-2.0
/*
 * vmigctl migrate: move a running VM to another host.
 *
 * vmig.ko copies; this command decides. It hands the kernel the VMM's KVM
 * files and a connected socket, follows the session's per-pass events and
 * asks policy.c after each pass whether to go on, throttle the VMM's CPU
 * (throttle.c) or stop the VMM and ask for switchover.
 *
 * The invariant everything here keeps: until the kernel reports the
 * session done the source VMM is resumed on any failure, and once it is
 * done the source is never resumed, so the guest never runs in two places.
 * When the outcome cannot be known the VMM is left stopped and the
 * operator is told.
 *
 * With --disk the VM's device-mapper disk goes along: its linear table is
 * swapped for a vmig-track table (dmtable.c) right before migrate-start, so
 * the kernel sees every write, and the original table is loaded again once
 * the outcome is known, whatever it is: on failure the VM runs on as before,
 * on success the source disk stays as it was at switchover, the operator's
 * way back. --stop-pid processes (a storage daemon serving the disk) are
 * stopped and resumed with the VMM, so that nothing writes the disk once
 * the final pass has begun.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <dirent.h>
#include <netdb.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "announce.h"
#include "dmtable.h"
#include "nl.h"
#include "policy.h"
#include "qemumig.h"
#include "session.h"
#include "guardian.h"
#include "throttle.h"
#include "tls.h"
#include "util.h"
#include "vmfind.h"
#include "vmigctl.h"
#include "uapi/linux/vmig.h"

#define MIG_STOP_TIMEOUT_MS	5000	/* SIGSTOP to every thread in 'T' */
#define MIG_CANCEL_WAIT_MS	10000	/* session-del to its final event */
#define MIG_SWITCH_RETRIES	50	/* switchover refused with EAGAIN */
#define MIG_TICK_MS		1000
#define MIG_PROBE_MS		5000	/* silence before asking session-get */
#define MIG_MAX_STOP_PIDS	(VMIG_MAX_STOP_PIDS - 1)	/* and the VMM */
#define MIG_DEF_DISK_REGION	(64 * 1024)
/* QEMU: the destination's verdict; it waits 60 s + 120 s itself (receive.c). */
#define MIG_VERDICT_WAIT_MS	200000

enum mig_phase {
	MIG_PRECOPY,		/* the policy is consulted after each pass */
	MIG_STOPPING,		/* SIGSTOP sent, switchover not yet asked */
	MIG_SWITCHOVER,		/* switchover asked: only a final event counts */
};

struct mig {
	/* options */
	pid_t pid;
	const char *to;
	char host[256], port[16];
	struct vmig_policy_config pcfg;
	uint64_t max_bandwidth;
	uint32_t flags;
	bool keep_source;
	const char *announce_dev;
	uint8_t mac[6];
	char disk_dev[256];		/* --disk DEV=NAME: the VM's dm device */
	const char *disk_name;		/* the destination's device */
	uint64_t disk_region;
	pid_t stop_pid[MIG_MAX_STOP_PIDS];
	unsigned int nr_stop;
	const char *qmp_path;		/* --qmp: a QEMU, paused over QMP */
	struct vmig_tls_args tls_args;
	struct vmig_tls tls;

	/* resources */
	struct vmfind vm;
	unsigned int nr_vcpus;
	uint32_t *msrs;
	uint32_t nr_msrs;
	int sock;
	struct vmig_nl nl, ev;
	struct vmig_policy policy;
	struct vmig_throttle thr;
	struct vmig_guardian guard;	/* QMP: resumes QEMU if this process dies */
	uint32_t page_size;
	int stop_pidfd[MIG_MAX_STOP_PIDS];
	struct vmig_dm_linear dm;	/* the disk and its own table */
	struct qemumig qm;
	int disk_fd;
	bool disk_tracking;		/* the vmig-track table is live */

	/* progress */
	enum mig_phase phase;
	uint64_t start_ms;
	struct vmig_follow f;		/* the session */
	uint32_t last_iteration;	/* last pass fed to the policy */
	uint64_t prev_sent;
	uint64_t prev_elapsed_ms;
	uint32_t max_throttle;
	/* --qmp: the downtime's parts, ms: pause and last pages, QEMU's device state, verdict. */
	uint64_t down_ram_ms, down_dev_ms, down_verdict_ms;
	uint64_t last_est_ms;
	bool stopped;			/* we sent SIGSTOP */
	bool switchover_sent;
	bool give_up;			/* second interrupt during switchover */
	bool tty, line_open, throttle_warned;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: vmigctl migrate {--pid PID | --qmp PATH} --to HOST:PORT\n"
		"                       {--psk-file FILE | --tls-cert F --tls-key F --tls-ca F\n"
		"                        [--tls-peer NAME] | --insecure} [--downtime-ms MS]\n"
		"                       [--max-bandwidth RATE] [--max-iterations N] [--timeout S]\n"
		"                       [--no-zerocopy] [--no-zero-detect] [--keep-source]\n"
		"                       [--announce-mac MAC --announce-dev IF]\n"
		"                       [--disk /dev/mapper/NAME=DESTDEV [--disk-granularity SIZE]]\n"
		"                       [--stop-pid PID]...\n");
}

/* End the redrawn progress line before anything else is printed. */
static void mig_newline(struct mig *m)
{
	if (m->line_open) {
		putchar('\n');
		m->line_open = false;
	}
	fflush(stdout);
}

static void mig_note(struct mig *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A human-readable step on stdout; JSON output has the events instead. */
static void mig_note(struct mig *m, const char *fmt, ...)
{
	va_list ap;

	if (vmigctl_json)
		return;
	mig_newline(m);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void mig_warn(struct mig *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void mig_warn(struct mig *m, const char *fmt, ...)
{
	va_list ap;

	mig_newline(m);
	fputs("vmigctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The host's MSR list (KVM_GET_MSR_INDEX_LIST on /dev/kvm): the first
 * call with nmsrs = 0 fails with E2BIG and says how many there are.
 */
static int read_msr_index(struct mig *m)
{
#ifdef KVM_GET_MSR_INDEX_LIST
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	int fd, ret = -1;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vmigctl: /dev/kvm: %s\n", strerror(errno));
		return -1;
	}
	if (!ioctl(fd, KVM_GET_MSR_INDEX_LIST, &probe) || errno != E2BIG) {
		if (!probe.nmsrs && !errno)
			ret = 0;
		else
			fprintf(stderr, "vmigctl: KVM_GET_MSR_INDEX_LIST: %s\n",
				strerror(errno));
		goto out;
	}
	list = malloc(sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	if (!list) {
		fprintf(stderr, "vmigctl: %s\n", strerror(ENOMEM));
		goto out;
	}
	list->nmsrs = probe.nmsrs;
	if (ioctl(fd, KVM_GET_MSR_INDEX_LIST, list)) {
		fprintf(stderr, "vmigctl: KVM_GET_MSR_INDEX_LIST: %s\n",
			strerror(errno));
		free(list);
		goto out;
	}
	m->msrs = malloc(list->nmsrs * sizeof(*m->msrs) + 1);
	if (m->msrs) {
		memcpy(m->msrs, list->indices, list->nmsrs * sizeof(*m->msrs));
		m->nr_msrs = list->nmsrs;
		ret = 0;
	}
	free(list);
out:
	close(fd);
	return ret;
#else
	(void)m;
	return 0;	/* no MSRs outside x86 */
#endif
}

static int tcp_connect(struct mig *m)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, err = 0, ret;
	char why[256];

	ret = getaddrinfo(m->host, m->port, &hints, &res);
	if (ret) {
		fprintf(stderr, "vmigctl: %s: %s\n", m->host,
			ret == EAI_SYSTEM ? strerror(errno) : gai_strerror(ret));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			vmig_sock_tune(fd);
			break;
		}
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "vmigctl: connect to %s: %s\n", m->to, strerror(err));
		return -1;
	}
	/* Nothing but the handshake before the peer is known to hold the key. */
	if (vmig_tls_secure(&m->tls, fd, false, why, sizeof(why))) {
		fprintf(stderr, "vmigctl: %s: %s\n", m->to, why);
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Load the disk's own table again. Its data is the same either way (the
 * tracking table passes all I/O through to it); this ends the tracking.
 * The kernel has let go of the tracker before it reported the outcome.
 */
static void mig_disk_restore(struct mig *m)
{
	char err[1280];

	if (!m->disk_tracking)
		return;
	if (vmig_dm_swap_table(m->dm.name, m->dm.table, err, sizeof(err))) {
		mig_warn(m, "--disk %s: restoring its table: %s; it works through vmig-track meanwhile; restore it by hand: dmsetup reload %s --table '%s' && dmsetup resume %s",
			 m->disk_dev, err, m->dm.name, m->dm.table, m->dm.name);
		return;
	}
	m->disk_tracking = false;
	vmig_guardian_disk(&m->guard, NULL, NULL);
}

/*
 * Open the disk for migrate-start and make its vmig-track table live:
 * from the resume on, every write to it is recorded. The table names no
 * destination; the kernel sends what it records.
 *
 * Return: 0, or -1 (warned) with the disk's own table in place.
 */
static int mig_disk_track(struct mig *m)
{
	char table[512], err[1280];

	m->disk_fd = open(m->disk_dev, O_RDONLY | O_CLOEXEC);
	if (m->disk_fd < 0) {
		mig_warn(m, "--disk %s: %s", m->disk_dev, strerror(errno));
		return -1;
	}
	vmig_dm_track_table(table, sizeof(table), &m->dm, m->disk_region, NULL);
	/* First: a table this process dies behind must find its way back. */
	vmig_guardian_disk(&m->guard, m->dm.name, m->dm.table);
	if (vmig_dm_swap_table(m->dm.name, table, err, sizeof(err))) {
		mig_warn(m, "--disk %s: loading the tracking table: %s", m->disk_dev, err);
		return -1;
	}
	m->disk_tracking = true;
	return 0;
}

static int migrate_start(struct mig *m)
{
	struct nlmsghdr *req = vmig_nl_msg(&m->nl, VMIG_CMD_MIGRATE_START, 0);
	bool fits = true;

	if (m->qmp_path)
		fits &= qemumig_put(&m->qm, req, m->vm.vm_fd);
	else
		fits &= vmfind_put(req, &m->vm, m->sock);
	fits &= mnl_attr_put_u32_check(req, VMIG_NL_BUFSZ, VMIG_A_SESSION_FLAGS,
				       m->flags);
	if (m->max_bandwidth)
		fits &= mnl_attr_put_u64_check(req, VMIG_NL_BUFSZ,
					       VMIG_A_SESSION_MAX_BANDWIDTH,
					       m->max_bandwidth);
	if (m->nr_msrs)
		fits &= mnl_attr_put_check(req, VMIG_NL_BUFSZ,
					   VMIG_A_SESSION_MSR_INDEX,
					   m->nr_msrs * sizeof(*m->msrs), m->msrs);
	if (m->disk_fd >= 0)
		fits &= vmig_sess_put_disk(req, m->disk_fd, m->disk_name);
	/*
	 * What this command stops, the kernel resumes should it die before
	 * the commit. A QEMU is paused over QMP, not stopped: only --stop-pid.
	 */
	if (!m->qmp_path)
		fits &= mnl_attr_put_u32_check(req, VMIG_NL_BUFSZ, VMIG_A_SESSION_STOP_PID,
					       (uint32_t)m->pid);
	for (unsigned int i = 0; i < m->nr_stop; i++)
		fits &= mnl_attr_put_u32_check(req, VMIG_NL_BUFSZ, VMIG_A_SESSION_STOP_PID,
					       (uint32_t)m->stop_pid[i]);
	/*
	 * The same for a throttle: the kernel restores cpu.max at the end.
	 * Without the file (root cgroup, no cgroup v2) the first throttle
	 * decision reports why and the migration goes on unthrottled.
	 */
	if (!vmig_throttle_open(&m->thr)) {
		fits &= mnl_attr_put_u32_check(req, VMIG_NL_BUFSZ, VMIG_A_SESSION_THROTTLE_FD,
					       (uint32_t)m->thr.fd);
		fits &= mnl_attr_put_strz_check(req, VMIG_NL_BUFSZ,
						VMIG_A_SESSION_THROTTLE_RESTORE, m->thr.orig);
	}
	if (!fits) {
		fprintf(stderr, "vmigctl: migrate-start: %u vCPUs and %u MSRs do not fit one request\n",
			m->vm.nr_vcpus, m->nr_msrs);
		return -1;
	}
	return vmig_sess_start(&m->nl, req, "migrate-start", &m->f.id);
}

/*
 * Ask the kernel to cancel; the session's final event says how it ended.
 * Before switchover the wait is bounded (the source is resumed either
 * way); after it only the final event or a second interrupt ends the wait.
 */
static void mig_cancel(struct mig *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void mig_cancel(struct mig *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmig_follow_vreason(&m->f, fmt, ap);
	va_end(ap);
	if (vmig_follow_cancel(&m->f, m->switchover_sent ? 0 : MIG_CANCEL_WAIT_MS) &&
	    m->switchover_sent)
		mig_note(m, "switchover in progress: asked to cancel, waiting for the outcome (interrupt again to stop waiting; the VMM stays stopped)");
}

static void fmt_eta(char *buf, size_t sz, uint64_t ms)
{
	uint64_t s = (ms + 999) / 1000;

	if (ms == VMIG_POLICY_UNKNOWN)
		snprintf(buf, sz, "?");
	else if (s < 60)
		snprintf(buf, sz, "%llus", (unsigned long long)s);
	else
		snprintf(buf, sz, "%llum%02llus", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
}

/* " disk SENT/SIZE dirty D" when the session carries a disk, else "". */
static void fmt_disk(char *buf, size_t sz, const struct vmig_sess *s)
{
	char sent[16], size[16], dirty[16];

	if (!s->disk_bytes) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, sz, " disk %s/%s dirty %s",
		 vmig_fmt_short(sent, sizeof(sent), s->disk_sent_bytes),
		 vmig_fmt_short(size, sizeof(size), s->disk_bytes),
		 vmig_fmt_short(dirty, sizeof(dirty), s->disk_dirty_bytes));
}

static void json_u64_or_null(const char *key, uint64_t v)
{
	if (v == VMIG_POLICY_UNKNOWN)
		printf(",\"%s\":null", key);
	else
		printf(",\"%s\":%llu", key, (unsigned long long)v);
}

static void mig_progress(struct mig *m, const struct vmig_policy_pass *ps,
			 const struct vmig_policy_decision *d)
{
	const struct vmig_sess *s = &m->f.last;
	char sent[16], rem[16], dirty[16], bw[16], eta[32], bar[11], disk[64];
	uint64_t eta_ms = vmig_policy_eta_ms(ps);
	unsigned int i, fill = 0;

	if (vmigctl_json) {
		printf("{\"event\":\"pass\",\"id\":%u", m->f.id);
		vmig_sess_json(s);
		printf(",\"remaining_bytes\":%llu", (unsigned long long)d->remaining_bytes);
		json_u64_or_null("est_downtime_ms", d->est_downtime_ms);
		json_u64_or_null("eta_ms", eta_ms);
		printf(",\"decision\":\"%s\",\"throttle_pct\":%u}\n",
		       vmig_policy_action_name(d->action), d->throttle_pct);
		fflush(stdout);
		return;
	}
	vmig_fmt_short(sent, sizeof(sent), s->sent_bytes);
	vmig_fmt_short(rem, sizeof(rem), d->remaining_bytes);
	vmig_fmt_short(dirty, sizeof(dirty), s->dirty_rate);
	vmig_fmt_short(bw, sizeof(bw), s->bandwidth);
	fmt_eta(eta, sizeof(eta), eta_ms);
	fmt_disk(disk, sizeof(disk), s);
	if (m->tty) {
		if (s->ram_bytes)
			fill = (unsigned int)(10 * (double)(s->ram_bytes -
				(d->remaining_bytes < s->ram_bytes ?
				 d->remaining_bytes : s->ram_bytes)) /
				(double)s->ram_bytes + 0.5);
		for (i = 0; i < 10; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[10] = '\0';
		printf("\rpass %u [%s] sent %s remaining %s dirty %s/s bw %s/s%s ETA %s",
		       s->iteration, bar, sent, rem, dirty, bw, disk, eta);
		if (m->thr.pct)
			printf(" throttle %u%%", m->thr.pct);
		printf("\033[K");
		m->line_open = true;
	} else {
		printf("pass %u sent %s remaining %s dirty %s/s bw %s/s%s ETA %s",
		       s->iteration, sent, rem, dirty, bw, disk, eta);
		if (m->thr.pct)
			printf(" throttle %u%%", m->thr.pct);
		putchar('\n');
	}
	fflush(stdout);
}

/*
 * Every thread of process pid in state 'T' (stopped), as the kernel checks
 * for the VMM. Return: 1 yes, 0 not yet, -1 the process is gone.
 */
static int proc_stopped(pid_t pid)
{
	char path[sizeof(((struct dirent *)0)->d_name) + 32], buf[512];
	struct dirent *de;
	int ret = 1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while (ret == 1 && (de = readdir(d))) {
		const char *st;
		ssize_t n;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid,
			 de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;	/* the thread exited */
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* "tid (comm) S ...": comm may hold anything, even ") ". */
		st = strrchr(buf, ')');
		/* Zombie or dead threads run nothing either. */
		if (!st || (st[2] != 'T' && st[2] != 'Z' && st[2] != 'X'))
			ret = 0;
	}
	closedir(d);
	return ret;
}

/*
 * Should this command die, the kernel resumes (SIGCONT) what it stops: a
 * process someone else stopped must not be part of that.
 */
static int mig_refuse_stopped(struct mig *m)
{
	unsigned int i;

	if (!m->qmp_path && proc_stopped(m->pid) == 1) {
		fprintf(stderr, "vmigctl: migrate: process %d is stopped (SIGSTOP): resume it first\n",
			(int)m->pid);
		return -1;
	}
	for (i = 0; i < m->nr_stop; i++) {
		if (proc_stopped(m->stop_pid[i]) == 1) {
			fprintf(stderr, "vmigctl: migrate: --stop-pid %d is stopped (SIGSTOP): resume it first\n",
				(int)m->stop_pid[i]);
			return -1;
		}
	}
	return 0;
}

/* The VMM exited (a zombie has exited too). */
static bool mig_vmm_gone(struct mig *m)
{
	char path[32], buf[512];
	const char *st;
	ssize_t n;
	int fd;

	if (m->qmp_path)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)m->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	st = strrchr(buf, ')');
	return st && (st[2] == 'Z' || st[2] == 'X');
}

/*
 * Send sig to the VMM and the --stop-pid processes, the VMM first.
 * Return: 0, or the pid that could not be signalled (errno set).
 */
static pid_t mig_signal_all(struct mig *m, int sig)
{
	unsigned int i;

	/* A QEMU is paused and resumed over QMP, never by signal. */
	if (!m->qmp_path && vmig_pidfd_signal(m->vm.pidfd, sig))
		return m->pid;
	for (i = 0; i < m->nr_stop; i++)
		if (vmig_pidfd_signal(m->stop_pidfd[i], sig))
			return m->stop_pid[i];
	return 0;
}

/*
 * Return: 0 when the VMM and every --stop-pid process are stopped, else the
 * first that is not: in *gone whether it exited.
 */
static pid_t mig_not_stopped(struct mig *m, bool *gone)
{
	unsigned int i;
	int st;

	st = m->qmp_path ? 1 : proc_stopped(m->pid);
	*gone = st < 0;
	if (st != 1)
		return m->pid;
	for (i = 0; i < m->nr_stop; i++) {
		st = proc_stopped(m->stop_pid[i]);
		*gone = st < 0;
		if (st != 1)
			return m->stop_pid[i];
	}
	return 0;
}

/* Resume what mig_switchover() stopped. Return: false when the VMM stays stopped. */
static bool mig_resume_all(struct mig *m)
{
	bool vmm = true;
	unsigned int i;

	if (!m->stopped)
		return true;
	if (m->qmp_path) {
		qemumig_source_restore(&m->qm);
		vmm = !m->qm.paused;
	} else if (vmig_pidfd_signal(m->vm.pidfd, SIGCONT) && errno != ESRCH) {
		mig_warn(m, "cannot resume process %d: %s", (int)m->pid, strerror(errno));
		vmm = false;
	}
	for (i = 0; i < m->nr_stop; i++) {
		if (vmig_pidfd_signal(m->stop_pidfd[i], SIGCONT) && errno != ESRCH)
			mig_warn(m, "cannot resume process %d (--stop-pid): %s",
				 (int)m->stop_pid[i], strerror(errno));
	}
	m->stopped = false;
	return vmm;
}

static void mig_switchover(struct mig *m, const struct vmig_policy_decision *d)
{
	struct timespec ms10 = { 0, 10 * 1000 * 1000 };
	struct timespec ms2 = { 0, 2 * 1000 * 1000 };
	struct vmig_nl_error e;
	uint64_t deadline;
	int attempt = 0;
	bool gone;
	pid_t p;

	m->phase = MIG_STOPPING;
	mig_note(m, "switchover: estimated downtime %llu ms, stopping process %d%s",
		 (unsigned long long)d->est_downtime_ms, (int)m->pid,
		 m->nr_stop ? " and the --stop-pid processes" : "");
again:
	if (m->qmp_path) {
		char err[512];

		vmig_test_hold("before-pause");
		m->stopped = true;
		vmig_guardian_phase(&m->guard, VMIG_GUARDIAN_PAUSED);
		if (qemumig_pause(&m->qm, err, sizeof(err))) {
			mig_cancel(m, "pausing QEMU: %s", err);
			return;
		}
	}
	/* Set first: if one cannot be stopped, those stopped already resume. */
	m->stopped = true;
	p = mig_signal_all(m, SIGSTOP);
	if (p) {
		mig_cancel(m, "cannot stop process %d: %s", (int)p, strerror(errno));
		return;
	}
	deadline = vmig_now_ms() + MIG_STOP_TIMEOUT_MS;
	while ((p = mig_not_stopped(m, &gone)) && !gone) {
		if (vmig_interrupted) {
			vmig_interrupted = 0;
			mig_cancel(m, "interrupted");
			return;
		}
		if (vmig_now_ms() >= deadline) {
			mig_cancel(m, "process %d did not stop within %d s",
				   (int)p, MIG_STOP_TIMEOUT_MS / 1000);
			return;
		}
		nanosleep(&ms10, NULL);
	}
	if (p) {
		mig_cancel(m, "process %d exited", (int)p);
		return;
	}
	vmig_test_hold("after-stop");
	if (vmig_sess_switchover(&m->nl, m->f.id, &e)) {
		/*
		 * A vCPU stopped inside an I/O read the VMM may not have served
		 * yet: let the VMM run a moment and stop it again.
		 */
		if (e.err == EAGAIN && ++attempt < MIG_SWITCH_RETRIES) {
			mig_resume_all(m);
			m->stopped = false;
			nanosleep(&ms2, NULL);
			goto again;
		}
		if (e.msg[0])
			mig_cancel(m, "switchover: %s (%s)", e.msg, strerror(e.err));
		else
			mig_cancel(m, "switchover: %s", strerror(e.err));
		return;
	}
	m->switchover_sent = true;
	m->phase = MIG_SWITCHOVER;
}

static void mig_pass(struct mig *m)
{
	const struct vmig_sess *s = &m->f.last;
	struct vmig_policy_pass ps = {
		.iteration = s->iteration,
		.dirty_pages = s->dirty_pages,
		.page_size = m->page_size,
		.bandwidth = s->bandwidth,
		.dirty_rate = s->dirty_rate,
		.sent_bytes = s->sent_bytes >= m->prev_sent ?
			      s->sent_bytes - m->prev_sent : 0,
		.dirtied_bytes = s->dirty_pages * m->page_size,
		.elapsed_ms = s->elapsed_ms,
	};
	struct vmig_policy_decision d;

	/*
	 * With a disk, dirty-pages also counts the part of the disk its first
	 * sweep has not reached yet, which spans many passes and which nobody
	 * dirtied: what a pass dirtied is the dirty rate over its duration.
	 */
	if (m->disk_name)
		ps.dirtied_bytes = s->elapsed_ms > m->prev_elapsed_ms ?
				   s->dirty_rate * (s->elapsed_ms - m->prev_elapsed_ms) / 1000 : 0;
	m->prev_elapsed_ms = s->elapsed_ms;
	m->prev_sent = s->sent_bytes;
	m->last_iteration = s->iteration;
	d = vmig_policy_pass(&m->policy, &ps);
	m->last_est_ms = d.est_downtime_ms;
	mig_progress(m, &ps, &d);

	switch (d.action) {
	case VMIG_POLICY_CONTINUE:
		break;
	case VMIG_POLICY_THROTTLE:
		if (vmig_throttle_set(&m->thr, d.throttle_pct)) {
			if (!m->throttle_warned)
				mig_warn(m, "throttle: %s; going on unthrottled",
					 m->thr.err);
			m->throttle_warned = true;
			break;
		}
		if (m->thr.pct > m->max_throttle)
			m->max_throttle = m->thr.pct;
		vmig_test_hold("after-throttle");
		if (!m->tty)
			mig_note(m, "throttling process %d by %u%%", (int)m->pid,
				 m->thr.pct);
		break;
	case VMIG_POLICY_SWITCHOVER:
		mig_switchover(m, &d);
		break;
	case VMIG_POLICY_ABORT:
		if (d.est_downtime_ms == VMIG_POLICY_UNKNOWN)
			mig_cancel(m, "%s (no bandwidth measured, target %u ms)",
				   vmig_policy_reason_str(d.reason),
				   m->pcfg.downtime_ms);
		else
			mig_cancel(m, "%s (estimated downtime %llu ms, target %u ms)",
				   vmig_policy_reason_str(d.reason),
				   (unsigned long long)d.est_downtime_ms,
				   m->pcfg.downtime_ms);
		break;
	}
}

static void mig_on_update(const struct vmig_sess *s, void *data)
{
	struct mig *m = data;

	if (!VMIG_SESS_HAS(s, VMIG_A_SESSION_STATE))
		return;
	if (!m->f.have_final && s->state == VMIG_STATE_PRECOPY &&
	    m->phase == MIG_PRECOPY && !m->f.cancel_sent &&
	    VMIG_SESS_HAS(s, VMIG_A_SESSION_ITERATION) &&
	    s->iteration > m->last_iteration) {
		mig_pass(m);
		return;
	}
	if (vmigctl_json) {
		printf("{\"event\":\"state\",\"id\":%u", m->f.id);
		vmig_sess_json(s);
		printf("}\n");
		fflush(stdout);
	}
}

static void mig_report(struct mig *m, const char *result, const char *source)
{
	const struct vmig_sess *s = &m->f.last;
	uint64_t total = vmig_now_ms() - m->start_ms;
	uint64_t ms = VMIG_SESS_HAS(s, VMIG_A_SESSION_ELAPSED_MS) &&
		      s->elapsed_ms ? s->elapsed_ms : total;
	uint64_t avg = ms ? s->sent_bytes * 1000 / ms : 0;
	uint32_t passes = s->iteration;	/* completed pre-copy passes */
	char sent[16], bw[16], dur[16], disk[16];

	mig_newline(m);
	if (vmigctl_json) {
		printf("{\"event\":\"report\",\"id\":%u,\"result\":\"%s\",\"source\":\"%s\"",
		       m->f.id, result, source);
		if (m->f.reason[0] && strcmp(result, "done")) {
			fputs(",\"reason\":", stdout);
			vmig_json_str(m->f.reason);
		}
		printf(",\"total_ms\":%llu,\"passes\":%u,\"ram_bytes\":%llu,\"sent_bytes\":%llu,\"sent_pages\":%llu,\"zero_pages\":%llu",
		       (unsigned long long)total, passes,
		       (unsigned long long)s->ram_bytes,
		       (unsigned long long)s->sent_bytes,
		       (unsigned long long)s->sent_pages,
		       (unsigned long long)s->zero_pages);
		if (VMIG_SESS_HAS(s, VMIG_A_SESSION_DOWNTIME_US))
			printf(",\"downtime_us\":%llu", (unsigned long long)s->downtime_us);
		else
			printf(",\"downtime_us\":null");
		printf(",\"avg_bandwidth\":%llu,\"max_throttle_pct\":%u",
		       (unsigned long long)avg, m->max_throttle);
		if (m->down_ram_ms || m->down_dev_ms || m->down_verdict_ms)
			printf(",\"downtime_parts_ms\":{\"pause_and_ram\":%llu,\"device_state\":%llu,\"verdict\":%llu}",
			       (unsigned long long)m->down_ram_ms,
			       (unsigned long long)m->down_dev_ms,
			       (unsigned long long)m->down_verdict_ms);
		if (m->disk_name) {
			printf(",\"disk_bytes\":%llu,\"disk_sent_bytes\":%llu,\"disk_table\":\"%s\"",
			       (unsigned long long)s->disk_bytes,
			       (unsigned long long)s->disk_sent_bytes,
			       m->disk_tracking ? "vmig-track" : "original");
		}
		printf("}\n");
	} else if (!strcmp(result, "done")) {
		printf("migrated process %d to %s in %s: %u passes, sent %s, ",
		       (int)m->pid, m->to,
		       vmig_fmt_duration(dur, sizeof(dur), total), passes,
		       vmig_fmt_short(sent, sizeof(sent), s->sent_bytes));
		if (m->disk_name)
			printf("disk %s, ", vmig_fmt_short(disk, sizeof(disk),
							   s->disk_sent_bytes));
		if (VMIG_SESS_HAS(s, VMIG_A_SESSION_DOWNTIME_US))
			printf("downtime %.1f ms", s->downtime_us / 1000.0);
		else
			printf("downtime unknown");
		printf(", average %s/s", vmig_fmt_short(bw, sizeof(bw), avg));
		if (m->max_throttle)
			printf(", throttled up to %u%%", m->max_throttle);
		printf("; source %s\n", source);
	}
	fflush(stdout);
}

static int mig_done(struct mig *m)
{
	const char *fate = "stopped";
	unsigned int i;
	char err[256];

	if (vmig_throttle_undo(&m->thr))
		mig_warn(m, "throttle: %s", m->thr.err);
	if (m->announce_dev &&
	    vmig_announce(m->announce_dev, m->mac, VMIG_ANNOUNCE_COUNT, err,
			  sizeof(err)))
		mig_warn(m, "announce: %s", err);
	if (!m->keep_source) {
		if (vmig_pidfd_signal(m->vm.pidfd, SIGKILL) && errno != ESRCH)
			mig_warn(m, "cannot kill the source VMM %d: %s; it stays stopped",
				 (int)m->pid, strerror(errno));
		else
			fate = "killed";
		/* They served the VM, which runs on the destination now. */
		for (i = 0; i < m->nr_stop; i++)
			if (vmig_pidfd_signal(m->stop_pidfd[i], SIGKILL) && errno != ESRCH)
				mig_warn(m, "cannot kill process %d (--stop-pid): %s; it stays stopped",
					 (int)m->stop_pid[i], strerror(errno));
	}
	mig_disk_restore(m);
	if (m->disk_name && !m->disk_tracking)
		mig_note(m, "%s has its own table again and holds the disk as it was at switchover",
			 m->disk_dev);
	mig_report(m, "done", fate);
	return VMIGCTL_OK;
}

static int mig_failed(struct mig *m, const char *result);
static int mig_unknown(struct mig *m);

/*
 * QEMU: vmig delivered the RAM and the source QEMU is paused. Its device
 * state goes over a connection of its own; the destination's verdict
 * alone decides whether the source quits or resumes (qemumig.h).
 */
static int mig_qemu_done(struct mig *m)
{
	uint64_t ram_ms = vmig_now_ms(), state_ms;
	char why[512];
	enum qemumig_verdict v;
	int ret;

	/* Before QEMU is asked: from here on the destination may run the VM. */
	vmig_guardian_phase(&m->guard, VMIG_GUARDIAN_STATE_SENT);
	if (qemumig_send_state(&m->qm, why, sizeof(why)))
		mig_warn(m, "source QEMU: %s; waiting for the destination's verdict", why);
	state_ms = vmig_now_ms();
	v = qemumig_verdict_wait(&m->qm, MIG_VERDICT_WAIT_MS, why, sizeof(why));
	if (v == QEMUMIG_FAILED) {
		vmig_follow_reason(&m->f, "the destination could not run the VM: %s", why);
		return mig_failed(m, "failed");
	}
	if (vmig_throttle_undo(&m->thr))
		mig_warn(m, "throttle: %s", m->thr.err);
	/* Any QEMU left here must carry its RAM in a later QEMU migration. */
	qemumig_drop_ignore_shared(&m->qm);
	if (v == QEMUMIG_UNKNOWN) {
		mig_warn(m, "outcome unknown (%s): QEMU %d is left paused: resume it (QMP cont) only if the destination does not run the VM",
			 why, (int)m->pid);
		mig_disk_restore(m);
		vmig_follow_reason(&m->f, "%s", why);
		mig_report(m, "unknown", "paused");
		return VMIGCTL_UNKNOWN;
	}
	/* Downtime as the guest sees it: paused here until it runs there. */
	m->f.last.downtime_us = (vmig_now_ms() - m->qm.pause_ms) * 1000;
	m->f.last.present |= 1ULL << VMIG_A_SESSION_DOWNTIME_US;
	m->down_ram_ms = ram_ms - m->qm.pause_ms;
	m->down_dev_ms = state_ms - ram_ms;
	m->down_verdict_ms = vmig_now_ms() - state_ms;
	if (!vmigctl_json)
		mig_note(m, "downtime: %llu ms pausing and sending the last pages, %llu ms QEMU's device state, %llu ms until the destination ran the VM",
			 (unsigned long long)m->down_ram_ms,
			 (unsigned long long)m->down_dev_ms,
			 (unsigned long long)m->down_verdict_ms);
	mig_disk_restore(m);
	if (m->keep_source) {
		mig_report(m, "done", "paused");
		return VMIGCTL_OK;
	}
	ret = qmp_quit(m->qm.qmp, why, sizeof(why));
	if (ret && ret != -ECONNRESET) {
		mig_warn(m, "source QEMU %d: quit: %s; it stays paused", (int)m->pid, why);
		mig_report(m, "done", "paused");
		return VMIGCTL_OK;
	}
	mig_report(m, "done", "quit");
	return VMIGCTL_OK;
}

/* The migration did not happen and the destination cannot have the VM. */
static int mig_failed(struct mig *m, const char *result)
{
	const char *fate = "running";

	if (!mig_resume_all(m))
		fate = "stopped";
	if (mig_vmm_gone(m))
		fate = "gone";
	if (vmig_throttle_undo(&m->thr))
		mig_warn(m, "throttle: %s", m->thr.err);
	mig_disk_restore(m);
	mig_warn(m, "migration %s: %s; the VM %s on the source", result, m->f.reason,
		 !strcmp(fate, "running") ? "keeps running" :
		 !strcmp(fate, "gone") ? "is gone (its VMM exited)" : "is stopped");
	mig_report(m, result, fate);
	return VMIGCTL_FAIL;
}

/* No final event: resume only if the destination cannot have the VM. */
static int mig_unresolved(struct mig *m)
{
	vmig_follow_drain(&m->f);
	if (!m->f.have_final)
		vmig_follow_probe(&m->f);
	if (m->f.have_final)
		return -1;	/* the caller handles the final state */
	/* A QEMU's device state has not left: the destination cannot run the VM. */
	if (!m->switchover_sent || m->qmp_path) {
		vmig_follow_reason(&m->f, "cancelled");
		return mig_failed(m, m->f.cancel_sent ? "cancelled" : "failed");
	}
	return mig_unknown(m);
}

/* The destination may run the VM: the source stays stopped, and says so. */
static int mig_unknown(struct mig *m)
{
	if (vmig_throttle_undo(&m->thr))
		mig_warn(m, "throttle: %s", m->thr.err);
	mig_warn(m, "session %u: outcome of the switchover unknown (%s); process %d is left stopped%s: check 'vmigctl show %u', then resume it (kill -CONT) only if the destination does not run the VM",
		 m->f.id, m->f.reason[0] ? m->f.reason : "no final event",
		 (int)m->pid, m->nr_stop ? " with the --stop-pid processes" : "", m->f.id);
	/*
	 * A session the kernel ended (state unknown) let go of the disk
	 * before it said so: its own table goes back, as on any outcome.
	 * Without a final event the session may still hold the disk
	 * quiesced: its table stays.
	 */
	if (m->f.have_final)
		mig_disk_restore(m);
	if (m->disk_tracking)
		mig_warn(m, "%s keeps its vmig-track table; once the session is gone: dmsetup reload %s --table '%s' && dmsetup resume %s",
			 m->disk_dev, m->dm.name, m->dm.table, m->dm.name);
	mig_report(m, "unknown", "stopped");
	return VMIGCTL_UNKNOWN;
}

static int mig_final(struct mig *m)
{
	const struct vmig_sess *s = &m->f.last;
	struct vmig_nl_error e;
	int ret;

	switch (s->state) {
	case VMIG_STATE_DONE:
		ret = m->qmp_path ? mig_qemu_done(m) : mig_done(m);
		break;
	case VMIG_STATE_FAILED:
		vmig_sess_reason(s, m->f.reason, sizeof(m->f.reason));
		ret = mig_failed(m, "failed");
		break;
	case VMIG_STATE_UNKNOWN:
		vmig_sess_reason(s, m->f.reason, sizeof(m->f.reason));
		/*
		 * A QEMU's destination cannot run the VM without the device
		 * state, which has not left: the VM stays here.
		 */
		if (m->qmp_path) {
			ret = mig_failed(m, "failed");
			break;
		}
		/* END went out, no answer came: the destination may run the VM. */
		return mig_unknown(m);	/* its record stays for the operator */
	default:
		vmig_follow_reason(&m->f, "cancelled by another request (vmigctl cancel?)");
		ret = mig_failed(m, "cancelled");
		break;
	}
	/*
	 * Acted on: unlist the session now, not after its linger. Not before:
	 * dying in between, the kernel (or the record) must still know it.
	 */
	vmig_sess_dismiss(&m->nl, m->f.id, &e);
	return ret;
}

static int mig_loop(struct mig *m)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(m->ev.sock), .events = POLLIN };
	struct vmig_policy_decision d;
	int ret;

	for (;;) {
		uint64_t now = vmig_now_ms();

		/* An interrupt after the outcome arrived cancels nothing. */
		if (vmig_interrupted)
			vmig_follow_drain(&m->f);
		if (m->f.have_final)
			return mig_final(m);
		if (vmig_interrupted) {
			vmig_interrupted = 0;
			if (m->f.cancel_sent)
				m->give_up = true;
			else
				mig_cancel(m, "interrupted");
		}
		if (m->phase == MIG_PRECOPY && !m->f.cancel_sent) {
			d = vmig_policy_tick(&m->policy, now - m->start_ms);
			if (d.action == VMIG_POLICY_ABORT)
				mig_cancel(m, "%s (%u s)", vmig_policy_reason_str(d.reason),
					   m->pcfg.timeout_s);
		}
		if (!m->give_up && now - m->f.last_heard_ms >= MIG_PROBE_MS)
			vmig_follow_probe(&m->f);
		if (m->f.have_final)
			continue;
		if (m->give_up || m->f.lost ||
		    (m->f.cancel_deadline && now >= m->f.cancel_deadline)) {
			ret = mig_unresolved(m);
			if (ret >= 0)
				return ret;
			continue;
		}
		ret = poll(&pfd, 1, MIG_TICK_MS);
		if (ret < 0 && errno != EINTR) {
			mig_cancel(m, "poll: %s", strerror(errno));
			m->give_up = true;
		} else if (ret > 0) {
			vmig_follow_drain(&m->f);
		}
	}
}

static int mig_parse(struct mig *m, int argc, char **argv)
{
	enum { O_DOWNTIME = 256, O_BW, O_ITER, O_TIMEOUT, O_NOZC, O_NOZD,
	       O_KEEP, O_MAC, O_DEV, O_DISK, O_DISKGRAN, O_STOP, O_QMP };
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "to", required_argument, NULL, 't' },
		{ "downtime-ms", required_argument, NULL, O_DOWNTIME },
		{ "max-bandwidth", required_argument, NULL, O_BW },
		{ "max-iterations", required_argument, NULL, O_ITER },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "no-zerocopy", no_argument, NULL, O_NOZC },
		{ "no-zero-detect", no_argument, NULL, O_NOZD },
		{ "keep-source", no_argument, NULL, O_KEEP },
		{ "announce-mac", required_argument, NULL, O_MAC },
		{ "announce-dev", required_argument, NULL, O_DEV },
		{ "disk", required_argument, NULL, O_DISK },
		{ "disk-granularity", required_argument, NULL, O_DISKGRAN },
		{ "stop-pid", required_argument, NULL, O_STOP },
		{ "qmp", required_argument, NULL, O_QMP },
		VMIG_TLS_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *mac = NULL, *eq;
	bool gran = false;
	char err[256];
	int c;

	vmig_policy_defaults(&m->pcfg);
	m->disk_region = MIG_DEF_DISK_REGION;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		const char *bad = NULL;

		switch (c) {
		case 'p':
			if (vmig_parse_pid(optarg, &m->pid))
				bad = "--pid wants a process id";
			break;
		case 't':
			m->to = optarg;
			if (vmig_split_hostport(optarg, true, m->host, sizeof(m->host),
						m->port, sizeof(m->port)))
				bad = "--to wants HOST:PORT ([ADDR]:PORT for IPv6)";
			break;
		case O_DOWNTIME:
			if (vmig_parse_u32(optarg, &m->pcfg.downtime_ms))
				bad = "--downtime-ms wants milliseconds";
			break;
		case O_BW:
			if (vmig_parse_rate(optarg, &m->max_bandwidth))
				bad = "--max-bandwidth wants bytes/s, optionally with k, M, G or T";
			break;
		case O_ITER:
			if (vmig_parse_u32(optarg, &m->pcfg.max_iterations) ||
			    !m->pcfg.max_iterations)
				bad = "--max-iterations wants a number of passes, at least 1";
			break;
		case O_TIMEOUT:
			if (vmig_parse_u32(optarg, &m->pcfg.timeout_s) ||
			    !m->pcfg.timeout_s)
				bad = "--timeout wants seconds, at least 1";
			break;
		case O_NOZC:
			m->flags |= VMIG_MIGRATE_FLAGS_NO_ZEROCOPY;
			break;
		case O_NOZD:
			m->flags |= VMIG_MIGRATE_FLAGS_NO_ZERO_DETECT;
			break;
		case O_KEEP:
			m->keep_source = true;
			break;
		case O_MAC:
			mac = optarg;
			if (vmig_parse_mac(optarg, m->mac))
				bad = "--announce-mac wants a MAC address like 52:54:00:12:34:56";
			break;
		case O_DEV:
			m->announce_dev = optarg;
			break;
		case O_DISK:
			eq = strchr(optarg, '=');
			if (m->disk_name || !eq || eq == optarg || !eq[1] ||
			    (size_t)(eq - optarg) >= sizeof(m->disk_dev) ||
			    strlen(eq + 1) > 255) {
				bad = "--disk wants DEV=DESTDEV, DESTDEV up to 255 bytes";
				break;
			}
			memcpy(m->disk_dev, optarg, (size_t)(eq - optarg));
			m->disk_name = eq + 1;
			break;
		case O_DISKGRAN:
			gran = true;
			if (vmig_dm_parse_region(optarg, &m->disk_region))
				bad = "--disk-granularity wants a power of two from 4k to 1G";
			break;
		case O_STOP:
			if (m->nr_stop == MIG_MAX_STOP_PIDS)
				bad = "--stop-pid: at most 16 processes";
			else if (vmig_parse_pid(optarg, &m->stop_pid[m->nr_stop++]))
				bad = "--stop-pid wants a process id";
			break;
		case O_QMP:
			m->qmp_path = optarg;
			break;
		default:
			if (vmig_tls_opt(&m->tls_args, c, optarg))
				break;
			return vmig_opt_usage("migrate", c, argv, usage);
		}
		if (bad) {
			fprintf(stderr, "vmigctl: migrate: %s\n", bad);
			return VMIGCTL_USAGE;
		}
	}
	if (optind != argc || !m->pid == !m->qmp_path || !m->to) {
		if (optind != argc)
			fprintf(stderr, "vmigctl: migrate: unexpected '%s'\n", argv[optind]);
		else
			fprintf(stderr, "vmigctl: migrate: --to and one of --pid or --qmp are required\n");
		usage();
		return VMIGCTL_USAGE;
	}
	if (!mac != !m->announce_dev) {
		fprintf(stderr, "vmigctl: migrate: --announce-mac and --announce-dev go together\n");
		return VMIGCTL_USAGE;
	}
	if (gran && !m->disk_name) {
		fprintf(stderr, "vmigctl: migrate: --disk-granularity goes with --disk\n");
		return VMIGCTL_USAGE;
	}
	/* A certificate must name the host we connect to, unless --tls-peer says otherwise. */
	if (vmig_tls_init(&m->tls, &m->tls_args, m->host, err, sizeof(err))) {
		fprintf(stderr, "vmigctl: migrate: %s\n", err);
		return VMIGCTL_USAGE;
	}
	if (m->tls.insecure)
		m->flags |= VMIG_MIGRATE_FLAGS_INSECURE;
	return VMIGCTL_OK;
}

/* The --stop-pid processes, by pidfd from now on: a recycled pid is never hit. */
static int mig_open_stop_pids(struct mig *m)
{
	unsigned int i;

	for (i = 0; i < m->nr_stop; i++) {
		m->stop_pidfd[i] = vmig_pidfd_open(m->stop_pid[i]);
		if (m->stop_pidfd[i] < 0) {
			fprintf(stderr, "vmigctl: --stop-pid %d: %s\n", (int)m->stop_pid[i],
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

int migrate_main(int argc, char **argv)
{
	char err[1024], size[16];
	unsigned int i;
	struct mig m;
	int ret;

	memset(&m, 0, sizeof(m));
	vmig_throttle_init(&m.thr, 0, 0);	/* no file open, for every exit path */
	m.guard.fd = -1;
	m.sock = -1;
	m.vm.pidfd = -1;
	m.vm.vm_fd = -1;
	m.disk_fd = -1;
	for (i = 0; i < MIG_MAX_STOP_PIDS; i++)
		m.stop_pidfd[i] = -1;
	ret = mig_parse(&m, argc, argv);
	if (ret)
		return ret;
	if (vmig_policy_init(&m.policy, &m.pcfg)) {
		fprintf(stderr, "vmigctl: migrate: bad policy settings\n");
		return VMIGCTL_USAGE;
	}
	if (m.announce_dev && !if_nametoindex(m.announce_dev)) {
		fprintf(stderr, "vmigctl: --announce-dev %s: %s\n", m.announce_dev,
			strerror(errno));
		return VMIGCTL_FAIL;
	}
	m.page_size = (uint32_t)sysconf(_SC_PAGESIZE);
	m.tty = isatty(STDOUT_FILENO) && !vmigctl_json;

	ret = VMIGCTL_FAIL;
	/* First, while this process holds no socket the guardian could inherit. */
	if ((m.qmp_path || m.disk_name) && vmig_guardian_start(&m.guard, m.qmp_path))
		mig_warn(&m, "no guardian (%s): killed while QEMU is paused or its disk tracked, this command would leave it so",
			 strerror(errno));
	if (m.qmp_path) {
		if (qemumig_open(&m.qm, m.qmp_path, QEMU_VM_SOURCE)) {
			qemumig_close(&m.qm);
			vmig_guardian_disarm(&m.guard);
			return VMIGCTL_FAIL;
		}
		m.pid = m.qm.vm.pid;
	} else if (!vmfind_exact(m.pid, err, sizeof(err))) {
		fprintf(stderr, "vmigctl: migrate: %s\n", err);
		return VMIGCTL_FAIL;
	}
	if (vmfind_open(m.pid, &m.vm)) {
		if (m.qmp_path)
			qemumig_close(&m.qm);
		vmig_guardian_disarm(&m.guard);
		return VMIGCTL_FAIL;
	}
	if (mig_open_stop_pids(&m) || mig_refuse_stopped(&m))
		goto out;
	/* Nothing changes on the disk before the connection is up. */
	if (m.disk_name && vmig_dm_read_linear(m.disk_dev, &m.dm, err, sizeof(err))) {
		fprintf(stderr, "vmigctl: --disk: %s\n", err);
		goto out;
	}
	/* A QEMU carries its vCPU state itself. */
	if (!m.qmp_path && read_msr_index(&m))
		goto out;
	ret = vmig_nl_open(&m.nl);
	if (!ret)
		ret = vmig_events_open(&m.ev);
	if (ret) {
		fprintf(stderr, "vmigctl: vmig family: %s%s\n", strerror(ret),
			ret == ENOENT ? " (is vmig.ko loaded?)" : "");
		ret = VMIGCTL_FAIL;
		goto out;
	}
	ret = VMIGCTL_FAIL;
	if (m.qmp_path) {
		int ctl = tcp_connect(&m);

		if (ctl < 0 || qemumig_tag(&m.qm, QEMUMIG_CTL, ctl))
			goto out;
	}
	m.sock = tcp_connect(&m);
	if (m.sock < 0)
		goto out;
	if (m.qmp_path) {
		int ram = m.sock;

		/* qemumig_tag() closes it on failure; keep one owner. */
		m.sock = -1;
		if (qemumig_tag(&m.qm, QEMUMIG_RAM, ram))
			goto out;
		m.sock = ram;
		/*
		 * QEMU's device-state connection, opened and secured now: at
		 * switchover, inside the downtime, it only changes hands.
		 */
		ram = tcp_connect(&m);
		if (ram < 0 || qemumig_tag(&m.qm, QEMUMIG_DEV, ram))
			goto out;
	}
	m.nr_vcpus = m.vm.nr_vcpus;
	vmig_throttle_init(&m.thr, m.pid, m.nr_vcpus);	/* now that both are known */

	vmig_signals_install();
	m.start_ms = vmig_now_ms();
	m.f = (struct vmig_follow){ .nl = &m.nl, .ev = &m.ev, .on_update = mig_on_update,
				    .data = &m, .last_heard_ms = m.start_ms };
	if (m.disk_name && mig_disk_track(&m))
		goto out;
	if (migrate_start(&m)) {
		mig_disk_restore(&m);
		goto out;
	}
	vmig_guardian_session(&m.guard, m.f.id);
	/* The kernel holds its own references now. */
	vmfind_close_kvm(&m.vm);
	close(m.sock);
	m.sock = -1;
	m.qm.conn[QEMUMIG_RAM] = -1;
	if (m.disk_fd >= 0)
		close(m.disk_fd);
	m.disk_fd = -1;
	if (vmigctl_json) {
		printf("{\"event\":\"start\",\"id\":%u,\"pid\":%d,\"vcpus\":%u,\"to\":",
		       m.f.id, (int)m.pid, m.nr_vcpus);
		vmig_json_str(m.to);
		if (m.disk_name) {
			printf(",\"disk\":");
			vmig_json_str(m.disk_dev);
			printf(",\"disk_name\":");
			vmig_json_str(m.disk_name);
		}
		printf("}\n");
	} else {
		printf("migrating process %d (%u vCPUs) to %s: session %u\n",
		       (int)m.pid, m.nr_vcpus, m.to, m.f.id);
		if (m.disk_name)
			printf("with disk %s (%s) to %s\n", m.disk_dev,
			       vmig_fmt_short(size, sizeof(size), m.dm.len << 9),
			       m.disk_name);
	}
	fflush(stdout);
	ret = mig_loop(&m);
out:
	if (m.sock >= 0)
		close(m.sock);
	if (m.disk_fd >= 0)
		close(m.disk_fd);
	for (i = 0; i < m.nr_stop; i++)
		if (m.stop_pidfd[i] >= 0)
			close(m.stop_pidfd[i]);
	vmig_throttle_close(&m.thr);
	/* Whatever this command decided, it did: the guardian has nothing to undo. */
	vmig_guardian_disarm(&m.guard);
	vmig_nl_close(&m.ev);
	vmig_nl_close(&m.nl);
	vmfind_close(&m.vm);
	if (m.qmp_path) {
		if (m.qm.conn[QEMUMIG_RAM] == m.sock)
			m.qm.conn[QEMUMIG_RAM] = -1;
		qemumig_close(&m.qm);
	}
	free(m.msrs);
	return ret;
}
