// SPDX-License-Identifier: GPL-2.0
/*
 * diskverify: a writer that knows what it wrote, for storage-move and
 * disk migration tests.
 *
 *   diskverify fill DEV
 *	write generation 0 to every 4 KiB block of DEV
 *   diskverify run DEV {MODEL | --shared-model FILE} [--seconds S]
 *                  [--threads N] [--iops N/thread] [--max-kb K]
 *                  [--zeroout-pct P] [--discard-pct P] [--discard-zeroes]
 *                  [--sync-every N] [--from OLD] [--buffered]
 *	random O_DIRECT writes (and BLKZEROOUT / BLKDISCARD ranges) all over
 *	a filled DEV (or one holding model OLD) until S seconds pass or
 *	SIGTERM/SIGINT; then fdatasync and save what every block must hold
 *	to MODEL. Any error fails.
 *	With --buffered the writes go through DEV's page cache (as QEMU's
 *	default cache=writeback): a write counts as done once pwrite()
 *	returned, and with --sync-every 0 it may stay a dirty page until the
 *	end. Verify reads O_DIRECT, so it checks what reached the device.
 *	With --shared-model the model lives in FILE (MAP_SHARED) all along,
 *	for a writer that is stopped (SIGSTOP) and killed rather than told to
 *	end: a migration's switchover stops it, it never runs on after.
 *   diskverify verify DEV MODEL
 *	check every block of DEV against MODEL (either kind)
 *
 * Each block written carries a header (magic, block number, generation)
 * and a pseudo-random fill derived from both, so a stale, misplaced or
 * torn block is told from the right one. Threads own disjoint 64 KiB
 * chunks (chunk % threads), so their writes never overlap and the model
 * is exact. Exit status: 0 good, 1 error or mismatch, 2 usage.
 *
 * A shared model keeps two generations per block: the committed one, set
 * once an operation completed, and the pending one, set before it is
 * issued. A writer stopped between the two (its write may have completed,
 * or not even started) leaves them different, and the block may hold
 * either; verify accepts both and counts the blocks that held the pending
 * one. A stopped writer has no write in flight: a thread only stops on
 * its way back to user space, after the I/O it waited for completed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BLK		4096U
#define CHUNK_BLKS	16U		/* 64 KiB: the unit a thread owns */
#define IO_BLKS		256U		/* 1 MiB: fill and verify I/O */
#define MAGIC		0x564d4947U	/* "VMIG" */
#define GEN_ZERO	0xffffffffU	/* the block must read as zeros */
#define GEN_UNKNOWN	0xfffffffeU	/* discarded: anything goes */
#define MODEL_MAGIC	0x4d4f444cU	/* header, then nblocks generations */
#define SHARED_MAGIC	0x4d4f4453U	/* header, committed, then pending */

static volatile sig_atomic_t stop;
static uint32_t *model;		/* committed generation per block */
static uint32_t *pending;	/* shared model: generation being written */
static uint64_t nblocks;
static uint32_t next_gen;	/* atomically incremented */

struct opts {
	const char *dev;
	const char *from;
	const char *shared;
	double seconds;
	unsigned int threads, iops, max_blks, zeroout_pct, discard_pct;
	unsigned int sync_every;
	int discard_zeroes;
	int buffered;
};

struct worker {
	pthread_t tid;
	const struct opts *o;
	unsigned int idx;
	uint64_t writes, zeroouts, discards, syncs, errors;
	char err[256];
};

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void fill_block(void *buf, uint64_t block, uint32_t gen)
{
	uint64_t seed = (block << 32 | gen) ^ 0x9e3779b97f4a7c15ULL;
	uint64_t *w = buf;
	uint32_t *h = buf;
	unsigned int i;

	for (i = 0; i < BLK / 8; i++)
		w[i] = xorshift(&seed);
	h[0] = MAGIC;
	h[1] = (uint32_t)block;
	h[2] = gen;
}

static int open_dev_flags(const char *dev, int flags)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC | flags);

	if (fd < 0)
		fprintf(stderr, "diskverify: %s: %s\n", dev, strerror(errno));
	return fd;
}

static int open_dev(const char *dev)
{
	return open_dev_flags(dev, O_DIRECT);
}

static int dev_blocks(int fd, const char *dev)
{
	uint64_t bytes;

	if (ioctl(fd, BLKGETSIZE64, &bytes)) {
		fprintf(stderr, "diskverify: %s: not a block device (%s)\n", dev,
			strerror(errno));
		return -1;
	}
	nblocks = bytes / BLK;
	return 0;
}

static void *alloc_io(size_t bytes)
{
	void *p = NULL;

	if (posix_memalign(&p, BLK, bytes)) {
		fprintf(stderr, "diskverify: out of memory\n");
		exit(1);
	}
	return p;
}

static int cmd_fill(const char *dev)
{
	char *buf = alloc_io(IO_BLKS * BLK);
	uint64_t b, i, n;
	int fd = open_dev(dev);

	if (fd < 0 || dev_blocks(fd, dev))
		return 1;
	for (b = 0; b < nblocks; b += n) {
		n = nblocks - b < IO_BLKS ? nblocks - b : IO_BLKS;
		for (i = 0; i < n; i++)
			fill_block(buf + i * BLK, b + i, 0);
		if (pwrite(fd, buf, n * BLK, (off_t)(b * BLK)) != (ssize_t)(n * BLK)) {
			fprintf(stderr, "diskverify: fill %s at block %llu: %s\n", dev,
				(unsigned long long)b, strerror(errno));
			return 1;
		}
	}
	if (fdatasync(fd)) {
		fprintf(stderr, "diskverify: fdatasync %s: %s\n", dev, strerror(errno));
		return 1;
	}
	close(fd);
	free(buf);
	printf("filled %s: %llu blocks\n", dev, (unsigned long long)nblocks);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void worker_fail(struct worker *w, const char *what, uint64_t b,
			uint64_t n, int err)
{
	w->errors++;
	if (!w->err[0])
		snprintf(w->err, sizeof(w->err), "%s blocks %llu+%llu: %s", what,
			 (unsigned long long)b, (unsigned long long)n, strerror(err));
}

/*
 * Before an operation on blocks [first, first + n) is issued: what they
 * will hold. The system call that issues it comes after these stores in
 * program order and is a compiler barrier; a thread stopped or killed
 * later has made them visible in the shared mapping.
 */
static void model_begin(uint64_t first, uint64_t n, uint32_t gen)
{
	uint64_t i;

	if (!pending)
		return;
	for (i = 0; i < n; i++)
		__atomic_store_n(&pending[first + i], gen, __ATOMIC_RELEASE);
}

/* Once it completed: what they hold. */
static void model_commit(uint64_t first, uint64_t n, uint32_t gen)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		model[first + i] = gen;
		if (pending)
			pending[first + i] = gen;
	}
}

/* It was not done: they hold what they held. */
static void model_abort(uint64_t first, uint64_t n)
{
	uint64_t i;

	for (i = 0; pending && i < n; i++)
		pending[first + i] = model[first + i];
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	uint64_t nchunks = nblocks / CHUNK_BLKS, mine, seed, ops = 0;
	char *buf = alloc_io(CHUNK_BLKS * BLK);
	double start = now_s(), period = o->iops ? 1.0 / o->iops : 0;
	int fd = open_dev_flags(o->dev, o->buffered ? 0 : O_DIRECT);
	int zeroout = !!o->zeroout_pct;
	int discard = !!o->discard_pct;

	seed = 0x1234567ULL * (w->idx + 1) ^ (uint64_t)time(NULL);
	mine = (nchunks + o->threads - 1 - w->idx) / o->threads;
	if (fd < 0 || !mine) {
		worker_fail(w, "open", 0, 0, fd < 0 ? errno : EINVAL);
		return NULL;
	}
	while (!stop && (!o->seconds || now_s() - start < o->seconds)) {
		uint64_t chunk = (xorshift(&seed) % mine) * o->threads + w->idx;
		uint64_t first = chunk * CHUNK_BLKS + xorshift(&seed) % CHUNK_BLKS;
		uint64_t room = (chunk + 1) * CHUNK_BLKS - first;
		uint64_t n = 1 + xorshift(&seed) % (o->max_blks < room ? o->max_blks : room);
		unsigned int dice = (unsigned int)(xorshift(&seed) % 100);
		uint64_t range[2] = { first * BLK, n * BLK }, i;
		uint32_t dgen = o->discard_zeroes ? GEN_ZERO : GEN_UNKNOWN;

		if (zeroout && dice < o->zeroout_pct) {
			model_begin(first, n, GEN_ZERO);
			if (ioctl(fd, BLKZEROOUT, range)) {
				/* Partly done, maybe: pending stays. */
				worker_fail(w, "zeroout", first, n, errno);
			} else {
				model_commit(first, n, GEN_ZERO);
				w->zeroouts++;
			}
		} else if (discard && dice < o->zeroout_pct + o->discard_pct) {
			model_begin(first, n, dgen);
			if (ioctl(fd, BLKDISCARD, range)) {
				if (errno == EOPNOTSUPP) {
					model_abort(first, n);
					discard = 0;	/* the device cannot */
				} else {
					worker_fail(w, "discard", first, n, errno);
				}
			} else {
				model_commit(first, n, dgen);
				w->discards++;
			}
		} else {
			uint32_t gen = __atomic_fetch_add(&next_gen, 1, __ATOMIC_RELAXED);

			for (i = 0; i < n; i++)
				fill_block(buf + i * BLK, first + i, gen);
			model_begin(first, n, gen);
			if (pwrite(fd, buf, n * BLK, (off_t)(first * BLK)) !=
			    (ssize_t)(n * BLK)) {
				worker_fail(w, "write", first, n, errno);
				model_commit(first, n, GEN_UNKNOWN);
			} else {
				model_commit(first, n, gen);
				w->writes++;
			}
		}
		ops++;
		if (o->sync_every && ops % o->sync_every == 0) {
			if (fdatasync(fd))
				worker_fail(w, "fdatasync", 0, 0, errno);
			w->syncs++;
		}
		if (period) {
			double due = start + ops * period, t = now_s();

			if (due > t) {
				struct timespec ts = { (time_t)(due - t),
					(long)((due - t - (time_t)(due - t)) * 1e9) };

				nanosleep(&ts, NULL);
			}
		}
	}
	if (fdatasync(fd))
		worker_fail(w, "fdatasync", 0, 0, errno);
	close(fd);
	free(buf);
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int save_model(const char *path)
{
	uint32_t hdr[2] = { MODEL_MAGIC, (uint32_t)nblocks };
	FILE *f = fopen(path, "w");

	if (!f || fwrite(hdr, sizeof(hdr), 1, f) != 1 ||
	    fwrite(model, sizeof(*model), nblocks, f) != nblocks || fclose(f)) {
		fprintf(stderr, "diskverify: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Either kind; pending is NULL after loading a saved model. */
static int load_model(const char *path)
{
	uint32_t hdr[2];
	FILE *f = fopen(path, "r");

	if (!f || fread(hdr, sizeof(hdr), 1, f) != 1 ||
	    (hdr[0] != MODEL_MAGIC && hdr[0] != SHARED_MAGIC)) {
		fprintf(stderr, "diskverify: %s: not a model\n", path);
		return -1;
	}
	nblocks = hdr[1];
	model = calloc(nblocks, sizeof(*model));
	if (hdr[0] == SHARED_MAGIC)
		pending = calloc(nblocks, sizeof(*pending));
	if (!model || fread(model, sizeof(*model), nblocks, f) != nblocks ||
	    (hdr[0] == SHARED_MAGIC &&
	     (!pending || fread(pending, sizeof(*pending), nblocks, f) != nblocks))) {
		fprintf(stderr, "diskverify: %s: truncated\n", path);
		return -1;
	}
	fclose(f);
	return 0;
}

/*
 * Start a run from model OLD: it must say what every block holds, which a
 * shared model whose writer stopped between issuing and recording does not.
 */
static int load_from(const char *path)
{
	uint64_t i;

	if (load_model(path))
		return -1;
	for (i = 0; pending && i < nblocks; i++) {
		if (pending[i] != model[i]) {
			fprintf(stderr, "diskverify: %s: block %llu was being written when its writer stopped; its content is not known\n",
				path, (unsigned long long)i);
			return -1;
		}
	}
	free(pending);
	pending = NULL;
	return 0;
}

/*
 * Put the model (all generation 0, or what model holds) into FILE, mapped
 * shared: committed generations, then pending ones.
 */
static int shared_create(const char *path)
{
	size_t bytes = (2 + 2 * nblocks) * sizeof(uint32_t);
	uint32_t *map, *old = model;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)bytes)) {
		fprintf(stderr, "diskverify: %s: %s\n", path, strerror(errno));
		return -1;
	}
	map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		fprintf(stderr, "diskverify: mmap %s: %s\n", path, strerror(errno));
		return -1;
	}
	map[0] = SHARED_MAGIC;
	map[1] = (uint32_t)nblocks;
	model = map + 2;
	pending = model + nblocks;
	if (old) {
		memcpy(model, old, nblocks * sizeof(*model));
		memcpy(pending, old, nblocks * sizeof(*pending));
		free(old);
	}
	return 0;
}

/* model_path: where to save the model at the end; NULL with --shared-model. */
static int cmd_run(struct opts *o, const char *model_path)
{
	uint64_t writes = 0, zeroouts = 0, discards = 0, syncs = 0, errors = 0;
	struct sigaction sa = { .sa_handler = on_signal };
	struct worker *w;
	unsigned int i;
	int fd = open_dev(o->dev);

	if (fd < 0 || dev_blocks(fd, o->dev))
		return 1;
	close(fd);
	if (o->from) {
		uint64_t have = nblocks;

		if (load_from(o->from))
			return 1;
		if (nblocks != have) {
			fprintf(stderr, "diskverify: %s is for %llu blocks, %s has %llu\n",
				o->from, (unsigned long long)nblocks, o->dev,
				(unsigned long long)have);
			return 1;
		}
	} else if (!o->shared) {
		model = calloc(nblocks, sizeof(*model));	/* all generation 0 */
	}
	if (o->shared && shared_create(o->shared))
		return 1;
	w = calloc(o->threads, sizeof(*w));
	/* Generations differ from run to run: stale data never matches. */
	next_gen = ((uint32_t)time(NULL) & 0x3fffffffU) | 1;
	if (!model || !w)
		return 1;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0; i < o->threads; i++) {
		w[i].o = o;
		w[i].idx = i;
		pthread_create(&w[i].tid, NULL, worker_run, &w[i]);
	}
	for (i = 0; i < o->threads; i++) {
		pthread_join(w[i].tid, NULL);
		writes += w[i].writes;
		zeroouts += w[i].zeroouts;
		discards += w[i].discards;
		syncs += w[i].syncs;
		errors += w[i].errors;
		if (w[i].err[0])
			fprintf(stderr, "diskverify: thread %u: %s\n", i, w[i].err);
	}
	printf("wrote %s: %llu writes %llu zeroouts %llu discards %llu syncs %llu errors\n",
	       o->dev, (unsigned long long)writes, (unsigned long long)zeroouts,
	       (unsigned long long)discards, (unsigned long long)syncs,
	       (unsigned long long)errors);
	if (o->shared) {
		if (msync(model - 2, (2 + 2 * nblocks) * sizeof(uint32_t), MS_SYNC)) {
			fprintf(stderr, "diskverify: msync %s: %s\n", o->shared,
				strerror(errno));
			return 1;
		}
	} else if (save_model(model_path)) {
		return 1;
	}
	return errors ? 1 : 0;
}

/* Does data (block number block) hold generation gen? want: scratch. */
static int holds(const char *data, uint64_t block, uint32_t gen, char *want)
{
	if (gen == GEN_ZERO)
		memset(want, 0, BLK);
	else
		fill_block(want, block, gen);
	return !memcmp(want, data, BLK);
}

static int cmd_verify(const char *dev, const char *model_path)
{
	char *buf = alloc_io(IO_BLKS * BLK), *want = alloc_io(BLK);
	uint64_t b, i, n, bad = 0, unknown = 0, npending = 0, have;
	int fd = open_dev(dev);

	if (fd < 0 || load_model(model_path))
		return 1;
	have = nblocks;
	if (dev_blocks(fd, dev))
		return 1;
	if (nblocks < have) {
		fprintf(stderr, "diskverify: %s has %llu blocks, the model %llu\n", dev,
			(unsigned long long)nblocks, (unsigned long long)have);
		return 1;
	}
	nblocks = have;
	for (b = 0; b < nblocks; b += n) {
		n = nblocks - b < IO_BLKS ? nblocks - b : IO_BLKS;
		if (pread(fd, buf, n * BLK, (off_t)(b * BLK)) != (ssize_t)(n * BLK)) {
			fprintf(stderr, "diskverify: read %s at block %llu: %s\n", dev,
				(unsigned long long)b, strerror(errno));
			return 1;
		}
		for (i = 0; i < n; i++) {
			uint32_t gen = model[b + i];
			uint32_t pgen = pending ? pending[b + i] : gen;
			const char *data = buf + i * BLK;
			const uint32_t *h = (const uint32_t *)data;

			if (gen == GEN_UNKNOWN || pgen == GEN_UNKNOWN) {
				unknown++;
				continue;
			}
			if (holds(data, b + i, gen, want))
				continue;
			if (pgen != gen && holds(data, b + i, pgen, want)) {
				npending++;
				continue;
			}
			if (bad++ >= 5)
				continue;
			if (pgen != gen)
				fprintf(stderr, "diskverify: %s block %llu: want generation %d or %d (being written), found magic %08x block %u generation %u\n",
					dev, (unsigned long long)(b + i), (int)gen,
					(int)pgen, h[0], h[1], h[2]);
			else
				fprintf(stderr, "diskverify: %s block %llu: want generation %d, found magic %08x block %u generation %u\n",
					dev, (unsigned long long)(b + i), (int)gen,
					h[0], h[1], h[2]);
		}
	}
	close(fd);
	printf("verify %s: %llu blocks, %llu bad, %llu unknown (discarded)", dev,
	       (unsigned long long)nblocks, (unsigned long long)bad,
	       (unsigned long long)unknown);
	if (pending)
		printf(", %llu pending (written, not recorded)", (unsigned long long)npending);
	printf("\n");
	return bad ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: diskverify fill DEV\n"
		"       diskverify run DEV {MODEL | --shared-model FILE} [--seconds S] [--threads N]\n"
		"                      [--iops N] [--max-kb K] [--zeroout-pct P] [--discard-pct P]\n"
		"                      [--discard-zeroes] [--sync-every N] [--from OLD] [--buffered]\n"
		"       diskverify verify DEV MODEL\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = { .threads = 2, .max_blks = CHUNK_BLKS, .sync_every = 16 };
	const char *model_path = NULL;
	int i = 3;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "fill"))
		return cmd_fill(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "verify"))
		return cmd_verify(argv[2], argv[3]);
	if (argc < 4 || strcmp(argv[1], "run"))
		return usage();
	o.dev = argv[2];
	if (strncmp(argv[3], "--", 2))
		model_path = argv[i++];
	for (; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--discard-zeroes")) {
			o.discard_zeroes = 1;
			continue;
		}
		if (!strcmp(argv[i], "--buffered")) {
			o.buffered = 1;
			continue;
		}
		if (!v)
			return usage();
		if (!strcmp(argv[i], "--seconds"))
			o.seconds = atof(v);
		else if (!strcmp(argv[i], "--threads"))
			o.threads = (unsigned int)atoi(v);
		else if (!strcmp(argv[i], "--iops"))
			o.iops = (unsigned int)atoi(v);
		else if (!strcmp(argv[i], "--max-kb"))
			o.max_blks = (unsigned int)atoi(v) / 4;
		else if (!strcmp(argv[i], "--zeroout-pct"))
			o.zeroout_pct = (unsigned int)atoi(v);
		else if (!strcmp(argv[i], "--discard-pct"))
			o.discard_pct = (unsigned int)atoi(v);
		else if (!strcmp(argv[i], "--sync-every"))
			o.sync_every = (unsigned int)atoi(v);
		else if (!strcmp(argv[i], "--from"))
			o.from = v;
		else if (!strcmp(argv[i], "--shared-model"))
			o.shared = v;
		else
			return usage();
		i++;
	}
	if (!o.threads || !o.max_blks || o.max_blks > CHUNK_BLKS ||
	    o.zeroout_pct + o.discard_pct > 100 || !model_path == !o.shared)
		return usage();
	return cmd_run(&o, model_path);
}
