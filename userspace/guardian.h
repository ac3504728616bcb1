/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a killed `vmigctl migrate --qmp` or `--disk` leaves behind, undone. The kernel
 * cancels the session of a controller that died and resumes what was
 * SIGSTOPped (stop-pid), but a QEMU is paused over QMP, which only a QMP
 * client can undo. So vmigctl forks a guardian first, before it opens
 * anything: a small process in a session of its own that holds nothing
 * but a pipe, is told the session id and the phase as they change, and
 * when the pipe closes without "disarm" (vmigctl died) waits for the
 * kernel session to end and resumes the source QEMU (QMP cont) unless the
 * destination may run the VM, which it can only once QEMU's device state
 * went out (phase STATE_SENT). With --disk it also loads the disk's own
 * table again over a vmig-track table its controller left live, once the
 * session has ended (or never began). A vmigctl that lives to its end
 * disarms it; the guardian itself can be killed only on purpose (it
 * ignores SIGHUP, SIGINT, SIGTERM and SIGPIPE).
 */
#ifndef VMIGCTL_GUARDIAN_H
#define VMIGCTL_GUARDIAN_H

#include <stdint.h>
#include <sys/types.h>

/* How long a guardian waits for the kernel session to end. */
#define VMIG_GUARDIAN_WAIT_MS	120000

enum vmig_guardian_phase {
	VMIG_GUARDIAN_RUNNING,		/* QEMU not paused by us */
	VMIG_GUARDIAN_PAUSED,		/* QMP stop sent (or about to be) */
	VMIG_GUARDIAN_STATE_SENT,	/* QEMU's device state went out */
};

struct vmig_guardian {
	int fd;		/* the pipe's write end; -1 without a guardian */
	pid_t pid;
};

int vmig_guardian_start(struct vmig_guardian *g, const char *qmp_path);
void vmig_guardian_session(struct vmig_guardian *g, uint32_t id);
void vmig_guardian_phase(struct vmig_guardian *g, enum vmig_guardian_phase p);
void vmig_guardian_disk(struct vmig_guardian *g, const char *dm, const char *table);
void vmig_guardian_disarm(struct vmig_guardian *g);

#endif
