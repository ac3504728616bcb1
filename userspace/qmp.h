/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A QMP client: vmigctl talks to the QEMU that runs the VM through its
 * monitor socket (-qmp unix:PATH,server=on,wait=off) to stop, resume and
 * query it and to start QEMU's own device-state migration on an fd.
 *
 * Contract shared by every call:
 *  - one request at a time; every exchange has a deadline;
 *  - events that arrive while a reply is awaited are queued, never lost
 *    (up to QMP_EVENTS_MAX, the oldest dropped first);
 *  - errors are negative errno: -EREMOTEIO QEMU answered an error (err
 *    holds "CMD: QEMU's desc"), -ETIMEDOUT, -ECONNRESET QEMU closed the
 *    socket (it exited), -EPROTO it sent something that is not QMP,
 *    -EINTR a signal came (the caller checks its flag), -EPIPE a request
 *    was cut short earlier (timeout, signal): the connection is out of
 *    step, reconnect;
 *  - err/errlen may be NULL/0; when set it gets one sentence.
 *
 * QEMU serves one QMP client per monitor socket: a second client connects
 * but never gets a greeting. Written against QEMU 7.2 (Debian 12); the
 * protocol itself is unchanged in 8.x-10.x.
 */
#ifndef VMIGCTL_QMP_H
#define VMIGCTL_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#define QMP_EVENTS_MAX	1024

struct qmp;

struct qmp *qmp_open(const char *path, int timeout_ms, char *err,
		     size_t errlen);
void qmp_close(struct qmp *q);
pid_t qmp_peer_pid(const struct qmp *q);
int qmp_fd(const struct qmp *q);
void qmp_version(const struct qmp *q, int *major, int *minor);
int qmp_timeout_ms(const struct qmp *q);
void qmp_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int qmp_exec(struct qmp *q, const char *cmd, json_t *args, json_t **ret,
	     int timeout_ms, char *err, size_t errlen);
int qmp_exec_fd(struct qmp *q, const char *cmd, json_t *args, json_t **ret,
		int timeout_ms, char *err, size_t errlen, int fd);

int qmp_event_wait(struct qmp *q, const char *name, json_t **data,
		   int timeout_ms);
int qmp_pump(struct qmp *q, int timeout_ms);
json_t *qmp_event_pop(struct qmp *q, const char *name);

/* The calls the migration flow makes; each uses qmp_open()'s timeout. */
int qmp_status(struct qmp *q, char *status, size_t len, bool *running,
	       char *err, size_t errlen);
int qmp_stop(struct qmp *q, char *err, size_t errlen);
int qmp_cont(struct qmp *q, char *err, size_t errlen);
int qmp_quit(struct qmp *q, char *err, size_t errlen);
int qmp_set_caps(struct qmp *q, const char *const names[],
		 const bool values[], size_t n, char *err, size_t errlen);
int qmp_migrate_fd(struct qmp *q, int fd, const char *name, char *err,
		   size_t errlen);
int qmp_incoming_fd(struct qmp *q, int fd, const char *name, char *err,
		    size_t errlen);
int qmp_migrate_status(struct qmp *q, char *status, size_t len, char *err,
		       size_t errlen);
int qmp_wait_migration(struct qmp *q, int timeout_ms, char *status,
		       size_t len, char *err, size_t errlen);

#endif
