// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the QMP client (qmp.h) and the QEMU probe (qemuvm.h),
 * against real QEMUs (qemu-system-x86_64, TCG, -S: no guest code runs)
 * and against fake QMP servers for what a real QEMU will not do on
 * demand: never answer, answer in pieces, answer late.
 *
 * Output is TAP: the plan, then "ok N - name" / "not ok N - name"; the
 * exit status is 1 when any test failed. Tests that need QEMU are skipped
 * when qemu-system-x86_64 is missing.
 *
 * Every QEMU and fake server is a child that dies with us (PDEATHSIG);
 * its files (socket, log, /dev/shm backing file) live in a directory that
 * atexit() and the fatal-signal handlers remove, whatever failed.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "qemuvm.h"
#include "qmp.h"
#include "util.h"

#define QEMU_BIN	"qemu-system-x86_64"
#define MIB		(1024ULL * 1024)
#define TIMEOUT_MS	5000

static bool test_ok;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("# %s:%d: %s\n", __FILE__, __LINE__, #cond);	\
		test_ok = false;					\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	long long _a = (long long)(a), _b = (long long)(b);		\
	if (_a != _b) {							\
		printf("# %s:%d: %s == %lld, expected %s == %lld\n",	\
		       __FILE__, __LINE__, #a, _a, #b, _b);		\
		test_ok = false;					\
	}								\
} while (0)

/* s contains want; both printed when not. */
#define CHECK_HAS(s, want) do {						\
	const char *_s = (s), *_w = (want);				\
	if (!_s || !strstr(_s, _w)) {					\
		printf("# %s:%d: \"%s\" lacks \"%s\"\n", __FILE__,	\
		       __LINE__, _s ? _s : "(null)", _w);		\
		test_ok = false;					\
	}								\
} while (0)

/* ---- children and their files ------------------------------------------ */

#define MAX_CHILDREN	16

static char tmpdir[64];
static pid_t children[MAX_CHILDREN];
static char shm_files[MAX_CHILDREN][64];
static int nr_children, nr_shm;

/* Remove dir and the files in it. */
static void rm_dir(const char *dir)
{
	char path[320];
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/*
 * Kill every child, remove every file. Also run from fatal-signal
 * handlers: readdir may allocate, an acceptable risk in a test that is
 * dying anyway.
 */
static void cleanup(void)
{
	int i;

	for (i = 0; i < nr_children; i++) {
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
	}
	for (i = 0; i < nr_shm; i++)
		unlink(shm_files[i]);
	if (tmpdir[0])
		rm_dir(tmpdir);
}

/*
 * What a run killed by SIGKILL left (its QEMUs died with it): files named
 * qmpunit-PID-* of a PID that no longer exists.
 */
static void sweep_stale(const char *dir)
{
	char path[320];
	struct dirent *de;
	DIR *d = opendir(dir);
	int pid;

	while (d && (de = readdir(d))) {
		if (sscanf(de->d_name, "qmpunit-%d-", &pid) != 1 || pid <= 0 ||
		    !kill(pid, 0) || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			rm_dir(path);
		else
			unlink(path);
	}
	if (d)
		closedir(d);
}

static void on_fatal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void cleanup_install(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGSEGV, SIGABRT, SIGBUS };
	size_t i;

	atexit(cleanup);
	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], on_fatal);
}

static void child_forget(pid_t pid)
{
	int i;

	for (i = 0; i < nr_children; i++)
		if (children[i] == pid)
			children[i] = 0;
}

static void child_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	child_forget(pid);
}

/* fork() a child that dies with us; -1 when the table is full. */
static pid_t child_fork(void)
{
	pid_t pid;
	int slot;

	for (slot = 0; slot < nr_children && children[slot]; slot++)
		;
	if (slot == MAX_CHILDREN) {
		printf("# too many children\n");
		return -1;
	}
	fflush(stdout);
	pid = fork();
	if (!pid) {
		/* Nothing of the parent's to clean up from here. */
		nr_children = 0;
		nr_shm = 0;
		tmpdir[0] = '\0';
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		return 0;
	}
	if (pid > 0) {
		children[slot] = pid;
		nr_children += slot == nr_children;
	}
	return pid;
}

/* ---- real QEMUs ------------------------------------------------------------ */

enum ram { RAM_FILE, RAM_MEMFD, RAM_PRIVATE };

struct qemu {
	pid_t pid;
	struct qmp *q;
	char sock[128];
	char shm[64];
};

static bool have_qemu(void)
{
	return !system("command -v " QEMU_BIN " >/dev/null 2>&1");
}

static void qemu_exec(struct qemu *vm, enum ram ram, const char *const extra[])
{
	char obj[160], qmp[160], log[128];
	const char *argv[40] = {
		QEMU_BIN, "-machine", "q35", "-accel", "tcg", "-nodefaults",
		"-nographic", "-S", "-m", "64", "-qmp", qmp,
	};
	int n = 12, fd;

	snprintf(qmp, sizeof(qmp), "unix:%s,server=on,wait=off", vm->sock);
	if (ram == RAM_FILE)
		snprintf(obj, sizeof(obj),
			 "memory-backend-file,id=ram0,size=64M,mem-path=%s,share=on",
			 vm->shm);
	else
		snprintf(obj, sizeof(obj),
			 "memory-backend-memfd,id=ram0,size=64M,share=on");
	if (ram != RAM_PRIVATE) {
		argv[n++] = "-object";
		argv[n++] = obj;
		argv[n++] = "-machine";
		argv[n++] = "memory-backend=ram0";
	}
	while (extra && *extra)
		argv[n++] = *extra++;
	argv[n] = NULL;
	snprintf(log, sizeof(log), "%s/log", tmpdir);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	dup2(fd, 1);
	dup2(fd, 2);
	fd = open("/dev/null", O_RDONLY);
	dup2(fd, 0);
	execvp(QEMU_BIN, (char **)argv);
	_exit(127);
}

static void qemu_stop(struct qemu *vm);

/* Connect as soon as QEMU listens; it must still be alive meanwhile. */
static struct qmp *qemu_connect(struct qemu *vm)
{
	uint64_t deadline = vmig_now_ms() + 20000;
	char err[512] = "";
	struct qmp *q;

	while (vmig_now_ms() < deadline) {
		if (waitpid(vm->pid, NULL, WNOHANG) == vm->pid) {
			child_forget(vm->pid);
			printf("# QEMU exited at start; see its log in %s/log\n",
			       tmpdir);
			vm->pid = 0;
			return NULL;
		}
		q = qmp_open(vm->sock, TIMEOUT_MS, err, sizeof(err));
		if (q)
			return q;
		usleep(20000);
	}
	printf("# QEMU did not open its QMP socket: %s\n", err);
	return NULL;
}

/**
 * qemu_start() - a QEMU with 64 MiB of RAM in the given backend, -S
 * @extra: more arguments, NULL-terminated; NULL for none
 *
 * Return: true with vm->q connected; false after printing why and
 * failing the test.
 */
static bool qemu_start(struct qemu *vm, enum ram ram, const char *const extra[])
{
	static int seq;

	memset(vm, 0, sizeof(*vm));
	snprintf(vm->sock, sizeof(vm->sock), "%s/qmp%d", tmpdir, seq);
	snprintf(vm->shm, sizeof(vm->shm), "/dev/shm/qmpunit-%d-%d",
		 (int)getpid(), seq);
	seq++;
	if (ram == RAM_FILE && nr_shm < MAX_CHILDREN)
		snprintf(shm_files[nr_shm++], sizeof(shm_files[0]), "%s", vm->shm);
	vm->pid = child_fork();
	if (vm->pid < 0)
		return false;
	if (!vm->pid)
		qemu_exec(vm, ram, extra);
	vm->q = qemu_connect(vm);
	if (!vm->q) {
		qemu_stop(vm);
		test_ok = false;
	}
	return vm->q;
}

static void qemu_stop(struct qemu *vm)
{
	qmp_close(vm->q);
	vm->q = NULL;
	child_kill(vm->pid);
	vm->pid = 0;
	if (vm->shm[0])
		unlink(vm->shm);
}

/* The test's own reading of /proc/PID/maps: the rw-s mapping of file. */
static unsigned long long maps_start(pid_t pid, const char *file,
				     unsigned long long *len)
{
	unsigned long long lo, hi, found = 0;
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, file);

		if (p && !strcmp(p + strlen(file), "\n") && strstr(line, " rw-s ") &&
		    sscanf(line, "%llx-%llx", &lo, &hi) == 2) {
			found = lo;
			*len = hi - lo;
		}
	}
	fclose(f);
	return found;
}

/* ---- fake QMP servers ------------------------------------------------------ */

typedef void (*fake_script)(int fd);

static const char greeting[] =
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 3, \"minor\": 1, \"major\": 8},"
	" \"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n";

static void fake_write(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		_exit(1);
	usleep(20000);	/* lets the client read each piece on its own */
}

/* Read one request line. Return: its id; *cmd its command. */
static long long fake_request(int fd, char *cmd, size_t len)
{
	char line[4096];
	size_t n = 0;
	json_t *req;
	long long id;

	while (n < sizeof(line) - 1 && read(fd, line + n, 1) == 1 &&
	       line[n] != '\n')
		n++;
	line[n] = '\0';
	req = json_loads(line, 0, NULL);
	if (!req)
		_exit(1);
	id = json_integer_value(json_object_get(req, "id"));
	snprintf(cmd, len, "%s",
		 json_string_value(json_object_get(req, "execute")));
	json_decref(req);
	return id;
}

static void fake_reply(int fd, long long id, const char *ret)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "{\"return\": %s, \"id\": %lld}\r\n", ret, id);
	fake_write(fd, buf);
}

/* Greeting and qmp_capabilities, as QEMU does them. */
static void fake_handshake(int fd)
{
	char cmd[64];

	fake_write(fd, greeting);
	fake_reply(fd, fake_request(fd, cmd, sizeof(cmd)), "{}");
}

/* Listen on tmpdir/fake and serve one client with script; NULL: never greet. */
static pid_t fake_start(fake_script script, char *path, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd, fd;
	pid_t pid;

	snprintf(path, len, "%s/fake", tmpdir);
	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1)) {
		printf("# fake server: %s\n", strerror(errno));
		return -1;
	}
	pid = child_fork();
	if (!pid) {
		fd = accept(lfd, NULL, NULL);
		if (script)
			script(fd);
		pause();
		_exit(0);
	}
	close(lfd);
	return pid;
}

/* ---- the tests -------------------------------------------------------------- */

static void test_greeting_records_version(void)
{
	int major = 0, minor = 0, want_major = -1, want_minor = -1;
	struct qemu vm;
	FILE *p;

	if (!qemu_start(&vm, RAM_FILE, NULL))
		return;
	qmp_version(vm.q, &major, &minor);
	p = popen(QEMU_BIN " --version", "r");
	if (p) {
		CHECK(fscanf(p, "QEMU emulator version %d.%d", &want_major,
			     &want_minor) == 2);
		pclose(p);
	}
	CHECK_EQ(major, want_major);
	CHECK_EQ(minor, want_minor);
	printf("# QEMU %d.%d\n", major, minor);
	qemu_stop(&vm);
}

static void test_peer_pid_is_the_qemu_process(void)
{
	struct qemu vm;

	if (!qemu_start(&vm, RAM_FILE, NULL))
		return;
	CHECK_EQ(qmp_peer_pid(vm.q), vm.pid);
	CHECK(qmp_fd(vm.q) >= 0);
	qemu_stop(&vm);
}

static void test_prelaunch_is_not_running(void)
{
	char status[32] = "";
	bool running = true;
	struct qemu vm;

	if (!qemu_start(&vm, RAM_FILE, NULL))
		return;
	CHECK_EQ(qmp_status(vm.q, status, sizeof(status), &running, NULL, 0), 0);
	CHECK_HAS(status, "prelaunch");
	CHECK(!running);
	qemu_stop(&vm);
}

/* cont runs the VM, stop pauses it; RESUME and STOP are queued, not lost. */
static void test_cont_and_stop_queue_their_events(void)
{
	char status[32] = "", err[256] = "";
	json_t *data = NULL, *ev;
	bool running = false;
	struct qemu vm;

	if (!qemu_start(&vm, RAM_FILE, NULL))
		return;
	CHECK_EQ(qmp_cont(vm.q, err, sizeof(err)), 0);
	CHECK_EQ(qmp_status(vm.q, status, sizeof(status), &running, NULL, 0), 0);
	CHECK_HAS(status, "running");
	CHECK(running);
	CHECK_EQ(qmp_stop(vm.q, err, sizeof(err)), 0);
	CHECK_EQ(qmp_status(vm.q, status, sizeof(status), &running, NULL, 0), 0);
	CHECK_HAS(status, "paused");
	CHECK(!running);
	/* Both events came before the replies that were awaited. */
	CHECK_EQ(qmp_event_wait(vm.q, "STOP", &data, 0), 0);
	CHECK(json_is_object(data));
	json_decref(data);
	ev = qmp_event_pop(vm.q, "RESUME");
	CHECK(ev);
	CHECK(json_is_object(json_object_get(ev, "timestamp")));
	json_decref(ev);
	CHECK(!qmp_event_pop(vm.q, NULL));
	CHECK_EQ(qmp_event_wait(vm.q, "STOP", NULL, 100), -ETIMEDOUT);
	qemu_stop(&vm);
}

static void test_probe_finds_file_backend_and_mapping(void)
{
	unsigned long long len = 0, start;
	struct qemu_vm info;
	char err[512] = "", why[512] = "";
	struct qemu vm;

	if (!qemu_start(&vm, RAM_FILE, NULL))
		return;
	CHECK_EQ(qemu_vm_probe(vm.q, &info, err, sizeof(err)), 0);
	if (err[0])
		printf("# %s\n", err);
	start = maps_start(vm.pid, vm.shm, &len);
	CHECK_EQ(info.pid, vm.pid);
	CHECK_HAS(info.backend, "/objects/ram0");
	CHECK_HAS(info.backend_type, "memory-backend-file");
	CHECK_HAS(info.mem_path, vm.shm);
	CHECK(info.share);
	CHECK_EQ(info.size, 64 * MIB);
	CHECK(start != 0);
	CHECK_EQ(info.ram_hva, start);
	CHECK_EQ(info.ram_size, len);
	CHECK_HAS(info.runstate, "prelaunch");
	CHECK_EQ(info.migration[0], 0);
	CHECK_EQ(info.direct_io[0], 0);
	CHECK_EQ(info.vfio[0], 0);
	CHECK(qemu_vm_exact(&info, QEMU_VM_SOURCE, why, sizeof(why)));
	if (why[0])
		printf("# %s\n", why);
	qemu_stop(&vm);
}

/* Probe a QEMU started with ram and extra; expect a refusal naming want. */
static void expect_refusal(enum ram ram, const char *const extra[],
			   enum qemu_vm_role role, const char *want)
{
	char err[512] = "", why[512] = "";
	struct qemu_vm info;
	struct qemu vm;

	if (!qemu_start(&vm, ram, extra))
		return;
	CHECK_EQ(qemu_vm_probe(vm.q, &info, err, sizeof(err)), 0);
	CHECK(!qemu_vm_exact(&info, role, why, sizeof(why)));
	CHECK_HAS(why, want);
	printf("# %s\n", why);
	qemu_stop(&vm);
}

static void test_exact_refuses_memfd_ram(void)
{
	expect_refusal(RAM_MEMFD, NULL, QEMU_VM_SOURCE,
		       "-object memory-backend-file,id=ram0,size=64M,mem-path=/dev/shm/NAME,share=on -machine memory-backend=ram0");
}

static void test_exact_refuses_private_ram(void)
{
	expect_refusal(RAM_PRIVATE, NULL, QEMU_VM_SOURCE, "share=off");
}

static void test_exact_refuses_direct_io_disk(void)
{
	char drive[256], img[128];
	const char *const extra[] = { "-drive", drive, NULL };
	int fd;

	/* Not /dev/shm: tmpfs has no O_DIRECT and QEMU would not start. */
	snprintf(img, sizeof(img), "%s/disk.img", tmpdir);
	fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && !ftruncate(fd, 1 << 20));
	close(fd);
	snprintf(drive, sizeof(drive),
		 "file=%s,if=virtio,format=raw,cache.direct=on", img);
	expect_refusal(RAM_FILE, extra, QEMU_VM_SOURCE, "use cache.direct=off");
}

static void test_destination_needs_incoming_defer(void)
{
	const char *const extra[] = { "-incoming", "defer", NULL };
	char err[512] = "", why[512] = "";
	struct qemu_vm info;
	struct qemu vm;

	expect_refusal(RAM_FILE, NULL, QEMU_VM_DEST, "start the destination with -incoming defer");
	if (!qemu_start(&vm, RAM_FILE, extra))
		return;
	CHECK_EQ(qemu_vm_probe(vm.q, &info, err, sizeof(err)), 0);
	CHECK_HAS(info.runstate, "inmigrate");
	CHECK(qemu_vm_exact(&info, QEMU_VM_DEST, why, sizeof(why)));
	CHECK(!qemu_vm_exact(&info, QEMU_VM_SOURCE, why, sizeof(why)));
	CHECK_HAS(why, "without -incoming");
	qemu_stop(&vm);
}

/* What a real probe of a good source finds, for the rules alone. */
static struct qemu_vm good_vm(void)
{
	struct qemu_vm vm = {
		.pid = 1, .major = 7, .minor = 2, .runstate = "paused",
		.backend = "/objects/ram0", .backend_type = "memory-backend-file",
		.mem_path = "/dev/shm/vm", .share = true, .size = 64 * MIB,
		.ram_hva = 0x7f0000000000ULL, .ram_size = 64 * MIB,
	};
	return vm;
}

static void test_exact_refuses_vfio_and_a_started_migration(void)
{
	struct qemu_vm vm = good_vm();
	char why[512] = "";

	CHECK(qemu_vm_exact(&vm, QEMU_VM_SOURCE, why, sizeof(why)));
	snprintf(vm.vfio, sizeof(vm.vfio), "/machine/peripheral/nic0 (child<vfio-pci>)");
	CHECK(!qemu_vm_exact(&vm, QEMU_VM_SOURCE, why, sizeof(why)));
	CHECK_HAS(why, "without -device vfio-pci");
	vm = good_vm();
	snprintf(vm.migration, sizeof(vm.migration), "active");
	CHECK(!qemu_vm_exact(&vm, QEMU_VM_SOURCE, why, sizeof(why)));
	CHECK_HAS(why, "\"active\"");
	vm = good_vm();
	vm.ram_hva = 0;
	CHECK(!qemu_vm_exact(&vm, QEMU_VM_SOURCE, why, sizeof(why)));
	CHECK_HAS(why, "not a directory");
	/* A disk filesystem's writeback would clean the entries vmig reads. */
	vm = good_vm();
	snprintf(vm.mem_path, sizeof(vm.mem_path), "/var/tmp/vm-ram");
	CHECK(!qemu_vm_exact(&vm, QEMU_VM_SOURCE, why, sizeof(why)));
	CHECK_HAS(why, "not on tmpfs");
}

static void test_unknown_command_is_remote_error(void)
{
	char err[512] = "", status[32];
	struct qemu vm;

	if (!qemu_start(&vm, RAM_FILE, NULL))
		return;
	CHECK_EQ(qmp_exec(vm.q, "no-such-command", NULL, NULL, TIMEOUT_MS, err,
			  sizeof(err)), -EREMOTEIO);
	CHECK_HAS(err, "no-such-command: The command no-such-command has not been found");
	/* The connection carries on. */
	CHECK_EQ(qmp_status(vm.q, status, sizeof(status), NULL, NULL, 0), 0);
	qemu_stop(&vm);
}

static void test_getfd_takes_an_fd(void)
{
	char err[512] = "";
	struct qemu vm;
	int p[2];

	if (!qemu_start(&vm, RAM_FILE, NULL))
		return;
	CHECK(!pipe(p));
	CHECK_EQ(qmp_exec_fd(vm.q, "getfd", json_pack("{s:s}", "fdname", "t"),
			     NULL, TIMEOUT_MS, err, sizeof(err), p[0]), 0);
	CHECK_EQ(qmp_exec(vm.q, "closefd", json_pack("{s:s}", "fdname", "t"),
			  NULL, TIMEOUT_MS, err, sizeof(err)), 0);
	CHECK_EQ(qmp_exec(vm.q, "closefd", json_pack("{s:s}", "fdname", "t"),
			  NULL, TIMEOUT_MS, err, sizeof(err)), -EREMOTEIO);
	CHECK_HAS(err, "closefd: ");
	CHECK_EQ(qmp_exec(vm.q, "getfd", json_pack("{s:s}", "fdname", "u"),
			  NULL, TIMEOUT_MS, err, sizeof(err)), -EREMOTEIO);
	CHECK_HAS(err, "SCM_RIGHTS");
	close(p[0]);
	close(p[1]);
	qemu_stop(&vm);
}

/* query-qmp-schema: a reply of ~200 KiB, read over many reads. */
static void test_large_reply(void)
{
	char err[512] = "";
	json_t *ret = NULL;
	struct qemu vm;
	char *s;

	if (!qemu_start(&vm, RAM_FILE, NULL))
		return;
	CHECK_EQ(qmp_exec(vm.q, "query-qmp-schema", NULL, &ret, TIMEOUT_MS, err,
			  sizeof(err)), 0);
	s = json_dumps(ret, JSON_COMPACT);
	CHECK(s && strlen(s) > 64 * 1024);
	printf("# query-qmp-schema: %zu bytes, %zu entries\n", s ? strlen(s) : 0,
	       json_array_size(ret));
	free(s);
	json_decref(ret);
	qemu_stop(&vm);
}

static void test_killed_qemu_is_connection_reset(void)
{
	char err[512] = "", status[32];
	struct qemu vm;

	if (!qemu_start(&vm, RAM_FILE, NULL))
		return;
	child_kill(vm.pid);
	vm.pid = 0;
	CHECK_EQ(qmp_status(vm.q, status, sizeof(status), NULL, err, sizeof(err)),
		 -ECONNRESET);
	CHECK_HAS(err, "query-status: QEMU closed its QMP socket");
	CHECK_EQ(qmp_event_wait(vm.q, "STOP", NULL, 1000), -ECONNRESET);
	qemu_stop(&vm);
}

static void test_quit_ends_qemu(void)
{
	uint64_t deadline;
	char err[512] = "";
	struct qemu vm;
	json_t *ev;
	pid_t pid;

	if (!qemu_start(&vm, RAM_FILE, NULL))
		return;
	CHECK_EQ(qmp_quit(vm.q, err, sizeof(err)), 0);
	ev = qmp_event_pop(vm.q, "SHUTDOWN");
	CHECK(ev);
	CHECK_HAS(json_string_value(json_object_get(json_object_get(ev, "data"),
						    "reason")), "host-qmp-quit");
	json_decref(ev);
	deadline = vmig_now_ms() + TIMEOUT_MS;
	while ((pid = waitpid(vm.pid, NULL, WNOHANG)) == 0 &&
	       vmig_now_ms() < deadline)
		usleep(10000);
	CHECK_EQ(pid, vm.pid);
	if (pid == vm.pid) {
		child_forget(vm.pid);
		vm.pid = 0;
	}
	qemu_stop(&vm);
}

/* Greets, then never reads: requests pile up in the socket buffer. */
static void script_deaf(int fd)
{
	fake_handshake(fd);
}

/* A request cut short leaves QEMU's parser out of step: no more requests. */
static void test_request_cut_short_needs_reconnect(void)
{
	char path[128], err[512] = "";
	size_t big = 8 << 20;
	struct qmp *q;
	char *s;
	pid_t pid;

	pid = fake_start(script_deaf, path, sizeof(path));
	q = qmp_open(path, TIMEOUT_MS, err, sizeof(err));
	s = malloc(big + 1);
	CHECK(q && s);
	if (q && s) {
		memset(s, 'x', big);
		s[big] = '\0';
		CHECK_EQ(qmp_exec(q, "big", json_pack("{s:s}", "s", s), NULL, 200,
				  err, sizeof(err)), -ETIMEDOUT);
		CHECK_EQ(qmp_exec(q, "next", NULL, NULL, 200, err, sizeof(err)),
			 -EPIPE);
		CHECK_HAS(err, "next: ");
		CHECK_HAS(err, "reconnect");
	}
	free(s);
	qmp_close(q);
	child_kill(pid);
}

static void test_no_socket_says_how_to_start_qemu(void)
{
	char path[128], err[512] = "";

	snprintf(path, sizeof(path), "%s/none", tmpdir);
	CHECK(!qmp_open(path, 1000, err, sizeof(err)));
	CHECK_HAS(err, "-qmp unix:");
	CHECK_HAS(err, "/none,server=on,wait=off");
}

/* Request "a" is never answered; its reply comes late, before "b"'s. */
static void script_late(int fd)
{
	long long a, b;
	char cmd[64];

	fake_handshake(fd);
	a = fake_request(fd, cmd, sizeof(cmd));
	b = fake_request(fd, cmd, sizeof(cmd));
	fake_reply(fd, a, "\"a\"");
	fake_reply(fd, b, "\"b\"");
}

static void test_silent_server_times_out(void)
{
	char path[128], err[512] = "";
	json_t *ret = NULL;
	struct qmp *q;
	uint64_t t0;
	pid_t pid;

	/* Connected, never greeted: another client holds the monitor. */
	pid = fake_start(NULL, path, sizeof(path));
	t0 = vmig_now_ms();
	CHECK(!qmp_open(path, 200, err, sizeof(err)));
	CHECK(vmig_now_ms() - t0 >= 200 && vmig_now_ms() - t0 < 2000);
	CHECK_HAS(err, "no QMP greeting");
	child_kill(pid);

	pid = fake_start(script_late, path, sizeof(path));
	q = qmp_open(path, TIMEOUT_MS, err, sizeof(err));
	CHECK(q);
	if (!q) {
		child_kill(pid);
		return;
	}
	t0 = vmig_now_ms();
	CHECK_EQ(qmp_exec(q, "a", NULL, &ret, 200, err, sizeof(err)), -ETIMEDOUT);
	CHECK(vmig_now_ms() - t0 >= 200 && vmig_now_ms() - t0 < 2000);
	CHECK_HAS(err, "a: QEMU did not answer within 200 ms");
	CHECK(!ret);
	/* The late answer to "a" is not taken for "b"'s. */
	CHECK_EQ(qmp_exec(q, "b", NULL, &ret, TIMEOUT_MS, err, sizeof(err)), 0);
	CHECK_HAS(json_string_value(ret), "b");
	json_decref(ret);
	qmp_close(q);
	child_kill(pid);
}

/*
 * The greeting in two pieces; an event cut in two; a pretty-printed
 * event over several lines; the reply cut inside a string holding braces
 * and an escaped quote; another event in the same write as the reply's end.
 */
static void script_pieces(int fd)
{
	char cmd[64], tail[128];
	long long id;

	fake_write(fd, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 3, \"mi");
	fake_write(fd, "nor\": 1, \"major\": 8}}, \"capabilities\": []}}\r\n");
	fake_reply(fd, fake_request(fd, cmd, sizeof(cmd)), "{}");
	id = fake_request(fd, cmd, sizeof(cmd));
	fake_write(fd, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"eve");
	fake_write(fd, "nt\": \"FAKE\", \"data\": {\"n\": 1}}\r\n{\n    \"event\": \"PRETTY\",\n");
	fake_write(fd, "    \"data\": {\"s\": \"}\"}\n}\n{\"return\": {\"s\": \"a}b{\\\"c");
	snprintf(tail, sizeof(tail),
		 "\", \"l\": [1, {\"x\": []}]}, \"id\": %lld}\r\n{\"event\": \"FAKE2\"}\r\n",
		 id);
	fake_write(fd, tail);
}

static void test_fragmented_reply_with_events(void)
{
	char path[128], err[512] = "";
	json_t *ret = NULL, *data = NULL, *ev;
	int major = 0, minor = 0;
	struct qmp *q;
	pid_t pid;

	pid = fake_start(script_pieces, path, sizeof(path));
	q = qmp_open(path, TIMEOUT_MS, err, sizeof(err));
	CHECK(q);
	if (!q) {
		printf("# %s\n", err);
		child_kill(pid);
		return;
	}
	qmp_version(q, &major, &minor);
	CHECK_EQ(major, 8);
	CHECK_EQ(minor, 1);
	CHECK_EQ(qmp_exec(q, "pieces", NULL, &ret, TIMEOUT_MS, err, sizeof(err)), 0);
	CHECK_HAS(json_string_value(json_object_get(ret, "s")), "a}b{\"c");
	CHECK_EQ(json_array_size(json_object_get(ret, "l")), 2);
	json_decref(ret);
	CHECK_EQ(qmp_event_wait(q, "FAKE", &data, 0), 0);
	CHECK_EQ(json_integer_value(json_object_get(data, "n")), 1);
	json_decref(data);
	ev = qmp_event_pop(q, "FAKE2");
	CHECK(ev);
	json_decref(ev);
	ev = qmp_event_pop(q, NULL);
	CHECK_HAS(json_string_value(json_object_get(ev, "event")), "PRETTY");
	json_decref(ev);
	CHECK_EQ(qmp_pump(q, 0), 0);
	qmp_close(q);
	child_kill(pid);
}

/* Print each MIGRATION event of q until a final one. Return: its status. */
static const char *follow_migration(struct qmp *q, char *status, size_t len)
{
	json_t *data;
	char *s;

	status[0] = '\0';
	while (!qmp_event_wait(q, "MIGRATION", &data, 30000)) {
		s = json_dumps(data, JSON_COMPACT);
		printf("# source MIGRATION %s\n", s);
		free(s);
		snprintf(status, len, "%s",
			 json_string_value(json_object_get(data, "status")));
		json_decref(data);
		if (!strcmp(status, "completed") || !strcmp(status, "failed"))
			break;
	}
	return status;
}

/*
 * QEMU's own migration over a socketpair handed in with getfd: both sides
 * end "completed"; the source is then refused (it already migrated).
 */
static void test_migration_over_fds_completes(void)
{
	static const char *const caps[] = { "events" };
	static const bool on[] = { true };
	const char *const incoming[] = { "-incoming", "defer", NULL };
	char err[512] = "", status[32] = "", why[512] = "";
	struct qemu src = { 0 }, dst = { 0 };
	uint64_t deadline;
	struct qemu_vm info;
	int sv[2];

	if (!qemu_start(&src, RAM_FILE, NULL) ||
	    !qemu_start(&dst, RAM_FILE, incoming))
		goto out;
	CHECK(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	CHECK_EQ(qmp_set_caps(src.q, caps, on, 1, err, sizeof(err)), 0);
	CHECK_EQ(qmp_set_caps(dst.q, caps, on, 1, err, sizeof(err)), 0);
	/* Paused, as vmig leaves a source before QEMU's device-state pass. */
	CHECK_EQ(qmp_cont(src.q, err, sizeof(err)), 0);
	CHECK_EQ(qmp_stop(src.q, err, sizeof(err)), 0);
	CHECK_EQ(qmp_incoming_fd(dst.q, sv[1], "mig", err, sizeof(err)), 0);
	CHECK_EQ(qmp_migrate_fd(src.q, sv[0], "mig", err, sizeof(err)), 0);
	if (err[0])
		printf("# %s\n", err);
	close(sv[0]);
	close(sv[1]);
	CHECK_HAS(follow_migration(src.q, status, sizeof(status)), "completed");
	CHECK_EQ(qmp_wait_migration(dst.q, 30000, status, sizeof(status), err,
				    sizeof(err)), 0);
	CHECK_HAS(status, "completed");
	/* "completed" comes before the runstate leaves finish-migrate. */
	deadline = vmig_now_ms() + TIMEOUT_MS;
	do {
		CHECK_EQ(qmp_status(src.q, status, sizeof(status), NULL, NULL, 0), 0);
	} while (!strcmp(status, "finish-migrate") && vmig_now_ms() < deadline &&
		 !usleep(10000));
	CHECK_HAS(status, "postmigrate");
	/* The destination adopts the source's paused state and waits for cont. */
	CHECK_EQ(qmp_status(dst.q, status, sizeof(status), NULL, NULL, 0), 0);
	CHECK_HAS(status, "paused");
	CHECK_EQ(qemu_vm_probe(src.q, &info, err, sizeof(err)), 0);
	CHECK_HAS(info.migration, "completed");
	CHECK(!qemu_vm_exact(&info, QEMU_VM_SOURCE, why, sizeof(why)));
	CHECK_HAS(why, "migrated away");
out:
	qemu_stop(&src);
	qemu_stop(&dst);
}

struct test {
	const char *name;
	void (*fn)(void);
	bool qemu;	/* needs qemu-system-x86_64 */
};

#define T(name, qemu)	{ #name, test_##name, qemu }

static const struct test tests[] = {
	T(greeting_records_version, true),
	T(peer_pid_is_the_qemu_process, true),
	T(prelaunch_is_not_running, true),
	T(cont_and_stop_queue_their_events, true),
	T(probe_finds_file_backend_and_mapping, true),
	T(exact_refuses_memfd_ram, true),
	T(exact_refuses_private_ram, true),
	T(exact_refuses_direct_io_disk, true),
	T(destination_needs_incoming_defer, true),
	T(exact_refuses_vfio_and_a_started_migration, false),
	T(unknown_command_is_remote_error, true),
	T(getfd_takes_an_fd, true),
	T(large_reply, true),
	T(killed_qemu_is_connection_reset, true),
	T(quit_ends_qemu, true),
	T(no_socket_says_how_to_start_qemu, false),
	T(request_cut_short_needs_reconnect, false),
	T(silent_server_times_out, false),
	T(fragmented_reply_with_events, false),
	T(migration_over_fds_completes, true),
};

int main(int argc, char **argv)
{
	bool qemu = have_qemu();
	int failed = 0;
	size_t i;

	sweep_stale("/dev/shm");
	sweep_stale("/var/tmp");
	snprintf(tmpdir, sizeof(tmpdir), "/var/tmp/qmpunit-%d-XXXXXX",
		 (int)getpid());
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	cleanup_install();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%zu\n", ARRAY_SIZE(tests));
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		if (argc > 1 && strcmp(argv[1], tests[i].name)) {
			printf("ok %zu - %s # SKIP not selected\n", i + 1, tests[i].name);
			continue;
		}
		if (tests[i].qemu && !qemu) {
			printf("ok %zu - %s # SKIP no %s\n", i + 1, tests[i].name,
			       QEMU_BIN);
			continue;
		}
		test_ok = true;
		tests[i].fn();
		printf("%sok %zu - %s\n", test_ok ? "" : "not ", i + 1,
		       tests[i].name);
		failed += !test_ok;
	}
	return failed ? 1 : 0;
}
