// SPDX-License-Identifier: GPL-2.0
/*
 * The vmig generic netlink family as a user sees it: it resolves, answers,
 * refuses what it must with errno and an extack message naming the reason.
 * Needs vmig.ko loaded (the VM runner loads it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "loopback.h"
#include "userspace/nl.h"
#include "uapi/linux/vmig.h"

FIXTURE(nl) {
	struct vmig_nl nl;
	struct vmig_nl_error e;
};

FIXTURE_SETUP(nl)
{
	ASSERT_EQ(0, vmig_nl_open(&self->nl)) TH_LOG("vmig family did not resolve");
}

FIXTURE_TEARDOWN(nl)
{
	vmig_nl_close(&self->nl);
}

struct info {
	uint32_t api_version, features;
	char release[64];
};

static int info_attr(const struct nlattr *a, void *data)
{
	struct info *i = data;

	if (mnl_attr_get_type(a) == VMIG_A_INFO_API_VERSION)
		i->api_version = mnl_attr_get_u32(a);
	if (mnl_attr_get_type(a) == VMIG_A_INFO_FEATURES)
		i->features = mnl_attr_get_u32(a);
	if (mnl_attr_get_type(a) == VMIG_A_INFO_RELEASE)
		snprintf(i->release, sizeof(i->release), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

static int info_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, GENL_HDRLEN, info_attr, data);
}

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	(void)nlh;
	(*(int *)data)++;
	return MNL_CB_OK;
}

TEST_F(nl, version_answers)
{
	struct info i = { 0 };
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_INFO_GET, 0);

	ASSERT_EQ(0, vmig_nl_talk(&self->nl, req, info_cb, &i, &self->e));
	EXPECT_EQ(VMIG_API_VERSION, i.api_version);
	EXPECT_TRUE(i.features & VMIG_FEATURE_DIRTY_LOG);
	EXPECT_EQ(0, (int)(i.features & ~(VMIG_FEATURE_DIRTY_LOG | VMIG_FEATURE_ZEROCOPY |
					  VMIG_FEATURE_STORAGE_MOVE |
					  VMIG_FEATURE_DISK_MIGRATE)));
	EXPECT_NE(0, (int)strlen(i.release));
}

TEST_F(nl, newer_api_version_is_refused)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_INFO_GET, 0);

	mnl_attr_put_u32(req, VMIG_A_INFO_API_VERSION, VMIG_API_VERSION + 1);
	EXPECT_EQ(EPROTONOSUPPORT, vmig_nl_talk(&self->nl, req, NULL, NULL, &self->e));
	EXPECT_STREQ("vmig: caller speaks a newer vmig API than this module", self->e.msg);
	EXPECT_NE(0, self->e.bad_attr_offs);
}

TEST_F(nl, session_dump_is_empty)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_SESSION_GET, NLM_F_DUMP);
	int n = 0;

	ASSERT_EQ(0, vmig_nl_talk(&self->nl, req, count_cb, &n, &self->e));
	EXPECT_EQ(0, n);
}

TEST_F(nl, unknown_session_is_enoent)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_SESSION_GET, 0);

	mnl_attr_put_u32(req, VMIG_A_SESSION_ID, 4242);
	EXPECT_EQ(ENOENT, vmig_nl_talk(&self->nl, req, NULL, NULL, &self->e));
	EXPECT_STREQ("vmig: no such session", self->e.msg);
	EXPECT_NE(0, self->e.bad_attr_offs);
}

TEST_F(nl, missing_id_is_named)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_SESSION_DEL, 0);

	EXPECT_EQ(EINVAL, vmig_nl_talk(&self->nl, req, NULL, NULL, &self->e));
	EXPECT_STREQ("vmig: session id is required", self->e.msg);
}

TEST_F(nl, malformed_attribute_is_rejected)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_SESSION_GET, 0);

	/* A u32 attribute carrying two bytes. */
	mnl_attr_put_u16(req, VMIG_A_SESSION_ID, 1);
	EXPECT_EQ(EINVAL, vmig_nl_talk(&self->nl, req, NULL, NULL, &self->e));
	EXPECT_NE(0, (int)strlen(self->e.msg)) TH_LOG("no extack message");
	EXPECT_NE(0, self->e.bad_attr_offs);
}

TEST_F(nl, out_of_range_attribute_is_rejected)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_SESSION_GET, 0);

	mnl_attr_put_u32(req, VMIG_A_SESSION_ID, 0);
	EXPECT_EQ(ERANGE, vmig_nl_talk(&self->nl, req, NULL, NULL, &self->e));
	EXPECT_NE(0, (int)strlen(self->e.msg)) TH_LOG("no extack message");
	EXPECT_NE(0, self->e.bad_attr_offs);
}

TEST_F(nl, unknown_attribute_is_rejected)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_SESSION_GET, 0);

	mnl_attr_put_u32(req, VMIG_A_SESSION_ID, 1);
	mnl_attr_put_u32(req, VMIG_A_SESSION_MAX + 7, 1);
	EXPECT_EQ(EINVAL, vmig_nl_talk(&self->nl, req, NULL, NULL, &self->e));
	EXPECT_STREQ("Unknown attribute type", self->e.msg);
	EXPECT_NE(0, self->e.bad_attr_offs);
}

TEST_F(nl, unknown_command_is_rejected)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_MAX + 1, 0);

	EXPECT_EQ(EOPNOTSUPP, vmig_nl_talk(&self->nl, req, NULL, NULL, &self->e));
}

/* storage-move-start refuses before anything changes, naming the reason. */
TEST_F(nl, storage_move_needs_a_device)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_STORAGE_MOVE_START, 0);

	mnl_attr_put_strz(req, VMIG_A_SESSION_STORAGE_DEST, "/dev/null");
	EXPECT_EQ(EINVAL, vmig_nl_talk(&self->nl, req, NULL, NULL, &self->e));
	EXPECT_STREQ("vmig: storage-dev is required", self->e.msg);
}

TEST_F(nl, storage_move_unknown_flag_is_refused)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_STORAGE_MOVE_START, 0);

	mnl_attr_put_strz(req, VMIG_A_SESSION_STORAGE_DEV, "/dev/null");
	mnl_attr_put_strz(req, VMIG_A_SESSION_STORAGE_DEST, "/dev/null");
	mnl_attr_put_u32(req, VMIG_A_SESSION_STORAGE_FLAGS, 0x80);
	EXPECT_EQ(EINVAL, vmig_nl_talk(&self->nl, req, NULL, NULL, &self->e));
	EXPECT_NE(0, (int)strlen(self->e.msg)) TH_LOG("no extack message");
	EXPECT_NE(0, self->e.bad_attr_offs);
}

TEST_F(nl, storage_move_granularity_must_be_a_power_of_two)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_STORAGE_MOVE_START, 0);

	mnl_attr_put_strz(req, VMIG_A_SESSION_STORAGE_DEV, "/dev/null");
	mnl_attr_put_strz(req, VMIG_A_SESSION_STORAGE_DEST, "/dev/null");
	mnl_attr_put_u32(req, VMIG_A_SESSION_GRANULARITY, 12288);
	EXPECT_EQ(EINVAL, vmig_nl_talk(&self->nl, req, NULL, NULL, &self->e));
	EXPECT_STREQ("vmig: granularity must be a power of two up to 1 GiB", self->e.msg);
	EXPECT_NE(0, self->e.bad_attr_offs);
}

TEST_F(nl, storage_move_missing_device_is_named)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_STORAGE_MOVE_START, 0);

	mnl_attr_put_strz(req, VMIG_A_SESSION_STORAGE_DEV, "/nonexistent/vmdisk");
	mnl_attr_put_strz(req, VMIG_A_SESSION_STORAGE_DEST, "/dev/null");
	EXPECT_EQ(ENOENT, vmig_nl_talk(&self->nl, req, NULL, NULL, &self->e));
	EXPECT_STREQ("vmig: device does not exist", self->e.msg);
	EXPECT_NE(0, self->e.bad_attr_offs);
}

TEST_F(nl, storage_move_of_a_non_block_device_is_refused)
{
	struct nlmsghdr *req = vmig_nl_msg(&self->nl, VMIG_CMD_STORAGE_MOVE_START, 0);

	mnl_attr_put_strz(req, VMIG_A_SESSION_STORAGE_DEV, "/dev/null");
	mnl_attr_put_strz(req, VMIG_A_SESSION_STORAGE_DEST, "/dev/null");
	EXPECT_EQ(ENOTBLK, vmig_nl_talk(&self->nl, req, NULL, NULL, &self->e));
	EXPECT_STREQ("vmig: device is not a block device", self->e.msg);
	EXPECT_NE(0, self->e.bad_attr_offs);
}

/*
 * migrate-start with a RAM backend (ram-hva): a KVM VM of our own, a
 * connected TCP socket, and memory mapped in various ways, each refused
 * with its reason before a session runs.
 */
FIXTURE(ram) {
	struct vmig_nl nl;
	struct vmig_nl_error e;
	int vm, sock, peer;
	size_t len;
	void *anon, *shm, *disk;
	char ramfs[64];
};

FIXTURE_SETUP(ram)
{
	int kvm, fd;

	ASSERT_EQ(0, vmig_nl_open(&self->nl));
	kvm = open("/dev/kvm", O_RDWR);
	ASSERT_LE(0, kvm) TH_LOG("no /dev/kvm");
	self->vm = ioctl(kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vm);
	close(kvm);
	ASSERT_EQ(0, tcp_pair(&self->sock, &self->peer));
	self->len = 1 << 20;
	self->anon = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* The tmpfs file, followed by inaccessible private memory. */
	self->shm = mmap(NULL, 2 * self->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->shm);
	fd = open("/dev/shm/vmig-nltest", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_EQ(0, ftruncate(fd, self->len));
	self->shm = mmap(self->shm, self->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			 fd, 0);
	close(fd);
	/* Not tmpfs: a filesystem of its own (the VM's / is an overlay on tmpfs). */
	strcpy(self->ramfs, "/tmp/vmig-ramfs-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->ramfs));
	ASSERT_EQ(0, mount("ramfs", self->ramfs, "ramfs", 0, NULL));
	ASSERT_LE(0, chdir(self->ramfs));
	fd = open("vmig-nltest", O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_EQ(0, chdir("/"));
	ASSERT_EQ(0, ftruncate(fd, self->len));
	self->disk = mmap(NULL, self->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, self->anon);
	ASSERT_NE(MAP_FAILED, self->shm);
	ASSERT_NE(MAP_FAILED, self->disk);
}

FIXTURE_TEARDOWN(ram)
{
	munmap(self->anon, self->len);
	munmap(self->shm, 2 * self->len);
	munmap(self->disk, self->len);
	unlink("/dev/shm/vmig-nltest");
	umount2(self->ramfs, MNT_DETACH);
	rmdir(self->ramfs);
	close(self->peer);
	close(self->sock);
	close(self->vm);
	vmig_nl_close(&self->nl);
}

/* migrate-start of our VM over our socket with ram-hva/-size as given. */
static int ram_start_flags(struct vmig_nl *nl, struct vmig_nl_error *e, int vm,
			   int sock, const void *hva, uint64_t size, bool with_size,
			   bool insecure)
{
	struct nlmsghdr *req = vmig_nl_msg(nl, VMIG_CMD_MIGRATE_START, 0);

	mnl_attr_put_u32(req, VMIG_A_SESSION_VM_FD, vm);
	mnl_attr_put_u32(req, VMIG_A_SESSION_SOCK_FD, sock);
	/* A socketpair-like loopback pair: plain TCP, so said so. */
	if (insecure)
		mnl_attr_put_u32(req, VMIG_A_SESSION_FLAGS, VMIG_MIGRATE_FLAGS_INSECURE);
	mnl_attr_put_u64(req, VMIG_A_SESSION_RAM_HVA, (uintptr_t)hva);
	if (with_size)
		mnl_attr_put_u64(req, VMIG_A_SESSION_RAM_SIZE, size);
	return vmig_nl_talk(nl, req, NULL, NULL, e);
}

static int ram_start(struct vmig_nl *nl, struct vmig_nl_error *e, int vm,
		     int sock, const void *hva, uint64_t size, bool with_size)
{
	return ram_start_flags(nl, e, vm, sock, hva, size, with_size, true);
}

/* Secure by default: a plain TCP socket carries no VM unless told so. */
TEST_F(ram, plain_tcp_without_insecure_is_refused)
{
	EXPECT_EQ(EKEYREJECTED, ram_start_flags(&self->nl, &self->e, self->vm, self->sock,
						self->shm, self->len, true, false));
	EXPECT_STREQ("vmig: sock-fd is not under kTLS; only the insecure flag lets plain TCP carry a VM",
		     self->e.msg);
}

TEST_F(ram, hva_without_size_is_refused)
{
	EXPECT_EQ(EINVAL, ram_start(&self->nl, &self->e, self->vm, self->sock,
				    self->shm, 0, false));
	EXPECT_STREQ("vmig: ram-hva and ram-size go together", self->e.msg);
}

TEST_F(ram, unaligned_backend_is_refused)
{
	EXPECT_EQ(EINVAL, ram_start(&self->nl, &self->e, self->vm, self->sock,
				    (char *)self->shm + 1, self->len - 4096, true));
	EXPECT_STREQ("vmig: ram-hva and ram-size must be page aligned, non-empty and at most 8 TiB",
		     self->e.msg);
}

TEST_F(ram, anonymous_memory_is_refused)
{
	EXPECT_EQ(EINVAL, ram_start(&self->nl, &self->e, self->vm, self->sock,
				    self->anon, self->len, true));
	EXPECT_STREQ("vmig: guest RAM is not a shared file mapping (QEMU: memory-backend-file with share=on)",
		     self->e.msg);
}

TEST_F(ram, file_outside_tmpfs_is_refused)
{
	EXPECT_EQ(EOPNOTSUPP, ram_start(&self->nl, &self->e, self->vm, self->sock,
					self->disk, self->len, true));
	EXPECT_STREQ("vmig: guest RAM must be a file on tmpfs (e.g. /dev/shm): writeback of a disk file hides writes",
		     self->e.msg);
}

TEST_F(ram, backend_running_into_other_memory_is_refused)
{
	EXPECT_EQ(EINVAL, ram_start(&self->nl, &self->e, self->vm, self->sock,
				    self->shm, self->len * 2, true));
	EXPECT_STREQ("vmig: guest RAM is not a shared file mapping (QEMU: memory-backend-file with share=on)",
		     self->e.msg);
}

TEST_F(ram, unmapped_backend_is_refused)
{
	EXPECT_EQ(EFAULT, ram_start(&self->nl, &self->e, self->vm, self->sock,
				    (void *)4096, self->len, true));
	EXPECT_STREQ("vmig: ram-hva..ram-size is not mapped in the VMM", self->e.msg);
}

/* The id in a migrate-start answer. */
static int id_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == VMIG_A_SESSION_ID)
		*(uint32_t *)data = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int id_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, GENL_HDRLEN, id_attr, data);
}

struct state_of {
	uint32_t id, state;
};

static int state_attr(const struct nlattr *a, void *data)
{
	struct state_of *st = data;

	if (mnl_attr_get_type(a) == VMIG_A_SESSION_STATE)
		st->state = mnl_attr_get_u32(a);
	return MNL_CB_OK;
}

static int state_cb(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, GENL_HDRLEN, state_attr, data);
}

/* Cancel session @id, wait for it to end, dismiss it. Return: 0 or -1. */
static int end_session(struct vmig_nl *nl, uint32_t id)
{
	struct vmig_nl_error e;
	struct nlmsghdr *req;
	struct state_of st = { 0 };
	int i;

	req = vmig_nl_msg(nl, VMIG_CMD_SESSION_DEL, 0);
	mnl_attr_put_u32(req, VMIG_A_SESSION_ID, id);
	if (vmig_nl_talk(nl, req, NULL, NULL, &e))
		goto err;
	for (i = 0; i < 1000; i++) {
		st.state = VMIG_STATE_NEW;
		req = vmig_nl_msg(nl, VMIG_CMD_SESSION_GET, 0);
		mnl_attr_put_u32(req, VMIG_A_SESSION_ID, id);
		if (vmig_nl_talk(nl, req, state_cb, &st, &e))
			/* Already ended: the first session-del dismissed it. */
			return e.err == ENOENT ? 0 : -1;
		if (st.state == VMIG_STATE_DONE || st.state == VMIG_STATE_FAILED ||
		    st.state == VMIG_STATE_CANCELLED || st.state == VMIG_STATE_UNKNOWN)
			break;
		usleep(10000);
	}
	/* Ended, its worker maybe still tidying up: EALREADY asks to retry. */
	for (i = 0; i < 1000; i++) {
		req = vmig_nl_msg(nl, VMIG_CMD_SESSION_DEL, 0);
		mnl_attr_put_u32(req, VMIG_A_SESSION_ID, id);
		if (!vmig_nl_talk(nl, req, NULL, NULL, &e))
			return 0;
		if (e.err != EALREADY)
			break;
		usleep(1000);
	}
err:
	fprintf(stderr, "# session-del %u (state %u): %s (%s)\n", id, st.state,
		strerror(e.err), e.msg);
	return -1;
}

/* An insecure RAM-backend migrate-start that runs; its session id in @id. */
static int ram_start_id(struct vmig_nl *nl, struct vmig_nl_error *e, int vm, int sock,
			const void *hva, uint64_t size, uint32_t *id)
{
	struct nlmsghdr *req = vmig_nl_msg(nl, VMIG_CMD_MIGRATE_START, 0);

	mnl_attr_put_u32(req, VMIG_A_SESSION_VM_FD, vm);
	mnl_attr_put_u32(req, VMIG_A_SESSION_SOCK_FD, sock);
	mnl_attr_put_u32(req, VMIG_A_SESSION_FLAGS, VMIG_MIGRATE_FLAGS_INSECURE);
	mnl_attr_put_u64(req, VMIG_A_SESSION_RAM_HVA, (uintptr_t)hva);
	mnl_attr_put_u64(req, VMIG_A_SESSION_RAM_SIZE, size);
	return vmig_nl_talk(nl, req, id_cb, id, e);
}

/*
 * One vmig user per VM: a second session would fight the first over the
 * dirty log. The first is a source that blocks on a peer that never reads.
 */
TEST_F(ram, second_session_on_one_vm_is_refused)
{
	uint32_t id = 0;

	ASSERT_EQ(0, ram_start_id(&self->nl, &self->e, self->vm, self->sock, self->shm,
				  self->len, &id)) TH_LOG("%s", self->e.msg);
	ASSERT_NE(0, id);
	EXPECT_EQ(EBUSY, ram_start(&self->nl, &self->e, self->vm, self->sock,
				   self->shm, self->len, true));
	EXPECT_STREQ("vmig: the VM is already in a vmig session or measurement", self->e.msg);
	EXPECT_EQ(0, end_session(&self->nl, id));
	/* Its end released the VM: a new session (on a new connection) may claim it. */
	close(self->peer);
	close(self->sock);
	ASSERT_EQ(0, tcp_pair(&self->sock, &self->peer));
	id = 0;
	ASSERT_EQ(0, ram_start_id(&self->nl, &self->e, self->vm, self->sock, self->shm,
				  self->len, &id)) TH_LOG("%s", self->e.msg);
	EXPECT_EQ(0, end_session(&self->nl, id));
}

/*
 * A disk session writes a whole block device: CAP_NET_ADMIN alone (all a
 * memory migration needs) is not enough. The child drops CAP_SYS_ADMIN
 * before it opens its netlink socket (the socket's opener is checked too).
 */
TEST_F(ram, disk_fd_needs_cap_sys_admin)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		struct vmig_nl_error e;
		struct nlmsghdr *req;
		struct vmig_nl nl;
		int disk = open("/dev/null", O_RDONLY);

		if (syscall(SYS_capget, &h, d))
			_exit(10);
		d[0].effective &= ~(1U << CAP_SYS_ADMIN);
		if (syscall(SYS_capset, &h, d) || vmig_nl_open(&nl))
			_exit(11);
		req = vmig_nl_msg(&nl, VMIG_CMD_MIGRATE_START, 0);
		mnl_attr_put_u32(req, VMIG_A_SESSION_VM_FD, self->vm);
		mnl_attr_put_u32(req, VMIG_A_SESSION_SOCK_FD, self->sock);
		mnl_attr_put_u32(req, VMIG_A_SESSION_FLAGS, VMIG_MIGRATE_FLAGS_INSECURE);
		mnl_attr_put_u64(req, VMIG_A_SESSION_RAM_HVA, (uintptr_t)self->shm);
		mnl_attr_put_u64(req, VMIG_A_SESSION_RAM_SIZE, self->len);
		mnl_attr_put_u32(req, VMIG_A_SESSION_DISK_FD, disk);
		mnl_attr_put_strz(req, VMIG_A_SESSION_DISK_NAME, "vmig-nltest");
		if (vmig_nl_talk(&nl, req, NULL, NULL, &e) != EPERM) {
			fprintf(stderr, "# migrate-start with disk-fd: %s (%s)\n",
				strerror(e.err), e.msg);
			_exit(12);
		}
		_exit(strcmp(e.msg, "vmig: disk-fd needs CAP_SYS_ADMIN, as storage moves do") ? 13 : 0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* Run @fn in a child process; its exit status is the result (-1: it died). */
static int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(fn());
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int (*nobody_fn)(void);

static int drop_to_nobody(void)
{
	if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return 10;
	return nobody_fn();
}

/* Run @fn as uid 65534 (no capabilities); its exit status is the result. */
static int as_nobody(int (*fn)(void))
{
	nobody_fn = fn;
	return in_child(drop_to_nobody);
}

static int nobody_dumps_sessions(void)
{
	struct vmig_nl_error e;
	struct vmig_nl nl;
	int n = 0;

	if (vmig_nl_open(&nl))
		return 11;
	return vmig_nl_talk(&nl, vmig_nl_msg(&nl, VMIG_CMD_SESSION_GET, NLM_F_DUMP),
			    count_cb, &n, &e) == EPERM ? 0 : 12;
}

static int nobody_subscribes(void)
{
	struct vmig_nl nl;

	if (vmig_nl_open(&nl))
		return 11;
	return vmig_nl_subscribe(&nl) == EPERM ? 0 : 12;
}

/* Sessions name VMM pids and show progress: not for unprivileged users. */
TEST(unprivileged_session_dump_is_eperm)
{
	EXPECT_EQ(0, as_nobody(nobody_dumps_sessions));
}

TEST(unprivileged_events_subscription_is_eperm)
{
	EXPECT_EQ(0, as_nobody(nobody_subscribes));
}

/*
 * A host admin's socket in a network namespace that an unprivileged user
 * owns (unshare -Urn) cannot start a session there: its events would
 * reach that user, who may join the group as the namespace's admin.
 */
#define NETNS_MSG "vmig: sessions start only in a network namespace owned by the initial user namespace (its events would reach the namespace's owner)"

/* In the current netns: receive-start's refusal, 0 if it is the netns rule's. */
static int start_refused_for_netns(void)
{
	struct vmig_nl_error e;
	struct nlmsghdr *req;
	struct vmig_nl nl;

	if (vmig_nl_open(&nl))
		return 21;
	req = vmig_nl_msg(&nl, VMIG_CMD_RECEIVE_START, 0);
	mnl_attr_put_u32(req, VMIG_A_SESSION_VM_FD, 0);
	if (vmig_nl_talk(&nl, req, NULL, NULL, &e) != EPERM)
		return 22;
	return strcmp(e.msg, NETNS_MSG) ? 23 : 0;
}

static pid_t netns_owner;

static int start_in_owners_netns(void)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", netns_owner);
	fd = open(path, O_RDONLY);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		return 20;
	return start_refused_for_netns();
}

TEST(session_in_a_user_owned_netns_is_refused)
{
	int ready[2], hold[2], status;
	pid_t owner;
	char c;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(hold));
	owner = fork();
	ASSERT_LE(0, owner);
	if (owner == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534) ||
		    unshare(CLONE_NEWUSER | CLONE_NEWNET))
			_exit(10);
		c = 'r';
		if (write(ready[1], &c, 1) != 1)
			_exit(11);
		/* Keep the namespaces until the test is done with them. */
		_exit(read(hold[0], &c, 1) == 1 ? 0 : 12);
	}
	close(ready[1]);
	close(hold[0]);
	if (read(ready[0], &c, 1) != 1) {
		waitpid(owner, &status, 0);
		if (WEXITSTATUS(status) == 10)
			SKIP(return, "unprivileged user namespaces are disabled here");
		ASSERT_TRUE(0) TH_LOG("the namespace owner failed: exit %d", WEXITSTATUS(status));
	}
	netns_owner = owner;
	status = in_child(start_in_owners_netns);
	c = 'q';
	ASSERT_EQ(1, write(hold[1], &c, 1));
	ASSERT_EQ(owner, waitpid(owner, NULL, 0));
	EXPECT_EQ(0, status);
}

static int start_in_a_new_netns(void)
{
	if (unshare(CLONE_NEWNET))
		return 20;
	/* Refused for the bogus vm-fd (not EPERM), not for the namespace. */
	return start_refused_for_netns() == 22 ? 0 : 24;
}

/* The control: a namespace root creates (the initial user namespace owns it) may. */
TEST(session_in_a_host_owned_netns_passes_the_netns_rule)
{
	EXPECT_EQ(0, in_child(start_in_a_new_netns));
}

static int nobody_cancels(void)
{
	struct vmig_nl_error e;
	struct nlmsghdr *req;
	struct vmig_nl nl;

	if (vmig_nl_open(&nl))
		return 11;
	req = vmig_nl_msg(&nl, VMIG_CMD_SESSION_DEL, 0);
	mnl_attr_put_u32(req, VMIG_A_SESSION_ID, 1);
	return vmig_nl_talk(&nl, req, NULL, NULL, &e) == EPERM ? 0 : 12;
}

/* Mutating ops need CAP_NET_ADMIN; uid 65534 has no capabilities. */
TEST(unprivileged_cancel_is_eperm)
{
	EXPECT_EQ(0, as_nobody(nobody_cancels));
}

static int nobody_reads_version(void)
{
	struct vmig_nl_error e;
	struct vmig_nl nl;

	if (vmig_nl_open(&nl))
		return 11;
	return vmig_nl_talk(&nl, vmig_nl_msg(&nl, VMIG_CMD_INFO_GET, 0), NULL, NULL, &e) ? 12 : 0;
}

/* Reading is not privileged. */
TEST(unprivileged_version_is_allowed)
{
	EXPECT_EQ(0, as_nobody(nobody_reads_version));
}

/*
 * migrate-start of a VM with one vCPU: what is handed in as a vCPU is
 * checked to be one, of this VM, before anything reads it; what the
 * switchover would carry is checked at start.
 */
FIXTURE(vcpu) {
	struct vmig_nl nl;
	struct vmig_nl_error e;
	int kvm, vm, vcpu, sock, peer;
	char dir[64];
};

FIXTURE_SETUP(vcpu)
{
	ASSERT_EQ(0, vmig_nl_open(&self->nl));
	self->kvm = open("/dev/kvm", O_RDWR);
	ASSERT_LE(0, self->kvm) TH_LOG("no /dev/kvm");
	self->vm = ioctl(self->kvm, KVM_CREATE_VM, 0);
	ASSERT_LE(0, self->vm);
	self->vcpu = ioctl(self->vm, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, self->vcpu);
	ASSERT_EQ(0, tcp_pair(&self->sock, &self->peer));
	strcpy(self->dir, "/tmp/vmig-vcpu-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
}

FIXTURE_TEARDOWN(vcpu)
{
	char fifo[96];

	snprintf(fifo, sizeof(fifo), "%s/kvm-vcpu:0", self->dir);
	unlink(fifo);
	rmdir(self->dir);
	close(self->peer);
	close(self->sock);
	close(self->vcpu);
	close(self->vm);
	close(self->kvm);
	vmig_nl_close(&self->nl);
}

/* migrate-start of our VM with @vcpu as its vCPU and @nr_msrs MSRs. */
static int vcpu_start(struct vmig_nl *nl, struct vmig_nl_error *e, int vm, int vcpu,
		      int sock, uint32_t nr_msrs)
{
	struct nlmsghdr *req = vmig_nl_msg(nl, VMIG_CMD_MIGRATE_START, 0);
	uint32_t msrs[256];
	uint32_t i;

	for (i = 0; i < nr_msrs && i < 256; i++)
		msrs[i] = 0xc0000080 + i;
	mnl_attr_put_u32(req, VMIG_A_SESSION_VM_FD, vm);
	mnl_attr_put_u32(req, VMIG_A_SESSION_VCPU_FD, vcpu);
	mnl_attr_put_u32(req, VMIG_A_SESSION_SOCK_FD, sock);
	mnl_attr_put_u32(req, VMIG_A_SESSION_FLAGS, VMIG_MIGRATE_FLAGS_INSECURE);
	if (nr_msrs)
		mnl_attr_put(req, VMIG_A_SESSION_MSR_INDEX, nr_msrs * sizeof(msrs[0]), msrs);
	return vmig_nl_talk(nl, req, NULL, NULL, e);
}

TEST_F(vcpu, eventfd_as_vcpu_is_refused)
{
	int fd = eventfd(0, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(EINVAL, vcpu_start(&self->nl, &self->e, self->vm, fd, self->sock, 0));
	EXPECT_STREQ("vmig: a vcpu-fd is not a KVM vCPU", self->e.msg);
	close(fd);
}

/* A file that only has a vCPU's name: its private_data is a pipe's. */
TEST_F(vcpu, fifo_named_like_a_vcpu_is_refused)
{
	char fifo[96];
	int fd;

	snprintf(fifo, sizeof(fifo), "%s/kvm-vcpu:0", self->dir);
	ASSERT_EQ(0, mkfifo(fifo, 0600));
	fd = open(fifo, O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(EINVAL, vcpu_start(&self->nl, &self->e, self->vm, fd, self->sock, 0));
	EXPECT_STREQ("vmig: a vcpu-fd is not a KVM vCPU", self->e.msg);
	close(fd);
}

/* KVM's vCPU stats file holds the vCPU too, but is no vCPU. */
TEST_F(vcpu, vcpu_stats_fd_is_refused)
{
	int fd = ioctl(self->vcpu, KVM_GET_STATS_FD, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(EINVAL, vcpu_start(&self->nl, &self->e, self->vm, fd, self->sock, 0));
	EXPECT_STREQ("vmig: a vcpu-fd is not a KVM vCPU", self->e.msg);
	close(fd);
}

TEST_F(vcpu, vcpu_of_another_vm_is_refused)
{
	int vm2 = ioctl(self->kvm, KVM_CREATE_VM, 0), vcpu2;

	ASSERT_LE(0, vm2);
	vcpu2 = ioctl(vm2, KVM_CREATE_VCPU, 0);
	ASSERT_LE(0, vcpu2);
	EXPECT_EQ(EINVAL, vcpu_start(&self->nl, &self->e, self->vm, vcpu2, self->sock, 0));
	EXPECT_STREQ("vmig: a vcpu-fd is a vCPU of another VM", self->e.msg);
	close(vcpu2);
	close(vm2);
}

/* KVM_GET_MSRS moves at most 255: 256 would fail only at switchover. */
TEST_F(vcpu, more_msrs_than_kvm_moves_are_refused_at_start)
{
	EXPECT_EQ(EINVAL, vcpu_start(&self->nl, &self->e, self->vm, self->vcpu,
				     self->sock, 256));
	EXPECT_STREQ("vmig: msr-index must be an array of at most 255 u32 (KVM moves at most 255 MSRs per call)",
		     self->e.msg);
}

TEST_HARNESS_MAIN
