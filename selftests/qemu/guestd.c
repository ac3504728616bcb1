// SPDX-License-Identifier: GPL-2.0
/*
 * guestd - the workload of the real Linux guest that selftests/qemu migrates.
 *
 * It gives a migration four things to get wrong, each of which it checks
 * itself:
 *
 *   memory   a buffer of MIB MiB is stamped page by page, round after round;
 *            before a page is stamped again it must still hold exactly the
 *            last stamp (a page lost or stale after switchover shows up here).
 *   stream   TCP :7000 - every client gets "seq monotonic_ns verified_pages
 *            failures\n" about once a millisecond; a client sees a lost
 *            connection, a gap in seq, or a pause (the guest's downtime).
 *   rx       TCP :7001 - reads and discards whatever arrives, so virtio-net
 *            RX writes guest RAM through the device model while migrating.
 *   disk     every 100 ms reads 64 KiB of /dev/vda with O_DIRECT (so the
 *            read reaches virtio-blk, not the page cache) and checks the
 *            pattern the host wrote before boot (guestd --mkdisk).
 *
 * Any failure is one line on stdout (the serial console) and on every
 * stream client:
 *   GUESTD-VERIFY-FAIL page=N gen=N word=N want=0x.. got=0x..
 *   GUESTD-DISK-FAIL sector=N want=0x.. got=0x..   (or err=...)
 * "GUESTD-READY" is printed once both ports listen; "GUESTD-STATS ..." every
 * 5 s.
 *
 * Usage:
 *   guestd [MIB [PAGES_PER_SEC]]     the workload (defaults 48, 4096;
 *                                    0 pages/s = as fast as the CPU goes)
 *   guestd --mkdisk FILE MIB         write the disk image the disk check
 *                                    expects (run on the host, before boot)
 *
 * Built static: the guest is a busybox initramfs with no libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#define PAGE		4096
#define WORDS		(PAGE / 8)
#define PAGE_MAGIC	0x67756573746470ULL	/* "guestdp" */
#define HDR_WORDS	4	/* magic, index, generation, checksum */
#define STREAM_PORT	7000
#define SINK_PORT	7001
#define DISK_DEV	"/dev/vda"
#define DISK_CHUNK	(64 << 10)
#define SECTOR		512
/* High half of every disk word: a zeroed or foreign disk never matches. */
#define DISK_MAGIC	0x564d494700000000ULL	/* "VMIG" << 32 */
#define FAIL_RING	64
#define FAIL_LEN	160

static uint64_t disk_word(uint64_t sector)
{
	return DISK_MAGIC | (sector & 0xffffffffULL);
}

/*
 * Body word i of page p at generation g. A cheap mix, different for every
 * (p, g, i), so a page that holds an older generation or another page's data
 * never passes.
 */
static uint64_t body_word(uint64_t p, uint64_t g, uint64_t i)
{
	uint64_t x = (p << 32) ^ (g * 0x9e3779b97f4a7c15ULL) ^ (i * 0xbf58476d1ce4e5b9ULL);

	x ^= x >> 31;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 29);
}

/* ---- counters shared by the threads (plain atomics; no ordering needed) */
static uint64_t n_verified, n_failures, n_rx_bytes, n_passes, n_disk_reads;

#define CNT_ADD(c, v)	__atomic_add_fetch(&(c), (v), __ATOMIC_RELAXED)
#define CNT_GET(c)	__atomic_load_n(&(c), __ATOMIC_RELAXED)

/*
 * Failure lines are kept in a ring so that each stream client can forward
 * the ones it has not sent yet; a client that falls FAIL_RING behind loses
 * the oldest text but never the count (failures field of every line).
 */
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static char fail_text[FAIL_RING][FAIL_LEN];	/* protected by fail_lock */
static uint64_t fail_head;			/* lines ever logged; fail_lock */

static void report_fail(const char *fmt, ...)
{
	char line[FAIL_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	CNT_ADD(n_failures, 1);
	pthread_mutex_lock(&fail_lock);
	memcpy(fail_text[fail_head % FAIL_RING], line, FAIL_LEN);
	fail_head++;
	pthread_mutex_unlock(&fail_lock);
	fputs(line, stdout);
	fflush(stdout);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_until(struct timespec *t, long step_ns)
{
	struct timespec now;

	t->tv_nsec += step_ns;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
	/*
	 * After a pause (switchover) do not burst to catch up: the stream's
	 * arrival gaps are the measurement, and a burst would hide nothing
	 * but would flood the client.
	 */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec > t->tv_sec ||
	    (now.tv_sec == t->tv_sec && now.tv_nsec > t->tv_nsec)) {
		*t = now;
		return;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
		;
}

/* ---- memory: stamp and verify ---------------------------------------- */

struct stamper {
	uint64_t *buf;
	uint64_t pages;
	uint64_t *gen;		/* last generation stamped per page; 0 = never */
	long rate;		/* pages per second, 0 = unthrottled */
};

static void stamp_page(uint64_t *w, uint64_t p, uint64_t g)
{
	uint64_t sum = 0, i;

	for (i = HDR_WORDS; i < WORDS; i++) {
		w[i] = body_word(p, g, i);
		sum += w[i];
	}
	w[0] = PAGE_MAGIC;
	w[1] = p;
	w[2] = g;
	w[3] = sum;
}

/* The page must be exactly what stamp_page(p, g) wrote: header and body. */
static void verify_page(const uint64_t *w, uint64_t p, uint64_t g)
{
	uint64_t hdr[HDR_WORDS] = { PAGE_MAGIC, p, g, 0 }, sum = 0, i;

	for (i = HDR_WORDS; i < WORDS; i++) {
		uint64_t want = body_word(p, g, i);

		sum += want;
		if (w[i] != want) {
			report_fail("GUESTD-VERIFY-FAIL page=%" PRIu64 " gen=%" PRIu64
				    " word=%" PRIu64 " want=0x%" PRIx64 " got=0x%" PRIx64
				    " hdr_gen=%" PRIu64, p, g, i, want, w[i], w[2]);
			return;
		}
	}
	hdr[3] = sum;
	for (i = 0; i < HDR_WORDS; i++) {
		if (w[i] != hdr[i]) {
			report_fail("GUESTD-VERIFY-FAIL page=%" PRIu64 " gen=%" PRIu64
				    " word=%" PRIu64 " want=0x%" PRIx64 " got=0x%" PRIx64,
				    p, g, i, hdr[i], w[i]);
			return;
		}
	}
	CNT_ADD(n_verified, 1);
}

static void *stamper_main(void *arg)
{
	struct stamper *s = arg;
	/* Throttle in batches of 1 ms worth of pages: 1 ms sleeps are cheap. */
	long batch = s->rate ? (s->rate + 999) / 1000 : 0, done = 0;
	struct timespec t;
	uint64_t p;

	clock_gettime(CLOCK_MONOTONIC, &t);
	for (;;) {
		for (p = 0; p < s->pages; p++) {
			uint64_t *w = s->buf + p * WORDS;

			if (s->gen[p])
				verify_page(w, p, s->gen[p]);
			stamp_page(w, p, ++s->gen[p]);
			if (batch && ++done == batch) {
				done = 0;
				sleep_until(&t, 1000000L);
			}
		}
		CNT_ADD(n_passes, 1);
	}
	return NULL;
}

/* ---- network --------------------------------------------------------- */

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 8)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static void *stream_client(void *arg)
{
	int fd = (int)(long)arg, one = 1;
	uint64_t seq = 0, sent_fail;
	struct timespec t;
	char line[128];

	/* 1 ms lines must leave at once, not wait for Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Failures from before this client connected are in the counter. */
	pthread_mutex_lock(&fail_lock);
	sent_fail = fail_head;
	pthread_mutex_unlock(&fail_lock);
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (;;) {
		int n;

		pthread_mutex_lock(&fail_lock);
		if (fail_head - sent_fail > FAIL_RING)
			sent_fail = fail_head - FAIL_RING;
		while (sent_fail < fail_head) {
			char copy[FAIL_LEN];

			memcpy(copy, fail_text[sent_fail++ % FAIL_RING], FAIL_LEN);
			pthread_mutex_unlock(&fail_lock);
			if (write_all(fd, copy, strlen(copy)))
				goto out;
			pthread_mutex_lock(&fail_lock);
		}
		pthread_mutex_unlock(&fail_lock);
		n = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 " %" PRIu64
			     " %" PRIu64 "\n", ++seq, now_ns(), CNT_GET(n_verified),
			     CNT_GET(n_failures));
		if (write_all(fd, line, n))
			goto out;
		sleep_until(&t, 1000000L);
	}
out:
	close(fd);
	return NULL;
}

static void *sink_client(void *arg)
{
	int fd = (int)(long)arg;
	static char buf[64 << 10];	/* contents discarded: share it */
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		CNT_ADD(n_rx_bytes, n);
	}
	close(fd);
	return NULL;
}

struct acceptor {
	int lfd;
	void *(*client)(void *);
};

static void *acceptor_main(void *arg)
{
	struct acceptor *a = arg;
	pthread_t t;

	for (;;) {
		int fd = accept(a->lfd, NULL, NULL);

		if (fd < 0)
			continue;
		if (pthread_create(&t, NULL, a->client, (void *)(long)fd))
			close(fd);
		else
			pthread_detach(t);
	}
	return NULL;
}

/* ---- disk ------------------------------------------------------------ */

static void *disk_main(void *arg)
{
	uint64_t size = 0, off = 0, *buf;
	struct timespec t;
	int fd;

	(void)arg;
	fd = open(DISK_DEV, O_RDONLY | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) || size < DISK_CHUNK) {
		report_fail("GUESTD-DISK-FAIL sector=0 err=open:%s size=%" PRIu64,
			    strerror(errno), size);
		return NULL;
	}
	if (posix_memalign((void **)&buf, PAGE, DISK_CHUNK))
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (;;) {
		ssize_t n = pread(fd, buf, DISK_CHUNK, off);
		uint64_t i;

		if (n != DISK_CHUNK) {
			report_fail("GUESTD-DISK-FAIL sector=%" PRIu64 " err=read:%zd:%s",
				    off / SECTOR, n, n < 0 ? strerror(errno) : "short");
		} else {
			for (i = 0; i < DISK_CHUNK / 8; i++) {
				uint64_t sector = off / SECTOR + i / (SECTOR / 8);

				if (buf[i] != disk_word(sector)) {
					report_fail("GUESTD-DISK-FAIL sector=%" PRIu64
						    " want=0x%" PRIx64 " got=0x%" PRIx64,
						    sector, disk_word(sector), buf[i]);
					break;
				}
			}
			CNT_ADD(n_disk_reads, 1);
		}
		off += DISK_CHUNK;
		if (off + DISK_CHUNK > size)
			off = 0;
		sleep_until(&t, 100000000L);
	}
	return NULL;
}

static int mkdisk(const char *path, uint64_t mib)
{
	uint64_t buf[SECTOR / 8], s, i;
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		return 1;
	}
	for (s = 0; s < (mib << 20) / SECTOR; s++) {
		for (i = 0; i < SECTOR / 8; i++)
			buf[i] = disk_word(s);
		if (fwrite(buf, sizeof(buf), 1, f) != 1) {
			perror(path);
			return 1;
		}
	}
	return fclose(f) ? 1 : 0;
}

/* ---- main ------------------------------------------------------------ */

static void start(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, arg)) {
		puts("GUESTD-ERROR pthread_create");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static struct acceptor stream = { .client = stream_client };
	static struct acceptor sink = { .client = sink_client };
	static struct stamper s;
	uint64_t mib = 48;

	if (argc == 4 && !strcmp(argv[1], "--mkdisk"))
		return mkdisk(argv[2], strtoull(argv[3], NULL, 0));
	if (argc > 1)
		mib = strtoull(argv[1], NULL, 0);
	s.rate = argc > 2 ? strtol(argv[2], NULL, 0) : 4096;
	if (!mib || argc > 3) {
		fprintf(stderr, "usage: guestd [MIB [PAGES_PER_SEC]] | guestd --mkdisk FILE MIB\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);

	s.pages = (mib << 20) / PAGE;
	/* Private anonymous memory, touched now: all of it is guest RAM in use. */
	s.buf = mmap(NULL, s.pages * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	s.gen = calloc(s.pages, sizeof(*s.gen));
	if (s.buf == MAP_FAILED || !s.gen) {
		puts("GUESTD-ERROR out of memory");
		return 1;
	}
	stream.lfd = listen_on(STREAM_PORT);
	sink.lfd = listen_on(SINK_PORT);
	if (stream.lfd < 0 || sink.lfd < 0) {
		printf("GUESTD-ERROR listen: %s\n", strerror(errno));
		return 1;
	}
	start(acceptor_main, &stream);
	start(acceptor_main, &sink);
	start(stamper_main, &s);
	start(disk_main, NULL);
	printf("GUESTD-READY mib=%" PRIu64 " rate=%ld\n", mib, s.rate);

	for (;;) {
		sleep(5);
		printf("GUESTD-STATS passes=%" PRIu64 " verified=%" PRIu64
		       " failures=%" PRIu64 " rx_bytes=%" PRIu64 " disk_reads=%" PRIu64 "\n",
		       CNT_GET(n_passes), CNT_GET(n_verified), CNT_GET(n_failures),
		       CNT_GET(n_rx_bytes), CNT_GET(n_disk_reads));
	}
}
