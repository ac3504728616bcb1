// SPDX-License-Identifier: GPL-2.0
/*
 * The QEMU half of migrate --qmp and receive --qmp (qemumig.h).
 *
 * Order of events, source (S) and destination (D):
 *   S,D  probe QEMU over QMP and refuse what vmig cannot move exactly
 *   S->D control and RAM connections; vmig pre-copies the backend while
 *        the source QEMU runs untouched
 *   S    converged: QMP stop; vmig's final pass; D's kernel ACKs when
 *        every page has landed
 *   S->D device connection: S's QEMU migrates its device and CPU state
 *        (x-ignore-shared: not the backend, which D already holds)
 *   D    QEMU loaded it: cont; only then "committed" on the control
 *        connection. Anything failing first: "failed", D's QEMU quits
 *   S    "committed": quit the source QEMU. "failed": cont. Nothing: stay
 *        paused, outcome unknown.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nl.h"
#include "qemumig.h"
#include "tls.h"
#include "util.h"
#include "uapi/linux/vmig.h"

#define QEMUMIG_QMP_TIMEOUT_MS	5000
#define QEMUMIG_TAG_TIMEOUT_MS	5000
#define QEMUMIG_TAG_LEN		16
#define QEMUMIG_DEV_FD_NAME	"vmig-dev"

static const char *const qemumig_tags[__QEMUMIG_NR] = {
	[QEMUMIG_CTL] = "VMIG/QEMU ctl 1\n",
	[QEMUMIG_RAM] = "VMIG/QEMU ram 1\n",
	[QEMUMIG_DEV] = "VMIG/QEMU dev 1\n",
};

/*
 * Connect to QEMU's monitor, learn where its RAM lives and refuse a QEMU
 * vmig cannot migrate exactly (qemu_vm_exact() words the reason as what to
 * change on QEMU's command line). The destination gets the migration
 * capabilities it needs at once: its QEMU does nothing until
 * migrate-incoming. Return: 0, or -1 after saying why.
 */
int qemumig_open(struct qemumig *qm, const char *qmp_path, enum qemu_vm_role role)
{
	static const char *const dst_caps[] = { "events", "x-ignore-shared",
						"late-block-activate" };
	static const bool on[] = { true, true, true };
	char err[512];
	int i;

	memset(qm, 0, sizeof(*qm));
	qm->role = role;
	for (i = 0; i < __QEMUMIG_NR; i++)
		qm->conn[i] = -1;
	qm->qmp = qmp_open(qmp_path, QEMUMIG_QMP_TIMEOUT_MS, err, sizeof(err));
	if (!qm->qmp) {
		fprintf(stderr, "vmigctl: --qmp %s: %s\n", qmp_path, err);
		return -1;
	}
	if (qemu_vm_probe(qm->qmp, &qm->vm, err, sizeof(err))) {
		fprintf(stderr, "vmigctl: --qmp %s: %s\n", qmp_path, err);
		return -1;
	}
	if (!qemu_vm_exact(&qm->vm, role, err, sizeof(err))) {
		fprintf(stderr, "vmigctl: QEMU %d cannot be migrated by vmig: %s\n",
			(int)qm->vm.pid, err);
		return -1;
	}
	/*
	 * stop in "inmigrate" turns autostart off: without it a destination
	 * started without -S would run the VM as soon as loading ends, before
	 * this controller decided anything.
	 */
	if (role == QEMU_VM_DEST &&
	    (qmp_set_caps(qm->qmp, dst_caps, on, 3, err, sizeof(err)) ||
	     qmp_stop(qm->qmp, err, sizeof(err)))) {
		fprintf(stderr, "vmigctl: destination QEMU: %s\n", err);
		return -1;
	}
	return 0;
}

void qemumig_close(struct qemumig *qm)
{
	int i;

	for (i = 0; i < __QEMUMIG_NR; i++)
		if (qm->conn[i] >= 0)
			close(qm->conn[i]);
	if (qm->qmp)
		qmp_close(qm->qmp);
	qm->qmp = NULL;
}

/* migrate-start / receive-start attributes: the VM, the stream, the backend. */
bool qemumig_put(const struct qemumig *qm, struct nlmsghdr *req, int vm_fd)
{
	return mnl_attr_put_u32_check(req, VMIG_NL_BUFSZ, VMIG_A_SESSION_VM_FD,
				      (uint32_t)vm_fd) &&
	       mnl_attr_put_u32_check(req, VMIG_NL_BUFSZ, VMIG_A_SESSION_SOCK_FD,
				      (uint32_t)qm->conn[QEMUMIG_RAM]) &&
	       mnl_attr_put_u64_check(req, VMIG_NL_BUFSZ, VMIG_A_SESSION_RAM_HVA,
				      qm->vm.ram_hva) &&
	       mnl_attr_put_u64_check(req, VMIG_NL_BUFSZ, VMIG_A_SESSION_RAM_SIZE,
				      qm->vm.ram_size);
}

/*
 * Name a new connection to the destination (source side) and keep it as
 * @which. Return: 0, or -1 (connection closed) after saying why.
 */
int qemumig_tag(struct qemumig *qm, enum qemumig_conn which, int fd)
{
	if (send(fd, qemumig_tags[which], QEMUMIG_TAG_LEN, MSG_NOSIGNAL) !=
	    QEMUMIG_TAG_LEN) {
		fprintf(stderr, "vmigctl: sending on a new connection: %s\n",
			strerror(errno));
		close(fd);
		return -1;
	}
	qm->conn[which] = fd;
	return 0;
}

/* Read exactly @len bytes within @timeout_ms. Return: 0, -1 on EOF/error/timeout. */
static int qemumig_read_full(int fd, char *buf, size_t len, int timeout_ms)
{
	uint64_t deadline = vmig_now_ms() + (uint64_t)timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < len) {
		uint64_t now = vmig_now_ms();
		ssize_t n;

		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0)
			return -1;
		n = recv(fd, buf + got, len - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int qemumig_which(const char *tag)
{
	int i;

	for (i = 0; i < __QEMUMIG_NR; i++)
		if (!memcmp(tag, qemumig_tags[i], QEMUMIG_TAG_LEN))
			return i;
	return -1;
}

/*
 * Accept connections on @lfd until every one in @want (a mask of
 * 1 << enum qemumig_conn) has come, each recognised by its tag. Anything
 * else (no tag within a few seconds, a role already taken) is closed and
 * logged, and the wait goes on. @peer gets the first accepted address.
 * Return: 0, or -1 after saying why (deadline, interrupt, accept error).
 */
int qemumig_accept(struct qemumig *qm, int lfd, unsigned int want,
		   uint64_t deadline_ms, char *peer, size_t peerlen)
{
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	char tag[QEMUMIG_TAG_LEN], why[256];
	unsigned int have = 0;
	int i;

	for (i = 0; i < __QEMUMIG_NR; i++)
		if (qm->conn[i] >= 0)
			have |= 1U << i;
	while ((have & want) != want) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char addr[64];
		int fd, which;

		if (vmig_interrupted) {
			fprintf(stderr, "vmigctl: receive: interrupted while waiting for the source\n");
			return -1;
		}
		if (deadline_ms && vmig_now_ms() >= deadline_ms) {
			fprintf(stderr, "vmigctl: receive: the source did not connect in time\n");
			return -1;
		}
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
				continue;
			fprintf(stderr, "vmigctl: accept: %s\n", strerror(errno));
			return -1;
		}
		vmig_fmt_sockaddr(addr, sizeof(addr), &ss);
		if (vmig_tls_secure(qm->tls, fd, true, why, sizeof(why))) {
			fprintf(stderr, "vmigctl: receive: refused a connection from %s: %s\n",
				addr, why);
			close(fd);
			continue;
		}
		which = qemumig_read_full(fd, tag, sizeof(tag), QEMUMIG_TAG_TIMEOUT_MS) ?
			-1 : qemumig_which(tag);
		if (which < 0 || (have & (1U << which)) || !(want & (1U << which))) {
			fprintf(stderr, "vmigctl: receive: ignored a connection from %s: %s\n",
				addr, which < 0 ? "it did not name a vmig role" :
				"its role is taken or not expected now");
			close(fd);
			continue;
		}
		vmig_sock_tune(fd);
		qm->conn[which] = fd;
		have |= 1U << which;
		if (peer && !peer[0])
			snprintf(peer, peerlen, "%s", addr);
	}
	return 0;
}

/* Source: pause the VM (QMP stop: vCPUs out of KVM_RUN, block I/O drained, vhost stopped). */
int qemumig_pause(struct qemumig *qm, char *err, size_t len)
{
	char status[32];
	bool running;

	/* Before the request: a stop whose answer is lost may have happened. */
	qm->paused = true;
	qm->pause_ms = vmig_now_ms();
	if (qmp_stop(qm->qmp, err, len))
		return -1;
	if (qmp_status(qm->qmp, status, sizeof(status), &running, err, len))
		return -1;
	if (running) {
		snprintf(err, len, "QEMU still runs after stop (status %s)", status);
		return -1;
	}
	return 0;
}

/*
 * Source: resume what qemumig_pause() paused. Just after its own migration
 * ends, QEMU 7.2 sits in finish-migrate for a moment and refuses cont:
 * retry until it settles (postmigrate), for a few seconds.
 */
int qemumig_resume(struct qemumig *qm, char *err, size_t len)
{
	struct timespec ms50 = { 0, 50 * 1000 * 1000 };
	char status[32];
	bool running;
	int i;

	if (!qm->paused)
		return 0;
	for (i = 0; qmp_cont(qm->qmp, err, len); i++) {
		if (i == 100 || qmp_status(qm->qmp, status, sizeof(status), &running, NULL, 0) ||
		    strcmp(status, "finish-migrate"))
			return -1;
		nanosleep(&ms50, NULL);
	}
	qm->paused = false;
	return 0;
}

/*
 * Source, paused, RAM delivered: QEMU sends its device and CPU state on the
 * device connection, skipping the shared backend. Return: 0 once QEMU
 * reports the migration completed; -1 with @err otherwise.
 */
int qemumig_send_state(struct qemumig *qm, char *err, size_t len)
{
	static const char *const caps[] = { "events", "x-ignore-shared" };
	static const bool on[] = { true, true };
	char status[32];
	int ret;

	if (qmp_set_caps(qm->qmp, caps, on, 2, err, len))
		return -1;
	qm->ignore_shared = true;
	ret = qmp_migrate_fd(qm->qmp, qm->conn[QEMUMIG_DEV], QEMUMIG_DEV_FD_NAME, err, len);
	/* QEMU holds its own copy of the socket now (getfd). */
	close(qm->conn[QEMUMIG_DEV]);
	qm->conn[QEMUMIG_DEV] = -1;
	if (ret)
		return -1;
	if (qmp_wait_migration(qm->qmp, 120000, status, sizeof(status), err, len))
		return -1;
	if (strcmp(status, "completed")) {
		snprintf(err, len, "QEMU's device-state migration ended %s", status);
		return -1;
	}
	return 0;
}

/*
 * Source: the destination's verdict. Return: COMMITTED, FAILED (@why says
 * the destination's reason) or UNKNOWN (@why says what was seen).
 */
enum qemumig_verdict qemumig_verdict_wait(struct qemumig *qm, int timeout_ms,
					  char *why, size_t len)
{
	uint64_t deadline = vmig_now_ms() + (uint64_t)timeout_ms;
	struct pollfd pfd = { .fd = qm->conn[QEMUMIG_CTL], .events = POLLIN };
	char line[512];
	size_t got = 0;

	while (got < sizeof(line) - 1) {
		uint64_t now = vmig_now_ms();
		ssize_t n;

		if (now >= deadline || poll(&pfd, 1, (int)(deadline - now)) <= 0) {
			snprintf(why, len, "no verdict from the destination within %d s",
				 timeout_ms / 1000);
			return QEMUMIG_UNKNOWN;
		}
		n = recv(pfd.fd, line + got, 1, 0);
		if (n <= 0) {
			snprintf(why, len, "the control connection to the destination %s without a verdict",
				 n ? "failed" : "closed");
			return QEMUMIG_UNKNOWN;
		}
		if (line[got++] == '\n')
			break;
	}
	line[got] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (!strcmp(line, "committed"))
		return QEMUMIG_COMMITTED;
	if (!strncmp(line, "failed ", 7)) {
		snprintf(why, len, "%s", line + 7);
		return QEMUMIG_FAILED;
	}
	snprintf(why, len, "the destination sent no valid verdict");
	return QEMUMIG_UNKNOWN;
}

/*
 * Source QEMU that goes on existing: take x-ignore-shared back, so that a
 * later QEMU migration of this VM carries its RAM.
 */
void qemumig_drop_ignore_shared(struct qemumig *qm)
{
	static const char *const caps[] = { "x-ignore-shared" };
	static const bool off[] = { false };
	char err[512];

	if (!qm->ignore_shared)
		return;
	if (!qmp_set_caps(qm->qmp, caps, off, 1, err, sizeof(err)))
		qm->ignore_shared = false;
	else
		fprintf(stderr, "vmigctl: source QEMU: taking x-ignore-shared back: %s\n", err);
}

/* Source, the VM stays here: x-ignore-shared off, and resume the VM. */
void qemumig_source_restore(struct qemumig *qm)
{
	char err[512];

	qemumig_drop_ignore_shared(qm);
	if (qemumig_resume(qm, err, sizeof(err)))
		fprintf(stderr, "vmigctl: source QEMU: cont: %s; the VM stays paused\n", err);
}

/*
 * Destination, RAM landed: let QEMU load the device state from the device
 * connection, then run the VM. Return: 0 when the VM runs here; -1 with
 * @err when it does not (the caller discards this QEMU).
 */
int qemumig_load_state(struct qemumig *qm, int timeout_ms, char *err, size_t len)
{
	char status[32];
	bool running;
	int ret;

	ret = qmp_incoming_fd(qm->qmp, qm->conn[QEMUMIG_DEV], QEMUMIG_DEV_FD_NAME, err, len);
	close(qm->conn[QEMUMIG_DEV]);
	qm->conn[QEMUMIG_DEV] = -1;
	if (ret)
		return -1;
	ret = qmp_wait_migration(qm->qmp, timeout_ms, status, sizeof(status), err, len);
	if (ret == -ECONNRESET) {
		snprintf(err, len, "the destination QEMU exited while loading the device state (see its log)");
		return -1;
	}
	if (ret)
		return -1;
	if (strcmp(status, "completed")) {
		snprintf(err, len, "loading the device state ended %s", status);
		return -1;
	}
	vmig_test_hold("before-cont");
	qm->cont_sent = true;
	if (qmp_cont(qm->qmp, err, len) ||
	    qmp_status(qm->qmp, status, sizeof(status), &running, err, len))
		return -1;
	if (!running) {
		snprintf(err, len, "the destination QEMU does not run after cont (status %s)", status);
		return -1;
	}
	return 0;
}

/* Destination: tell the source. A lost verdict leaves the source in doubt, paused. */
void qemumig_verdict_send(struct qemumig *qm, enum qemumig_verdict v, const char *why)
{
	char line[512];
	int n;

	if (qm->conn[QEMUMIG_CTL] < 0)
		return;
	if (v == QEMUMIG_COMMITTED)
		n = snprintf(line, sizeof(line), "committed\n");
	else
		n = snprintf(line, sizeof(line), "failed %.400s\n", why ?: "unknown");
	if (send(qm->conn[QEMUMIG_CTL], line, (size_t)n, MSG_NOSIGNAL) != n)
		fprintf(stderr, "vmigctl: receive: cannot tell the source: %s\n",
			strerror(errno));
}

/*
 * Destination: the VM must not run here; its partial state must never run.
 * quit, then SIGKILL, then wait for the process to be gone.
 * Return: true once QEMU is known to be gone.
 */
bool qemumig_discard(struct qemumig *qm)
{
	struct pollfd pfd = { .events = POLLIN };
	char err[512];
	int ret = qm->qmp ? qmp_quit(qm->qmp, err, sizeof(err)) : 0;

	/* Gone already, or gone as it answered: either way it runs nothing. */
	if (ret && ret != -ECONNRESET)
		fprintf(stderr, "vmigctl: destination QEMU %d: quit: %s; killing it\n",
			(int)qm->vm.pid, err);
	pfd.fd = vmig_pidfd_open(qm->vm.pid);
	if (pfd.fd < 0)
		return errno == ESRCH;
	vmig_pidfd_signal(pfd.fd, SIGKILL);
	/* A pidfd polls readable once the process has exited. */
	ret = poll(&pfd, 1, 10000);
	close(pfd.fd);
	if (ret != 1)
		fprintf(stderr, "vmigctl: destination QEMU %d does not exit; kill it by hand\n",
			(int)qm->vm.pid);
	return ret == 1;
}
