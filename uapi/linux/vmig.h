/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause) */
/* Do not edit directly, auto-generated from: */
/*	Documentation/netlink/specs/vmig.yaml */
/* YNL-GEN uapi header */

#ifndef _UAPI_LINUX_VMIG_H
#define _UAPI_LINUX_VMIG_H

#define VMIG_FAMILY_NAME	"vmig"
#define VMIG_FAMILY_VERSION	1

#define VMIG_API_VERSION	2
#define VMIG_LINGER_S		3600
#define VMIG_MAX_STOP_PIDS	16
#define VMIG_COMMIT_TIMEOUT_S	30

/**
 * enum vmig_feature - Capabilities of the loaded module.
 * @VMIG_FEATURE_DIRTY_LOG: Dirty page tracking through KVM's memory slot dirty
 *   log.
 * @VMIG_FEATURE_ZEROCOPY: Guest pages are sent by reference (sendpage /
 *   MSG_SPLICE_PAGES).
 * @VMIG_FEATURE_STORAGE_MOVE: Local live disk moves (storage-move-start, the
 *   vmig-track target).
 * @VMIG_FEATURE_DISK_MIGRATE: Migrations carry a VM disk (disk-fd in
 *   migrate-start, receive-start).
 */
enum vmig_feature {
	VMIG_FEATURE_DIRTY_LOG = 1,
	VMIG_FEATURE_ZEROCOPY = 2,
	VMIG_FEATURE_STORAGE_MOVE = 4,
	VMIG_FEATURE_DISK_MIGRATE = 8,
};

/**
 * enum vmig_migrate_flags - Options of a migration; unknown bits are refused.
 * @VMIG_MIGRATE_FLAGS_NO_ZEROCOPY: Copy guest pages into the socket instead of
 *   sending them by reference.
 * @VMIG_MIGRATE_FLAGS_NO_ZERO_DETECT: Send all-zero pages in full instead of
 *   as markers.
 * @VMIG_MIGRATE_FLAGS_INSECURE: Accept a sock-fd that is not under kTLS in
 *   both directions (plain TCP). Without it such a socket is refused: guest
 *   memory and the VM's disk never cross the network unauthenticated unless
 *   the caller said so (vmigctl --insecure).
 */
enum vmig_migrate_flags {
	VMIG_MIGRATE_FLAGS_NO_ZEROCOPY = 1,
	VMIG_MIGRATE_FLAGS_NO_ZERO_DETECT = 2,
	VMIG_MIGRATE_FLAGS_INSECURE = 4,
};

/**
 * enum vmig_role - Which end of a migration a session is; storage sessions
 *   move a local block device (storage-move-start).
 */
enum vmig_role {
	VMIG_ROLE_SOURCE,
	VMIG_ROLE_DESTINATION,
	VMIG_ROLE_STORAGE,
};

/**
 * enum vmig_state - Life cycle of a session; done, failed, cancelled and
 *   unknown are final. A destination holding the whole VM is ready until its
 *   controller commits (switchover). A source that sent the end of the VM
 *   state and heard no answer ends unknown: the destination may run the VM, so
 *   the source must stay stopped.
 */
enum vmig_state {
	VMIG_STATE_NEW,
	VMIG_STATE_PRECOPY,
	VMIG_STATE_SWITCHOVER,
	VMIG_STATE_DONE,
	VMIG_STATE_FAILED,
	VMIG_STATE_CANCELLED,
	VMIG_STATE_READY,
	VMIG_STATE_UNKNOWN,
};

/**
 * enum vmig_storage_flags - Options of a storage move; unknown bits are
 *   refused.
 * @VMIG_STORAGE_FLAGS_SYNC_WRITES: Mirror each guest write to a region already
 *   copied synchronously to the destination as well, so the copy converges
 *   however fast the guest writes (writes then complete at the slower device's
 *   pace).
 */
enum vmig_storage_flags {
	VMIG_STORAGE_FLAGS_SYNC_WRITES = 1,
};

enum {
	VMIG_A_INFO_API_VERSION = 1,
	VMIG_A_INFO_FEATURES,
	VMIG_A_INFO_RELEASE,

	__VMIG_A_INFO_MAX,
	VMIG_A_INFO_MAX = (__VMIG_A_INFO_MAX - 1)
};

enum {
	VMIG_A_SESSION_ID = 1,
	VMIG_A_SESSION_ROLE,
	VMIG_A_SESSION_STATE,
	VMIG_A_SESSION_VMM_PID,
	VMIG_A_SESSION_ERROR,
	VMIG_A_SESSION_ERROR_MSG,
	VMIG_A_SESSION_VM_FD,
	VMIG_A_SESSION_VCPU_FD,
	VMIG_A_SESSION_SOCK_FD,
	VMIG_A_SESSION_FLAGS,
	VMIG_A_SESSION_MAX_BANDWIDTH,
	VMIG_A_SESSION_MSR_INDEX,
	VMIG_A_SESSION_DURATION_MS,
	VMIG_A_SESSION_ITERATION,
	VMIG_A_SESSION_RAM_BYTES,
	VMIG_A_SESSION_SENT_BYTES,
	VMIG_A_SESSION_SENT_PAGES,
	VMIG_A_SESSION_ZERO_PAGES,
	VMIG_A_SESSION_DIRTY_PAGES,
	VMIG_A_SESSION_DIRTY_RATE,
	VMIG_A_SESSION_BANDWIDTH,
	VMIG_A_SESSION_DOWNTIME_US,
	VMIG_A_SESSION_ELAPSED_MS,
	VMIG_A_SESSION_STORAGE_DEV,
	VMIG_A_SESSION_STORAGE_DEST,
	VMIG_A_SESSION_GRANULARITY,
	VMIG_A_SESSION_DOWNTIME_MS,
	VMIG_A_SESSION_MAX_ITERATIONS,
	VMIG_A_SESSION_STORAGE_FLAGS,
	VMIG_A_SESSION_DISK_FD,
	VMIG_A_SESSION_DISK_NAME,
	VMIG_A_SESSION_DISK_BYTES,
	VMIG_A_SESSION_DISK_SENT_BYTES,
	VMIG_A_SESSION_DISK_DIRTY_BYTES,
	VMIG_A_SESSION_RAM_HVA,
	VMIG_A_SESSION_RAM_SIZE,
	VMIG_A_SESSION_STOP_PID,
	VMIG_A_SESSION_CONTROLLER_GONE,
	VMIG_A_SESSION_THROTTLE_FD,
	VMIG_A_SESSION_THROTTLE_RESTORE,

	__VMIG_A_SESSION_MAX,
	VMIG_A_SESSION_MAX = (__VMIG_A_SESSION_MAX - 1)
};

enum {
	VMIG_CMD_INFO_GET = 1,
	VMIG_CMD_SESSION_GET,
	VMIG_CMD_MIGRATE_START,
	VMIG_CMD_RECEIVE_START,
	VMIG_CMD_SWITCHOVER,
	VMIG_CMD_DIRTY_RATE_GET,
	VMIG_CMD_SESSION_DEL,
	VMIG_CMD_SESSION_NTF,
	VMIG_CMD_STORAGE_MOVE_START,

	__VMIG_CMD_MAX,
	VMIG_CMD_MAX = (__VMIG_CMD_MAX - 1)
};

#define VMIG_MCGRP_EVENTS	"events"

#endif /* _UAPI_LINUX_VMIG_H */
