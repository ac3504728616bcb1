// SPDX-License-Identifier: GPL-2.0
/*
 * vmigctl receive: the destination end of a migration.
 *
 * The destination VMM has created a VM with the source's memory slot
 * layout and vCPU count and does not run its vCPUs until this command
 * exits 0. Exit 0 means the kernel reported the session done: the VM
 * state is applied and the source was told so, and will not resume. Any
 * other outcome exits 1 and the destination VM must be discarded.
 *
 * With --disk the VM's disk is written to a local block device, which this
 * command opens exclusively (nobody may use it meanwhile) and hands to the
 * kernel; exit 0 then also means the disk is complete and flushed.
 *
 * With --qmp the destination is a QEMU started with -incoming defer: the
 * kernel lands the RAM backend, then this command feeds QEMU the device
 * state from the source QEMU, runs the VM and only then tells the source
 * "committed" (qemumig.h). Exit 0 means the VM runs here; on any failure
 * the destination QEMU is told to quit and the source resumes the VM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "announce.h"
#include "nl.h"
#include "qemumig.h"
#include "session.h"
#include "tls.h"
#include "util.h"
#include "vmfind.h"
#include "vmigctl.h"
#include "uapi/linux/vmig.h"

#define RCV_CANCEL_WAIT_MS	10000
#define RCV_TICK_MS		1000
#define RCV_PROBE_MS		5000	/* silence before asking session-get */
#define RCV_LOAD_WAIT_MS	120000	/* QEMU loading the device state */

struct rcv {
	pid_t pid;
	char host[256], port[16];
	uint32_t timeout_s;
	const char *announce_dev;
	uint8_t mac[6];
	const char *disk;
	const char *qmp_path;
	struct vmig_tls_args tls_args;
	struct vmig_tls tls;

	struct vmfind vm;
	struct qemumig qm;
	int disk_fd;
	struct vmig_nl nl, ev;
	int lfd, conn;
	char peer[INET6_ADDRSTRLEN + 8];
	struct vmig_follow f;
	uint64_t start_ms;
	bool commit_sent;	/* switchover asked on the ready session */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: vmigctl receive {--pid PID | --qmp PATH} --listen [ADDR:]PORT\n"
		"                       {--psk-file FILE | --tls-cert F --tls-key F --tls-ca F\n"
		"                        [--tls-peer NAME] | --insecure} [--from ADDR[/PREFIX]]\n"
		"                       [--timeout S]\n"
		"                       [--announce-mac MAC --announce-dev IF] [--disk DEV]\n");
}

static int try_listen(const struct addrinfo *ai, bool dual_stack)
{
	int fd, one = 1, zero = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (dual_stack && ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/*
 * Listen on ADDR:PORT, or on every address (IPv6 and IPv4) without ADDR,
 * and say where on stderr: with PORT 0 that is the only way to learn the
 * port.
 */
static int rcv_listen(struct rcv *r)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	}, *res, *ai;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char where[INET6_ADDRSTRLEN + 8];
	int ret, err = EADDRNOTAVAIL;

	if (!r->host[0])
		hints.ai_family = AF_INET6;
	for (;;) {
		ret = getaddrinfo(r->host[0] ? r->host : NULL, r->port, &hints, &res);
		if (ret) {
			fprintf(stderr, "vmigctl: %s: %s\n", r->host[0] ? r->host : "*",
				ret == EAI_SYSTEM ? strerror(errno) : gai_strerror(ret));
			return -1;
		}
		for (ai = res; ai && r->lfd < 0; ai = ai->ai_next) {
			r->lfd = try_listen(ai, !r->host[0]);
			if (r->lfd < 0)
				err = errno;
		}
		freeaddrinfo(res);
		/* No IPv6 on this host: listen on every IPv4 address. */
		if (r->lfd >= 0 || r->host[0] || hints.ai_family == AF_INET)
			break;
		hints.ai_family = AF_INET;
	}
	if (r->lfd < 0) {
		fprintf(stderr, "vmigctl: listen on %s:%s: %s\n",
			r->host[0] ? r->host : "*", r->port, strerror(err));
		return -1;
	}
	getsockname(r->lfd, (struct sockaddr *)&ss, &len);
	vmig_fmt_sockaddr(where, sizeof(where), &ss);
	fprintf(stderr, "listening on %s\n", where);
	fflush(stderr);
	return 0;
}

static bool rcv_timed_out(const struct rcv *r)
{
	return r->timeout_s &&
	       vmig_now_ms() - r->start_ms >= (uint64_t)r->timeout_s * 1000;
}

static int rcv_accept(struct rcv *r)
{
	char why[256], where[sizeof(r->peer)];
	struct pollfd pfd = { .fd = r->lfd, .events = POLLIN };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	for (;;) {
		if (vmig_interrupted) {
			fprintf(stderr, "vmigctl: receive: interrupted before a connection came\n");
			return -1;
		}
		if (rcv_timed_out(r)) {
			fprintf(stderr, "vmigctl: receive: no connection within %u s\n",
				r->timeout_s);
			return -1;
		}
		if (poll(&pfd, 1, RCV_TICK_MS) <= 0)
			continue;
		len = sizeof(ss);
		r->conn = accept4(r->lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (r->conn >= 0) {
			/* A stray or hostile peer is dropped; the real one may follow. */
			if (vmig_tls_secure(&r->tls, r->conn, true, why, sizeof(why))) {
				vmig_fmt_sockaddr(where, sizeof(where), &ss);
				fprintf(stderr, "vmigctl: receive: refused a connection from %s: %s\n",
					where, why);
				close(r->conn);
				r->conn = -1;
				continue;
			}
			vmig_sock_tune(r->conn);
			break;
		}
		if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN) {
			fprintf(stderr, "vmigctl: accept: %s\n", strerror(errno));
			return -1;
		}
	}
	close(r->lfd);
	r->lfd = -1;
	vmig_fmt_sockaddr(r->peer, sizeof(r->peer), &ss);
	fprintf(stderr, "connection from %s\n", r->peer);
	fflush(stderr);
	return 0;
}

/*
 * The source's connections: one for --pid; for --qmp the control, RAM and
 * QEMU device-state ones, all secured before the migration starts, so
 * that no handshake falls into the downtime.
 */
static int rcv_accept_all(struct rcv *r)
{
	uint64_t deadline = r->timeout_s ? r->start_ms + (uint64_t)r->timeout_s * 1000 : 0;

	if (!r->qmp_path)
		return rcv_accept(r);
	if (qemumig_accept(&r->qm, r->lfd,
			   1U << QEMUMIG_CTL | 1U << QEMUMIG_RAM | 1U << QEMUMIG_DEV,
			   deadline, r->peer, sizeof(r->peer)))
		return -1;
	/* Nobody else may connect any more. */
	close(r->lfd);
	r->lfd = -1;
	fprintf(stderr, "connection from %s\n", r->peer);
	fflush(stderr);
	return 0;
}

static int receive_start(struct rcv *r)
{
	struct nlmsghdr *req = vmig_nl_msg(&r->nl, VMIG_CMD_RECEIVE_START, 0);
	bool fits = r->qmp_path ? qemumig_put(&r->qm, req, r->vm.vm_fd) :
				  vmfind_put(req, &r->vm, r->conn);

	if (r->disk_fd >= 0)
		fits &= vmig_sess_put_disk(req, r->disk_fd, r->disk);
	if (r->tls.insecure)
		fits &= mnl_attr_put_u32_check(req, VMIG_NL_BUFSZ, VMIG_A_SESSION_FLAGS,
					       VMIG_MIGRATE_FLAGS_INSECURE);
	if (!fits) {
		fprintf(stderr, "vmigctl: receive-start: %u vCPUs do not fit one request\n",
			r->vm.nr_vcpus);
		return -1;
	}
	return vmig_sess_start(&r->nl, req, "receive-start", &r->f.id);
}

/*
 * The device the disk is written to, opened exclusively: O_EXCL on a block
 * device fails with EBUSY while it is mounted, part of a device-mapper or
 * md device, or claimed by another exclusive opener, and keeps all of them
 * away until the kernel lets go of it at the end of the session.
 */
static int rcv_open_disk(struct rcv *r)
{
	r->disk_fd = open(r->disk, O_RDWR | O_EXCL | O_CLOEXEC);
	if (r->disk_fd >= 0)
		return 0;
	if (errno == EBUSY)
		fprintf(stderr, "vmigctl: receive: --disk %s is in use (mounted, held by device-mapper or md, or opened exclusively by another process)\n",
			r->disk);
	else
		fprintf(stderr, "vmigctl: receive: --disk %s: %s\n", r->disk,
			strerror(errno));
	return -1;
}

static void rcv_on_update(const struct vmig_sess *s, void *data)
{
	struct rcv *r = data;

	if (vmigctl_json) {
		printf("{\"event\":\"state\",\"id\":%u", r->f.id);
		vmig_sess_json(s);
		printf("}\n");
		fflush(stdout);
	}
}

static void rcv_report(struct rcv *r, const char *result)
{
	uint64_t total = vmig_now_ms() - r->start_ms;
	char dur[16], size[16];

	if (vmigctl_json) {
		printf("{\"event\":\"report\",\"id\":%u,\"result\":\"%s\",\"pid\":%d,\"peer\":",
		       r->f.id, result, (int)r->pid);
		vmig_json_str(r->peer);
		if (r->f.reason[0] && strcmp(result, "done")) {
			printf(",\"reason\":");
			vmig_json_str(r->f.reason);
		}
		printf(",\"total_ms\":%llu", (unsigned long long)total);
		vmig_sess_json(&r->f.last);
		printf("}\n");
	} else if (!strcmp(result, "done")) {
		printf("received the VM from %s into process %d in %s",
		       r->peer, (int)r->pid, vmig_fmt_duration(dur, sizeof(dur), total));
		if (VMIG_SESS_HAS(&r->f.last, VMIG_A_SESSION_RAM_BYTES)) {
			vmig_fmt_short(size, sizeof(size), r->f.last.ram_bytes);
			printf(" (%s of RAM)", size);
		}
		if (r->disk)
			printf(" with its disk (%s) on %s",
			       vmig_fmt_short(size, sizeof(size), r->f.last.disk_bytes),
			       r->disk);
		printf("\n");
	}
	fflush(stdout);
}

/*
 * QEMU: the RAM is here; take QEMU's device state and run the VM. The
 * source learns the outcome from our verdict alone.
 */
static int rcv_qemu_finish(struct rcv *r)
{
	char err[512];

	/*
	 * Test point: the RAM is all here and QEMU has not loaded the device
	 * state yet (which may write guest RAM itself: restoring
	 * MSR_KVM_WALL_CLOCK_NEW makes KVM write the wall clock into it).
	 */
	vmig_test_hold("before-load");
	if (qemumig_load_state(&r->qm, RCV_LOAD_WAIT_MS, err, sizeof(err)))
		goto err_discard;
	qemumig_verdict_send(&r->qm, QEMUMIG_COMMITTED, NULL);
	rcv_report(r, "done");
	return VMIGCTL_OK;

err_discard:
	vmig_follow_reason(&r->f, "%s", err);
	/* Once cont went out the VM may run here: "failed" only when QEMU is gone. */
	if (!r->qm.cont_sent)
		qemumig_verdict_send(&r->qm, QEMUMIG_FAILED, err);
	if (qemumig_discard(&r->qm) && r->qm.cont_sent)
		qemumig_verdict_send(&r->qm, QEMUMIG_FAILED, err);
	if (r->qm.cont_sent && kill(r->qm.vm.pid, 0) == 0) {
		fprintf(stderr, "vmigctl: receive: %s; the destination QEMU may run the VM and could not be stopped: the source stays paused, outcome unknown\n",
			err);
		rcv_report(r, "unknown");
		return VMIGCTL_FAIL;
	}
	fprintf(stderr, "vmigctl: receive failed: %s; the destination QEMU was told to quit, the source resumes the VM\n",
		err);
	rcv_report(r, "failed");
	return VMIGCTL_FAIL;
}

/* QEMU: the VM cannot run here; say so to the source before anything else. */
static void rcv_qemu_fail(struct rcv *r)
{
	if (!r->qmp_path)
		return;
	qemumig_verdict_send(&r->qm, QEMUMIG_FAILED, r->f.reason[0] ? r->f.reason : "receive failed");
	qemumig_discard(&r->qm);
}

static int rcv_final(struct rcv *r)
{
	struct vmig_nl_error e;
	char err[256];

	/* The outcome is read: unlist the session now, not after its linger. */
	vmig_sess_dismiss(&r->nl, r->f.id, &e);

	switch (r->f.last.state) {
	case VMIG_STATE_DONE:
		if (r->qmp_path)
			return rcv_qemu_finish(r);
		/* Done even if we asked to cancel: the source now counts on us. */
		if (r->announce_dev &&
		    vmig_announce(r->announce_dev, r->mac, VMIG_ANNOUNCE_COUNT,
				  err, sizeof(err)))
			fprintf(stderr, "vmigctl: announce: %s\n", err);
		rcv_report(r, "done");
		return VMIGCTL_OK;
	case VMIG_STATE_FAILED:
		vmig_sess_reason(&r->f.last, r->f.reason, sizeof(r->f.reason));
		rcv_qemu_fail(r);
		fprintf(stderr, "vmigctl: receive failed: %s\n", r->f.reason);
		rcv_report(r, "failed");
		return VMIGCTL_FAIL;
	default:
		vmig_follow_reason(&r->f, "cancelled by another request");
		rcv_qemu_fail(r);
		fprintf(stderr, "vmigctl: receive cancelled: %s\n", r->f.reason);
		rcv_report(r, "cancelled");
		return VMIGCTL_FAIL;
	}
}

/*
 * The kernel holds the whole VM and waits for this command to commit:
 * its acknowledgment makes the source give the VM up, so commit only if
 * this command will see it through (exit 0, after which the caller runs
 * the VM). Dying before here, the kernel refuses the switchover instead.
 */
static void rcv_commit(struct rcv *r)
{
	struct vmig_nl_error e;

	vmig_test_hold("before-commit");
	r->commit_sent = true;
	if (vmig_interrupted || r->f.cancel_sent)
		return;
	if (vmig_sess_switchover(&r->nl, r->f.id, &e))
		vmig_follow_reason(&r->f, "commit: %s (%s)", e.msg[0] ? e.msg : "refused",
				   strerror(e.err));
	else
		vmig_test_hold("after-commit");
}

static int rcv_loop(struct rcv *r)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(r->ev.sock), .events = POLLIN };

	for (;;) {
		if (vmig_interrupted)
			vmig_follow_drain(&r->f);
		if (!r->f.have_final && vmig_now_ms() - r->f.last_heard_ms >= RCV_PROBE_MS)
			vmig_follow_probe(&r->f);
		if (r->f.have_final)
			return rcv_final(r);
		if (r->f.last.state == VMIG_STATE_READY && !r->commit_sent) {
			rcv_commit(r);
			continue;
		}
		if (r->f.lost) {
			/* A QEMU has not loaded the device state: it cannot run the VM. */
			rcv_qemu_fail(r);
			fprintf(stderr, "vmigctl: receive: %s: the outcome is unknown; check on the source before running or discarding the VM\n",
				r->f.reason);
			rcv_report(r, "unknown");
			return VMIGCTL_FAIL;
		}
		if (vmig_interrupted) {
			vmig_follow_reason(&r->f, "interrupted");
			vmig_follow_cancel(&r->f, RCV_CANCEL_WAIT_MS);
		}
		if (rcv_timed_out(r)) {
			vmig_follow_reason(&r->f, "not done within %u s", r->timeout_s);
			vmig_follow_cancel(&r->f, RCV_CANCEL_WAIT_MS);
		}
		if (r->f.cancel_sent && vmig_now_ms() >= r->f.cancel_deadline) {
			vmig_follow_drain(&r->f);
			if (!r->f.have_final)
				vmig_follow_probe(&r->f);
			if (r->f.have_final || r->f.lost)
				continue;
			rcv_qemu_fail(r);
			fprintf(stderr, "vmigctl: receive: %s, and session %u did not end\n",
				r->f.reason, r->f.id);
			rcv_report(r, "unknown");
			return VMIGCTL_FAIL;
		}
		if (poll(&pfd, 1, RCV_TICK_MS) > 0)
			vmig_follow_drain(&r->f);
	}
}

static int rcv_parse(struct rcv *r, int argc, char **argv)
{
	enum { O_TIMEOUT = 256, O_MAC, O_DEV, O_DISK, O_QMP, O_FROM };
	static const struct option opts[] = {
		VMIG_TLS_OPTIONS,
		{ "from", required_argument, NULL, O_FROM },
		{ "pid", required_argument, NULL, 'p' },
		{ "qmp", required_argument, NULL, O_QMP },
		{ "listen", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "announce-mac", required_argument, NULL, O_MAC },
		{ "announce-dev", required_argument, NULL, O_DEV },
		{ "disk", required_argument, NULL, O_DISK },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *mac = NULL;
	char err[256];
	bool listen = false;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		const char *bad = NULL;

		switch (c) {
		case 'p':
			if (vmig_parse_pid(optarg, &r->pid))
				bad = "--pid wants a process id";
			break;
		case 'l':
			listen = true;
			if (vmig_split_hostport(optarg, false, r->host, sizeof(r->host),
						r->port, sizeof(r->port)))
				bad = "--listen wants [ADDR:]PORT ([ADDR]:PORT for IPv6)";
			break;
		case O_TIMEOUT:
			if (vmig_parse_u32(optarg, &r->timeout_s) || !r->timeout_s)
				bad = "--timeout wants seconds, at least 1";
			break;
		case O_MAC:
			mac = optarg;
			if (vmig_parse_mac(optarg, r->mac))
				bad = "--announce-mac wants a MAC address like 52:54:00:12:34:56";
			break;
		case O_DEV:
			r->announce_dev = optarg;
			break;
		case O_DISK:
			r->disk = optarg;
			if (!*optarg || strlen(optarg) > 255)
				bad = "--disk wants a block device path of at most 255 bytes";
			break;
		case O_QMP:
			r->qmp_path = optarg;
			break;
		case O_FROM:
			r->tls_args.from = optarg;
			break;
		default:
			if (vmig_tls_opt(&r->tls_args, c, optarg))
				break;
			return vmig_opt_usage("receive", c, argv, usage);
		}
		if (bad) {
			fprintf(stderr, "vmigctl: receive: %s\n", bad);
			return VMIGCTL_USAGE;
		}
	}
	if (optind != argc || !r->pid == !r->qmp_path || !listen) {
		if (optind != argc)
			fprintf(stderr, "vmigctl: receive: unexpected '%s'\n", argv[optind]);
		else
			fprintf(stderr, "vmigctl: receive: --listen and one of --pid or --qmp are required\n");
		usage();
		return VMIGCTL_USAGE;
	}
	if (!mac != !r->announce_dev) {
		fprintf(stderr, "vmigctl: receive: --announce-mac and --announce-dev go together\n");
		return VMIGCTL_USAGE;
	}
	if (vmig_tls_init(&r->tls, &r->tls_args, NULL, err, sizeof(err))) {
		fprintf(stderr, "vmigctl: receive: %s\n", err);
		return VMIGCTL_USAGE;
	}
	return VMIGCTL_OK;
}

int receive_main(int argc, char **argv)
{
	struct rcv r;
	int ret;

	memset(&r, 0, sizeof(r));
	r.lfd = -1;
	r.conn = -1;
	r.disk_fd = -1;
	r.f.nl = &r.nl;
	r.f.ev = &r.ev;
	r.f.on_update = rcv_on_update;
	r.f.data = &r;
	ret = rcv_parse(&r, argc, argv);
	if (ret)
		return ret;
	if (r.announce_dev && !if_nametoindex(r.announce_dev)) {
		fprintf(stderr, "vmigctl: --announce-dev %s: %s\n", r.announce_dev,
			strerror(errno));
		return VMIGCTL_FAIL;
	}
	r.start_ms = vmig_now_ms();
	if (r.disk && rcv_open_disk(&r))
		return VMIGCTL_FAIL;
	ret = VMIGCTL_FAIL;
	if (r.qmp_path) {
		if (qemumig_open(&r.qm, r.qmp_path, QEMU_VM_DEST))
			goto out;
		r.qm.tls = &r.tls;	/* qemumig_open() starts from zero */
		r.pid = r.qm.vm.pid;
	}
	if (vmfind_open(r.pid, &r.vm))
		goto out;
	ret = vmig_nl_open(&r.nl);
	if (!ret)
		ret = vmig_events_open(&r.ev);
	if (ret) {
		fprintf(stderr, "vmigctl: vmig family: %s%s\n", strerror(ret),
			ret == ENOENT ? " (is vmig.ko loaded?)" : "");
		ret = VMIGCTL_FAIL;
		goto out;
	}
	ret = VMIGCTL_FAIL;
	vmig_signals_install();
	if (rcv_listen(&r) || rcv_accept_all(&r) || receive_start(&r)) {
		rcv_qemu_fail(&r);
		goto out;
	}
	r.f.last_heard_ms = vmig_now_ms();
	vmfind_close_kvm(&r.vm);
	if (r.qmp_path) {
		close(r.qm.conn[QEMUMIG_RAM]);
		r.qm.conn[QEMUMIG_RAM] = -1;
	} else {
		close(r.conn);
		r.conn = -1;
	}
	/* The kernel holds the device, and so its exclusive claim, now. */
	if (r.disk_fd >= 0)
		close(r.disk_fd);
	r.disk_fd = -1;
	if (vmigctl_json) {
		printf("{\"event\":\"start\",\"id\":%u,\"pid\":%d,\"peer\":", r.f.id,
		       (int)r.pid);
		vmig_json_str(r.peer);
		if (r.disk) {
			printf(",\"disk\":");
			vmig_json_str(r.disk);
		}
		printf("}\n");
		fflush(stdout);
	}
	ret = rcv_loop(&r);
out:
	if (r.lfd >= 0)
		close(r.lfd);
	if (r.conn >= 0)
		close(r.conn);
	if (r.disk_fd >= 0)
		close(r.disk_fd);
	vmig_nl_close(&r.ev);
	vmig_nl_close(&r.nl);
	vmfind_close(&r.vm);
	if (r.qmp_path)
		qemumig_close(&r.qm);
	return ret;
}
