/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Migrating a QEMU VMM (migrate --qmp, receive --qmp): vmig carries the
 * RAM backend, QEMU its vCPU and device state over a connection of its
 * own, and the two vmigctl agree on the commit over a control connection.
 *
 * All three connections go to the one port the destination listens on;
 * each opens with a 16-byte tag naming its role, so their order of arrival
 * does not matter and a connection that names none is closed unheard.
 *
 * The commit: the destination's verdict on the control connection.
 * "committed" is sent only after the destination QEMU loaded the device
 * state and runs the VM; "failed" only while the destination VM cannot
 * run: before cont was sent (its QEMU is stopped, so loading does not
 * start the VM by itself), or once its QEMU is gone. The source resumes
 * on "failed" alone: without a verdict it stays paused and says the
 * outcome is unknown.
 */
#ifndef VMIGCTL_QEMUMIG_H
#define VMIGCTL_QEMUMIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>

#include "qemuvm.h"
#include "qmp.h"

enum qemumig_conn {
	QEMUMIG_CTL,		/* the vmigctl pair's verdict */
	QEMUMIG_RAM,		/* vmig.ko's stream */
	QEMUMIG_DEV,		/* QEMU's own migration stream */
	__QEMUMIG_NR,
};

enum qemumig_verdict {
	QEMUMIG_UNKNOWN = -1,	/* no verdict: the source stays paused */
	QEMUMIG_FAILED = 0,	/* the destination cannot run the VM */
	QEMUMIG_COMMITTED = 1,	/* the VM runs on the destination */
};

struct qemumig {
	enum qemu_vm_role role;
	struct qmp *qmp;
	struct qemu_vm vm;
	int conn[__QEMUMIG_NR];
	bool paused;		/* we paused (or tried to pause) the source QEMU */
	bool ignore_shared;	/* we turned x-ignore-shared on */
	bool cont_sent;		/* destination: cont went out; it may run the VM */
	uint64_t pause_ms;	/* when the source was paused */
	const struct vmig_tls *tls;	/* what every accepted connection must pass */
};

int qemumig_open(struct qemumig *qm, const char *qmp_path,
		 enum qemu_vm_role role);
void qemumig_close(struct qemumig *qm);
bool qemumig_put(const struct qemumig *qm, struct nlmsghdr *req, int vm_fd);
int qemumig_tag(struct qemumig *qm, enum qemumig_conn which, int fd);
int qemumig_accept(struct qemumig *qm, int lfd, unsigned int want,
		   uint64_t deadline_ms, char *peer, size_t peerlen);

int qemumig_pause(struct qemumig *qm, char *err, size_t len);
int qemumig_resume(struct qemumig *qm, char *err, size_t len);
int qemumig_send_state(struct qemumig *qm, char *err, size_t len);
enum qemumig_verdict qemumig_verdict_wait(struct qemumig *qm, int timeout_ms,
					  char *why, size_t len);
void qemumig_source_restore(struct qemumig *qm);
void qemumig_drop_ignore_shared(struct qemumig *qm);

int qemumig_load_state(struct qemumig *qm, int timeout_ms, char *err, size_t len);
void qemumig_verdict_send(struct qemumig *qm, enum qemumig_verdict v,
			  const char *why);
bool qemumig_discard(struct qemumig *qm);

#endif
