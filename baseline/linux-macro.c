/*
 * linux-macro: the Linux counterparts of exocore's macro workloads, printed
 * in exocore's own figure format (EXOJSON lines, as baseline/linux-bench.c):
 *
 *  - memscan (workloads/memscan.c on exocore): a region of anonymous memory
 *    larger than a frame budget, touched in one of four patterns (seq, loop,
 *    uniform, zipf) from the same reference string exocore's memscan makes
 *    (same generator, same seed), inside a cgroup v2 whose memory.max leaves
 *    the region `frames` pages, swap on a virtio disk. Figures: faults
 *    (pgfault), swap reads and writes (pswpin, pswpout), major faults, pages
 *    touched per second, cycles per access, and the region's resident pages
 *    at the end (mincore: the budget Linux actually kept);
 *  - kvstore (workloads/kvstore.c): a server process pinned to core 0
 *    holding the same hash table, clients pinned to the other cores (core 0
 *    if it is the only one), each operation a request and a reply over a
 *    pair of pipes. Figures: kv_latency per client (with p99), kv_ops_per_s,
 *    kv_latency_p99_worst_client.
 *
 * Three ways to run:
 *  - as /init (PID 1) of the initramfs `tools/exo baseline --macro` packs:
 *    mounts /proc, /sys, /dev (devtmpfs) and cgroup2, loads the virtio
 *    modules listed in /modules/order (finit_module, in that order), writes a
 *    swap header on /dev/vda and swapon's it, enables +memory, and runs what
 *    the environment asks (the kernel hands unknown key=value words of its
 *    command line to init): macro_run=memscan,kvstore; scan_patterns=
 *    seq,loop,uniform,zipf; scan_frames=16,48; scan_pages, scan_accesses,
 *    scan_write_pct, scan_theta, scan_seed; kv_clients, kv_ops, kv_get_pct,
 *    kv_keys, kv_skew_pct, kv_seed. Ends QEMU through isa-debug-exit (0xf4);
 *  - on the host: `linux-macro memscan pattern=loop frames=16 ...` or
 *    `linux-macro kvstore clients=1 ops=1000`, no cgroup and no swap (the
 *    scan itself and its figures; what `ninja check` runs);
 *  - `linux-macro mkswap FILE`: write the swap header into FILE (its size
 *    gives last_page), the same code /init uses on /dev/vda (tested).
 * The last line is "linux-macro: done, N figures, F failures".
 *
 * Build: cc -O2 -static -pthread -o linux-macro linux-macro.c -lm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define EXIT_PORT 0xf4
#define PAGE 4096UL
#define ACC_MAX 16384 /* memscan's own limits */
#define PAGES_MAX 512
#define CG "/sys/fs/cgroup"
#define CG_SCAN CG "/scan"
#define SWAPDEV "/dev/vda"

static unsigned failures, nfigures;
static int as_init;
static char cg_dir[64]; /* the scan's cgroup, or "" (host: none) */
static char swap_note[64] = "none";

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void fail(const char *what)
{
	printf("linux-macro: %s failed: %s\n", what, strerror(errno));
	fflush(stdout);
	failures++;
}

/* One figure line; a single value is median = min = max, n = 1 (as exocore's
 * libos_figure_value). extra: more JSON members, starting with a comma. */
static void figure(const char *name, const char *unit, uint64_t median, uint64_t min, uint64_t max,
		   uint64_t n, const char *extra)
{
	printf("EXOJSON {\"figure\":\"%s\",\"linux\":\"%s\",\"os\":\"linux\",\"unit\":\"%s\","
	       "\"median\":%llu,\"min\":%llu,\"max\":%llu,\"n\":%llu,\"core\":%d,"
	       "\"cores_running\":1%s}\n",
	       name, name, unit, (unsigned long long)median, (unsigned long long)min,
	       (unsigned long long)max, (unsigned long long)n, sched_getcpu(), extra);
	fflush(stdout);
	nfigures++;
}

static void value(const char *name, const char *unit, uint64_t v, const char *extra)
{
	figure(name, unit, v, v, v, 1, extra);
}

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	errno = e;
	return w == (ssize_t)strlen(s) ? 0 : -1;
}

/* A number from a "key value" file (/proc/vmstat, memory.stat), or -1. */
static int64_t stat_of(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char k[64];
	long long v;
	int64_t out = -1;
	while (fscanf(f, "%63s %lld", k, &v) == 2)
		if (strcmp(k, key) == 0) {
			out = v;
			break;
		}
	fclose(f);
	return out;
}

static int64_t number_of(const char *path)
{
	FILE *f = fopen(path, "r");
	long long v = -1;
	if (!f || fscanf(f, "%lld", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

/* ------------------------------------------------------------------ */
/* The swap header (include/linux/swap.h's union swap_header): page 0 holds
 * version 1 and last_page at offset 1024 and "SWAPSPACE2" in its last ten
 * bytes. Returns 0, or -1 with errno. */

int write_swap_header(int fd, uint64_t bytes)
{
	static unsigned char page[PAGE];
	if (bytes < 10 * PAGE) {
		errno = ENOSPC;
		return -1;
	}
	uint64_t last = bytes / PAGE - 1;
	if (last > 0xffffffffULL)
		last = 0xffffffffULL;
	memset(page, 0, sizeof(page));
	uint32_t info[3] = { 1, (uint32_t)last, 0 }; /* version, last_page, nr_badpages */
	memcpy(page + 1024, info, sizeof(info));
	/* sws_uuid (16 bytes at 1036): any; sws_volume (16 at 1052): a label. */
	for (int i = 0; i < 16; i++)
		page[1036 + i] = (unsigned char)(0x5a ^ (i * 37));
	memcpy(page + 1052, "exocore-swap", 12);
	memcpy(page + PAGE - 10, "SWAPSPACE2", 10);
	if (pwrite(fd, page, PAGE, 0) != (ssize_t)PAGE)
		return -1;
	return fsync(fd);
}

/* ------------------------------------------------------------------ */
/* memscan */

static uint32_t trace[ACC_MAX];
static uint64_t writes[ACC_MAX / 64];
static double cdf[PAGES_MAX];

static uint64_t pager_rand(uint64_t *state) /* exocore's libos/pager_impl.h */
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static unsigned zipf_pick(unsigned pages, uint64_t *rng)
{
	double u = (double)(pager_rand(rng) >> 11) / (double)(1ULL << 53) * cdf[pages - 1];
	unsigned lo = 0, hi = pages - 1;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct scan {
	int quiet; /* the warm-up: no figures */
	int tries; /* this is the scan's tries-th process */
	const char *pattern;
	unsigned frames, pages, accesses, write_pct, theta;
	uint64_t seed;
};

#define LIMIT_DID_NOT_HOLD 7
#define SCAN_TRIES 4

struct counters {
	int64_t pgfault, pgmajfault, pswpin, pswpout;
};

static void counters(struct counters *c)
{
	c->pgfault = stat_of("/proc/vmstat", "pgfault");
	c->pgmajfault = stat_of("/proc/vmstat", "pgmajfault");
	c->pswpin = stat_of("/proc/vmstat", "pswpin");
	c->pswpout = stat_of("/proc/vmstat", "pswpout");
}

static uint64_t delta(int64_t a, int64_t b)
{
	return a >= 0 && b >= a ? (uint64_t)(b - a) : 0;
}

/* The region's pages resident now (mincore: mapped or in the swap cache). */
static unsigned resident_pages(const char *region, unsigned pages)
{
	unsigned char vec[PAGES_MAX];
	unsigned n = 0;
	if (mincore((void *)region, pages * PAGE, vec) == 0)
		for (unsigned p = 0; p < pages; p++)
			n += vec[p] & 1;
	return n;
}

/*
 * memory.max = what the cgroup holds besides `resident` pages of the region,
 * plus `frames` pages. memory.current also counts the per-cpu charge stock
 * (up to 64 pages charged ahead and consumed by later faults without moving
 * the counter: the region would get them on top of the budget). A batch is
 * charged only when 64 pages fit under memory.max, so first memory.max just
 * above the usage (no new stock can form), then a memory.high below it,
 * which drains the stock (memory_high_write; unlike memory.max it never
 * calls the OOM killer), then the usage is read without the stock. A limit
 * below the usage is reached through memory.high (reclaim, no OOM kill).
 */
static int set_limit(unsigned frames, unsigned resident, uint64_t *limit)
{
	char mx[96], cur[96], high[96], buf[32];
	snprintf(cur, sizeof(cur), "%s/memory.current", cg_dir);
	snprintf(mx, sizeof(mx), "%s/memory.max", cg_dir);
	snprintf(high, sizeof(high), "%s/memory.high", cg_dir);
	int64_t c = number_of(cur);
	if (c > (int64_t)PAGE) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(c + 16 * PAGE));
		if (write_file(mx, buf) != 0)
			fail("memory.max above the usage");
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)(c - PAGE));
		if (write_file(high, buf) != 0 || write_file(high, "max") != 0)
			fail("drain the charge stock (memory.high)");
		c = number_of(cur);
	}
	if (c < 0) {
		fail("read memory.current");
		return -1;
	}
	uint64_t other =
	    (uint64_t)c > (uint64_t)resident * PAGE ? (uint64_t)c - resident * PAGE : 0;
	*limit = other + (uint64_t)frames * PAGE;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)*limit);
	if ((uint64_t)c > *limit) {
		/* Reclaim down to it through memory.high; a memory.max below what
		 * that left would call the OOM killer: never below the usage. */
		if (write_file(high, buf) != 0)
			fail("memory.high down to the budget");
		c = number_of(cur);
		if (c > 0 && (uint64_t)c > *limit) {
			*limit = (uint64_t)c;
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)*limit);
		}
	}
	printf("linux-macro:   limit: usage %lld, region resident %u, memory.max %llu (%llu pages"
	       " besides the region)\n",
	       (long long)c, resident, (unsigned long long)*limit,
	       (unsigned long long)(*limit / PAGE - frames));
	fflush(stdout);
	if (write_file(mx, buf) != 0 || write_file(high, "max") != 0) {
		fail("write memory.max");
		return -1;
	}
	return 0;
}

/* The scan itself, in a child process (inside the cgroup when there is one):
 * 0 if it ran and printed its figures. */
static int memscan_child(const struct scan *s)
{
	int kind = strcmp(s->pattern, "seq") == 0	? 0
		   : strcmp(s->pattern, "loop") == 0	? 1
		   : strcmp(s->pattern, "uniform") == 0 ? 2
		   : strcmp(s->pattern, "zipf") == 0	? 3
							: -1;
	unsigned frames = s->frames, pages = s->pages;
	unsigned n = s->accesses < ACC_MAX ? s->accesses : ACC_MAX;
	if (kind < 0 || !frames || s->write_pct > 100 || !n) {
		printf("memscan: pattern must be seq, loop, uniform or zipf; frames >= 1; "
		       "write_pct <= 100; accesses >= 1\n");
		return 2;
	}
	if (!pages)
		pages = kind == 1 ? frames + (frames / 8 > 1 ? frames / 8 : 1) : frames * 3;
	if (pages > PAGES_MAX)
		pages = PAGES_MAX;
	uint64_t rng = s->seed;
	if (kind == 3) {
		double acc = 0, theta = s->theta / 100.0;
		for (unsigned i = 0; i < pages; i++) {
			acc += exp(-theta * log((double)(i + 1)));
			cdf[i] = acc;
		}
	}
	memset(writes, 0, sizeof(writes));
	for (unsigned i = 0; i < n; i++) {
		unsigned pg = kind <= 1	  ? i % pages
			      : kind == 2 ? (unsigned)(pager_rand(&rng) % pages)
					  : zipf_pick(pages, &rng);
		trace[i] = pg;
		if (pager_rand(&rng) % 100 < s->write_pct)
			writes[i / 64] |= 1ULL << (i % 64);
	}
	/* The cgroup's limit covers the whole process, exocore's budget only the
	 * region: the reference string the scan reads as it goes is locked, so
	 * reclaim cannot take it instead of region pages. (mlockall would also
	 * lock all of bss, which the limit then has no room for.) */
	if (cg_dir[0] && (mlock(trace, n * sizeof(trace[0])) != 0 ||
			  mlock(writes, (n + 63) / 64 * sizeof(writes[0])) != 0)) {
		fail("mlock the reference string");
		return 3;
	}
	char *region =
	    mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		fail("mmap region");
		return 3;
	}
	/* Under the limit (set_limit): what this process holds besides the
	 * region, plus the budget. */
	uint64_t limit = 0;
	unsigned resident = 0;
	if (cg_dir[0] && set_limit(frames, 0, &limit) != 0)
		return 4;
	/* A read of untouched anonymous memory maps the shared zero page and
	 * charges nothing: give every page of the region its own frame first
	 * (a write), as exocore's pager does at first touch. Not timed. */
	for (unsigned p = 0; p < pages; p++)
		region[(size_t)p * PAGE] = 1;
	resident = resident_pages(region, pages);
	if (cg_dir[0] && resident > frames)
		printf("linux-macro:   %u of the region's pages resident after writing it (the swap"
		       " cache included), budget %u\n",
		       resident, frames);
	/* Over halfway from the budget to the whole region: the limit did not
	 * bite (a charge stock left over; see warm_cgroup). A new process. */
	if (cg_dir[0] && resident > frames + (pages - frames) / 2)
		return LIMIT_DID_NOT_HOLD;
	struct counters a, b;
	counters(&a);
	uint64_t sum = 0, t0 = now_ns(), c0 = rdtsc();
	for (unsigned i = 0; i < n; i++) {
		volatile uint64_t *va =
		    (volatile uint64_t *)(region + (size_t)trace[i] * PAGE + (i % 512) * 8);
		if (writes[i / 64] >> (i % 64) & 1)
			*va = i;
		else
			sum += *va;
	}
	uint64_t cycles = rdtsc() - c0, ns = now_ns() - t0;
	/* Before reading the counters: that allocates, and a charge at the limit
	 * reclaims a batch of up to 32 pages. */
	unsigned resident_end = resident_pages(region, pages);
	counters(&b);
	resident = resident_end;
	if (s->quiet)
		return 0;
	char extra[320];
	snprintf(
	    extra, sizeof(extra),
	    ",\"pattern\":\"%s\",\"pages\":%u,\"frames\":%u,\"accesses\":%u,\"write_pct\":%u,"
	    "\"theta\":%u,\"seed\":%llu,\"pager\":\"linux\",\"memory_max\":%llu,\"swap\":\"%s\","
	    "\"tries\":%d",
	    s->pattern, pages, frames, n, s->write_pct, s->theta, (unsigned long long)s->seed,
	    (unsigned long long)limit, swap_note, s->tries ? s->tries : 1);
	value("memscan_faults", "faults", delta(a.pgfault, b.pgfault), extra);
	value("memscan_rate", "pages/s", ns ? (uint64_t)((double)n * 1e9 / (double)ns) : 0, extra);
	value("memscan_cycles_per_access", "cycles", cycles / n, extra);
	value("vm_swap_reads", "pages", delta(a.pswpin, b.pswpin), extra);
	value("vm_swap_writes", "pages", delta(a.pswpout, b.pswpout), extra);
	value("linux_major_faults", "faults", delta(a.pgmajfault, b.pgmajfault), extra);
	value("linux_resident_pages", "pages", resident, extra);
	printf("memscan: linux %s pages %u frames %u accesses %u: faults %llu major %llu swap r/w "
	       "%llu/%llu resident %u (sum %llu)\n",
	       s->pattern, pages, frames, n, (unsigned long long)delta(a.pgfault, b.pgfault),
	       (unsigned long long)delta(a.pgmajfault, b.pgmajfault),
	       (unsigned long long)delta(a.pswpin, b.pswpin),
	       (unsigned long long)delta(a.pswpout, b.pswpout), resident,
	       (unsigned long long)(sum & 1));
	fflush(stdout);
	return failures ? 5 : 0;
}

/* One scan in a fresh process, moved into the scan cgroup first (so the
 * region's memory is its own and freed when it exits). */
static int memscan_once(const struct scan *s);

static void memscan(const struct scan *s)
{
	/* Under a budget this small Linux's memcg reclaim sometimes finds
	 * nothing it can free at once (everything under swap writeback) and
	 * calls the OOM killer: that try is discarded too, and counted. */
	struct scan t = *s;
	for (t.tries = 1;; t.tries++) {
		int r = memscan_once(&t);
		if (r != 100 + LIMIT_DID_NOT_HOLD && r != -SIGKILL)
			return;
		printf("linux-macro: memscan %s frames %u: %s, again (%d of %d)\n", s->pattern,
		       s->frames, r == -SIGKILL ? "OOM-killed" : "the limit did not hold", t.tries,
		       SCAN_TRIES);
		if (t.tries == SCAN_TRIES && r == -SIGKILL) {
			/* A result, not a failure: Linux cannot run this scan in
			 * this budget. Said as a figure of its own. */
			unsigned pages = s->pages ? s->pages
					 : strcmp(s->pattern, "loop") == 0
					     ? s->frames + (s->frames / 8 > 1 ? s->frames / 8 : 1)
					     : s->frames * 3;
			char extra[256];
			snprintf(extra, sizeof(extra),
				 ",\"pattern\":\"%s\",\"pages\":%u,\"frames\":%u,\"accesses\":%u,"
				 "\"write_pct\":%u,\"theta\":%u,\"seed\":%llu,\"pager\":\"linux\","
				 "\"swap\":\"%s\",\"tries\":%d",
				 s->pattern, pages > PAGES_MAX ? PAGES_MAX : pages, s->frames,
				 s->accesses, s->write_pct, s->theta, (unsigned long long)s->seed,
				 swap_note, t.tries);
			value("memscan_oom_kills", "kills", (uint64_t)t.tries, extra);
			return;
		}
		if (t.tries == SCAN_TRIES) {
			failures++;
			return;
		}
	}
}

/* One try: 100 + the child's status if it ended with one of its own, else 0. */
static int memscan_try(const struct scan *s);

/* One try in its own cgroup, removed after (memory still charged to it goes
 * with it). */
static int memscan_once(const struct scan *s)
{
	int r = memscan_try(s);
	if (cg_dir[0])
		(void)rmdir(cg_dir);
	return r;
}

static int memscan_try(const struct scan *s)
{
	/* Each try in a fresh cgroup whose memory.max leaves less than 64 pages
	 * of room from the start, so no charge stock can form before set_limit
	 * reads the usage (a batch is charged only when 64 pages fit). */
	if (cg_dir[0]) {
		static unsigned made;
		char path[96];
		snprintf(cg_dir, sizeof(cg_dir), "%s/scan%u", CG, ++made);
		if (mkdir(cg_dir, 0755) != 0 && errno != EEXIST) {
			fail("mkdir a scan cgroup");
			return 0;
		}
		snprintf(path, sizeof(path), "%s/memory.max", cg_dir);
		if (write_file(path, "163840") != 0) /* 40 pages */
			fail("memory.max of a new scan cgroup");
		snprintf(path, sizeof(path), "%s/memory.swap.max", cg_dir);
		if (write_file(path, "max") != 0)
			fail("memory.swap.max");
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		nfigures = failures = 0;
		if (cg_dir[0]) {
			char path[96];
			snprintf(path, sizeof(path), "%s/cgroup.procs", cg_dir);
			if (write_file(path, "0") != 0) {
				fail("join the scan cgroup");
				_exit(6);
			}
		}
		int r = memscan_child(s);
		fflush(stdout);
		/* The parent counts the figures: the status carries how many. */
		_exit(r ? 100 + r : (int)(nfigures & 63));
	}
	if (pid < 0) {
		fail("fork");
		return 0;
	}
	int st;
	if (waitpid(pid, &st, 0) != pid) {
		fail("waitpid");
		return 0;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) < 100) {
		nfigures += WEXITSTATUS(st);
		return 0;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 100 + LIMIT_DID_NOT_HOLD)
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL && cg_dir[0])
		return -SIGKILL;
	if (WIFSIGNALED(st))
		printf("linux-macro: memscan %s frames %u: killed by signal %d (the OOM killer?)\n",
		       s->pattern, s->frames, WTERMSIG(st));
	else
		printf("linux-macro: memscan %s frames %u: status %d\n", s->pattern, s->frames,
		       WEXITSTATUS(st));
	failures++;
	if (cg_dir[0]) { /* the scan's memory.events says why */
		char path[96], line[128];
		snprintf(path, sizeof(path), "%s/memory.events", cg_dir);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			printf("linux-macro:   memory.events %s", line);
		if (f)
			fclose(f);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* kvstore: the server's table as exocore's (open addressing, linear probing). */

#define KV_TABLE 8192
#define KV_MAX_OPS 10000
#define KV_MAX_CLIENTS 31
enum { OP_GET = 1, OP_PUT, OP_DONE };

struct kv_req {
	uint64_t w[8];
};
struct kv_rep {
	uint64_t w[2];
};

static struct {
	uint64_t key, val;
} table[KV_TABLE];
static uint64_t stored;

static uint64_t *lookup(uint64_t key, int insert)
{
	for (uint64_t i = ((key * 0x9E3779B97F4A7C15ULL) >> 40) & (KV_TABLE - 1);;
	     i = (i + 1) & (KV_TABLE - 1)) {
		if (table[i].key == key)
			return &table[i].val;
		if (!table[i].key) {
			if (!insert || stored >= KV_TABLE / 2)
				return NULL;
			table[i].key = key;
			stored++;
			return &table[i].val;
		}
	}
}

struct kv {
	unsigned clients;
	uint64_t ops, get_pct, keys, skew_pct, seed;
};

static int full_io(int fd, void *buf, size_t len, int out)
{
	size_t done = 0;
	while (done < len) {
		ssize_t r = out ? write(fd, (char *)buf + done, len - done)
				: read(fd, (char *)buf + done, len - done);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)r;
	}
	return 0;
}

static uint64_t rnd(uint64_t *s) /* workloads/kvstore.c's */
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t lat[KV_MAX_OPS];

static int kv_client(const struct kv *k, unsigned id, int cpu, int req_fd, int rep_fd)
{
	if (pin(cpu) != 0)
		return 10;
	uint64_t ops = k->ops < KV_MAX_OPS ? k->ops : KV_MAX_OPS;
	uint64_t keys = k->keys < 1 ? 1 : k->keys > KV_TABLE / 2 ? KV_TABLE / 2 : k->keys;
	uint64_t r = (k->seed + id) * 0x9E3779B97F4A7C15ULL | 1, bad = 0;
	struct kv_req req = { { 0 } };
	struct kv_rep rep;
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t x = rnd(&r), hot = keys / 10 > 1 ? keys / 10 : 1;
		uint64_t key = x % 100 < k->skew_pct ? (x >> 8) % hot : (x >> 8) % keys;
		int get = (x >> 40) % 100 < k->get_pct;
		req.w[0] = get ? OP_GET : OP_PUT;
		req.w[1] = key;
		req.w[2] = key * 3 + 1;
		uint64_t s = rdtsc();
		if (full_io(req_fd, &req, sizeof(req), 1) || full_io(rep_fd, &rep, sizeof(rep), 0))
			return 11;
		lat[i] = rdtsc() - s;
		bad += get && rep.w[0] && rep.w[1] != key * 3 + 1;
	}
	uint64_t cycles = rdtsc() - t0;
	qsort(lat, ops, sizeof(lat[0]), cmp_u64);
	char extra[160];
	snprintf(extra, sizeof(extra),
		 ",\"client\":%u,\"p99\":%llu,\"get_pct\":%llu,\"skew_pct\":%llu,\"ipc\":\"pipe\"",
		 id, (unsigned long long)lat[ops * 99 / 100], (unsigned long long)k->get_pct,
		 (unsigned long long)k->skew_pct);
	figure("kv_latency", "cycles", lat[(ops - 1) / 2], lat[0], lat[ops - 1], ops, extra);
	req = (struct kv_req){ { OP_DONE, id, ops, cycles, lat[(ops - 1) / 2], lat[ops * 99 / 100],
				 lat[0], lat[ops - 1] } };
	if (full_io(req_fd, &req, sizeof(req), 1) || full_io(rep_fd, &rep, sizeof(rep), 0))
		return 12;
	return bad ? 13 : 0;
}

static void kvstore(const struct kv *k)
{
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = k->clients ? k->clients : ncpu > 1 ? (unsigned)ncpu - 1 : 1;
	if (n > KV_MAX_CLIENTS || !k->ops) {
		printf("linux-macro: kvstore: clients <= %d, ops >= 1\n", KV_MAX_CLIENTS);
		failures++;
		return;
	}
	memset(table, 0, sizeof(table));
	stored = 0;
	if (pin(0) != 0)
		fail("pin the server to cpu 0");
	int reqp[KV_MAX_CLIENTS][2], repp[KV_MAX_CLIENTS][2];
	pid_t pid[KV_MAX_CLIENTS];
	unsigned same = 0;
	fflush(stdout);
	for (unsigned i = 0; i < n; i++) {
		int cpu = ncpu > 1 ? 1 + (int)i % (ncpu - 1) : 0;
		same += cpu == 0;
		if (pipe(reqp[i]) || pipe(repp[i])) {
			fail("pipe");
			return;
		}
		pid[i] = fork();
		if (pid[i] == 0) {
			close(reqp[i][0]);
			close(repp[i][1]);
			nfigures = failures = 0;
			int r = kv_client(k, i, cpu, reqp[i][1], repp[i][0]);
			fflush(stdout);
			_exit(r ? 100 + r : (int)nfigures);
		}
		if (pid[i] < 0) {
			fail("fork");
			return;
		}
		close(reqp[i][1]);
		close(repp[i][0]);
	}
	struct pollfd pf[KV_MAX_CLIENTS];
	uint64_t rep_ops = 0, longest = 0, p99 = 0;
	unsigned done = 0, open_fds = n;
	for (unsigned i = 0; i < n; i++)
		pf[i] = (struct pollfd){ .fd = reqp[i][0], .events = POLLIN };
	while (done < n && open_fds) {
		if (poll(pf, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail("poll");
			break;
		}
		for (unsigned i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			struct kv_req req;
			struct kv_rep rep = { { 0, 0 } };
			if (full_io(pf[i].fd, &req, sizeof(req), 0)) {
				pf[i].fd = -1; /* that client is gone */
				open_fds--;
				continue;
			}
			uint64_t key = req.w[1] + 1, *v;
			switch (req.w[0]) {
			case OP_GET:
				v = lookup(key, 0);
				rep.w[0] = v != NULL;
				rep.w[1] = v ? *v : 0;
				break;
			case OP_PUT:
				v = lookup(key, 1);
				if (v)
					*v = req.w[2];
				rep.w[0] = v != NULL;
				break;
			case OP_DONE:
				rep_ops += req.w[2];
				longest = req.w[3] > longest ? req.w[3] : longest;
				p99 = req.w[5] > p99 ? req.w[5] : p99;
				done++;
				break;
			default:
				rep.w[0] = ~0ULL;
			}
			if (full_io(repp[i][1], &rep, sizeof(rep), 1))
				fail("reply");
		}
	}
	int bad = 0;
	for (unsigned i = 0; i < n; i++) {
		int st;
		close(reqp[i][0]);
		close(repp[i][1]);
		if (waitpid(pid[i], &st, 0) != pid[i] || !WIFEXITED(st) || WEXITSTATUS(st) >= 100) {
			printf("linux-macro: kvstore client %u ended with status %d\n", i,
			       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
			bad = 1;
		} else {
			nfigures += WEXITSTATUS(st);
		}
	}
	if (bad || done != n) {
		failures++;
		return;
	}
	/* ops/s over the longest client's time, as exocore: cycles to seconds
	 * through the TSC's rate, measured here against CLOCK_MONOTONIC. */
	uint64_t c0 = rdtsc(), t0 = now_ns();
	while (now_ns() - t0 < 20000000ULL)
		;
	double hz = (double)(rdtsc() - c0) * 1e9 / (double)(now_ns() - t0);
	char extra[200];
	snprintf(extra, sizeof(extra),
		 ",\"clients\":%u,\"same_core_clients\":%u,\"cores\":%d,\"get_pct\":%llu,"
		 "\"skew_pct\":%llu,\"ipc\":\"pipe\"",
		 n, same, ncpu, (unsigned long long)k->get_pct, (unsigned long long)k->skew_pct);
	value("kv_ops_per_s", "ops/s", longest ? (uint64_t)((double)rep_ops * hz / longest) : 0,
	      extra);
	value("kv_latency_p99_worst_client", "cycles", p99, extra);
}

/* ------------------------------------------------------------------ */
/* init's duties */

static void finish(int status)
{
	printf("linux-macro: done, %u figures, %u failures\n", nfigures, failures);
	fflush(stdout);
	if (!as_init)
		exit(status);
	tcdrain(STDOUT_FILENO);
	sync();
	if (ioperm(EXIT_PORT, 4, 1) == 0)
		outb((unsigned char)status, EXIT_PORT);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

/* Load the modules /modules/order lists (one file name a line, dependencies
 * first), as modprobe would. */
static void load_modules(void)
{
	FILE *f = fopen("/modules/order", "r");
	if (!f)
		return; /* built in, or nothing to load */
	char name[128], path[160];
	while (fscanf(f, "%127s", name) == 1) {
		snprintf(path, sizeof(path), "/modules/%s", name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) != 0) {
			if (errno != EEXIST)
				fail(path);
		}
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
}

/* Booted with maxcpus=1 (under -icount Linux hangs bringing up CPU 1 during
 * boot, docs/performance.md): bring the others online through sysfs. */
static void online_cpus(void)
{
	for (int cpu = 1; cpu < 64; cpu++) {
		char path[64];
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
		if (access(path, F_OK) != 0)
			break;
		if (write_file(path, "1") != 0)
			fail(path);
	}
}

static int setup_swap(void)
{
	int fd = -1;
	/* virtio_blk probes at module load; the node appears through devtmpfs. */
	for (int i = 0; i < 500 && (fd = open(SWAPDEV, O_RDWR)) < 0; i++)
		usleep(10000);
	if (fd < 0) {
		fail("open " SWAPDEV " (is there a virtio disk?)");
		return -1;
	}
	uint64_t bytes = 0;
	off_t end = lseek(fd, 0, SEEK_END);
	if (end > 0)
		bytes = (uint64_t)end;
	if (write_swap_header(fd, bytes) != 0) {
		fail("write the swap header");
		close(fd);
		return -1;
	}
	close(fd);
	if (swapon(SWAPDEV, 0) != 0) {
		fail("swapon " SWAPDEV);
		return -1;
	}
	snprintf(swap_note, sizeof(swap_note), "virtio %lluM", (unsigned long long)(bytes >> 20));
	printf("linux-macro: swap on %s, %llu KiB\n", SWAPDEV, (unsigned long long)(bytes >> 10));
	return 0;
}

static int setup_cgroup(void)
{
	mkdir(CG, 0755);
	if (mount("cgroup2", CG, "cgroup2", 0, NULL) != 0) {
		fail("mount cgroup2");
		return -1;
	}
	if (write_file(CG "/cgroup.subtree_control", "+memory") != 0) {
		fail("enable +memory");
		return -1;
	}
	/* Each scan makes its own child group (memscan_once). */
	snprintf(cg_dir, sizeof(cg_dir), "%s", CG_SCAN);
	return 0;
}

static const char *opt(const char *name, const char *dflt)
{
	const char *s = getenv(name);
	return s && *s ? s : dflt;
}

static uint64_t optn(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	return s && *s ? strtoull(s, NULL, 0) : dflt;
}

/* Host mode: key=value words into the environment under init's names. */
static void words_to_env(int argc, char **argv, const char *prefix)
{
	for (int i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq) {
			printf("linux-macro: %s: want key=value\n", argv[i]);
			failures++;
			finish(2);
		}
		char name[64];
		snprintf(name, sizeof(name), "%s%.*s", prefix, (int)(eq - argv[i]), argv[i]);
		setenv(name, eq + 1, 1);
	}
}

static int in_list(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len == n && strncmp(p, word, n) == 0)
			return 1;
		p += len + (c != NULL);
	}
	return 0;
}

/* The first scan in a fresh cgroup has been seen to get more than its
 * budget (a charge stock memory.high did not drain, consumed by the region's
 * faults without moving the counter): a short quiet scan first uses it up. */
static void warm_cgroup(void)
{
	struct scan s = { .quiet = 1,
			  .pattern = "uniform",
			  .frames = 16,
			  .pages = 96,
			  .accesses = 500,
			  .write_pct = 50,
			  .theta = 99,
			  .seed = 7 };
	unsigned before = failures;
	memscan(&s);
	if (failures != before)
		printf("linux-macro: the warm-up scan failed\n");
}

static void run_memscans(void)
{
	if (cg_dir[0])
		warm_cgroup();
	const char *patterns = opt("scan_patterns", "seq,loop,uniform,zipf");
	const char *frames = opt("scan_frames", "16,48");
	static const char *const all[] = { "seq", "loop", "uniform", "zipf" };
	/* each frame budget in turn, every pattern at each */
	for (const char *f = frames; *f;) {
		char *end;
		unsigned long fr = strtoul(f, &end, 0);
		for (int p = 0; p < 4; p++) {
			if (!in_list(patterns, all[p]))
				continue;
			struct scan s = { .pattern = all[p],
					  .frames = (unsigned)fr,
					  .pages = (unsigned)optn("scan_pages", 0),
					  .accesses = (unsigned)optn("scan_accesses", 4000),
					  .write_pct = (unsigned)optn("scan_write_pct", 20),
					  .theta = (unsigned)optn("scan_theta", 99),
					  .seed = optn("scan_seed", 1) };
			memscan(&s);
		}
		f = *end == ',' ? end + 1 : end;
		if (end == f && *f && *f != ',') /* not a number */
			break;
	}
	for (const char *p = patterns; *p;) { /* a pattern not known is an error */
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		int known = 0;
		for (int i = 0; i < 4; i++)
			known |= strlen(all[i]) == len && strncmp(all[i], p, len) == 0;
		if (!known) {
			printf("linux-macro: unknown pattern %.*s\n", (int)len, p);
			failures++;
		}
		p += len + (c != NULL);
	}
}

static void run_kvstore(void)
{
	struct kv k = { .clients = (unsigned)optn("kv_clients", 0),
			.ops = optn("kv_ops", 5000),
			.get_pct = optn("kv_get_pct", 90),
			.keys = optn("kv_keys", 4096),
			.skew_pct = optn("kv_skew_pct", 80),
			.seed = optn("kv_seed", 1) };
	kvstore(&k);
}

int main(int argc, char **argv)
{
	as_init = getpid() == 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!as_init) {
		if (argc == 3 && strcmp(argv[1], "mkswap") == 0) {
			int fd = open(argv[2], O_RDWR);
			struct stat st;
			if (fd < 0 || fstat(fd, &st) != 0 ||
			    write_swap_header(fd, (uint64_t)st.st_size) != 0) {
				perror(argv[2]);
				return 1;
			}
			return 0;
		}
		if (argc >= 2 && strcmp(argv[1], "memscan") == 0) {
			/* pattern=loop frames=16 ...: one scan, no cgroup, no swap */
			words_to_env(argc, argv, "scan_");
			const char *pat = getenv("scan_pattern");
			if (pat)
				setenv("scan_patterns", pat, 1);
			run_memscans();
		} else if (argc >= 2 && strcmp(argv[1], "kvstore") == 0) {
			words_to_env(argc, argv, "kv_");
			run_kvstore();
		} else {
			printf("usage: linux-macro memscan|kvstore [key=value...] | mkswap FILE\n");
			return 2;
		}
		finish(failures ? 1 : 0);
	}
	if (mount("proc", "/proc", "proc", 0, NULL) != 0)
		fail("mount /proc");
	if (mount("sysfs", "/sys", "sysfs", 0, NULL) != 0)
		fail("mount /sys");
	if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) != 0)
		fail("mount /dev");
	if (strcmp(opt("bench_online", "no"), "yes") == 0)
		online_cpus();
	const char *run = opt("macro_run", "memscan,kvstore");
	printf("linux-macro: init on %ld cpus, running %s\n", sysconf(_SC_NPROCESSORS_ONLN), run);
	if (in_list(run, "memscan")) {
		load_modules();
		if (setup_swap() == 0 && setup_cgroup() == 0 && !failures)
			run_memscans();
	}
	if (in_list(run, "kvstore"))
		run_kvstore();
	finish(failures ? 1 : 0);
	return 0;
}
