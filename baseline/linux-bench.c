/*
 * linux-bench: the Linux counterparts of exocore's kernel-path benchmarks
 * (workloads/bench.c), printed in exocore's own figure format:
 *
 *   EXOJSON {"figure":"null_syscall","linux":"getppid","os":"linux","unit":"cycles",
 *            "median":...,"min":...,"max":...,"n":...,"core":0,"cores_running":1}
 *
 * "figure" is the exocore figure this one stands beside (the table of
 * counterparts is tools/exolib/baseline.py's COUNTERPARTS), "linux" names
 * what Linux does for it. Cycles are read with lfence; rdtsc in user mode,
 * as exocore's benchmarks do; under QEMU's -icount shift=0 they are guest
 * instructions. Median, min and max over `rounds` samples after a warm-up.
 *
 * Two ways to run:
 *  - as /init of an initramfs (PID 1), booted by `tools/exo baseline`: it
 *    mounts /proc, reads its options from the environment (the kernel
 *    passes unknown `key=value` words of its command line to init:
 *    bench_rounds=N; bench_online=yes: bring the CPUs that maxcpus=1
 *    left offline online first), and ends QEMU through isa-debug-exit (port 0xf4:
 *    0 for success, 1 if an operation failed), powering off if that port
 *    cannot be had;
 *  - on the host, as a plain program (`linux-bench [ROUNDS]`), which is how
 *    `ninja check` tests that it builds, runs and prints figures that parse.
 * The last line is "linux-bench: done, N figures, F failures": without it
 * the run is incomplete.
 *
 * Build: cc -O2 -static -pthread -o linux-bench linux-bench.c (glibc's libc.a,
 * from libc6-dev). C11 plus POSIX and Linux calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define MAX_ROUNDS 20000
#define WARMUP_MAX 200
#define EXIT_PORT 0xf4
#define PAGE 4096UL

extern char **environ;

static uint64_t samples[MAX_ROUNDS];
static unsigned failures, nfigures;
static uint64_t warmup = WARMUP_MAX;
static int ncpus = 1;
static int as_init;
static const char *self_path = "/init";

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* One figure from samples[0..n); extra: more JSON members (",\"k\":v"), or "". */
static void report(const char *figure, const char *linux_name, uint64_t n, int core, int ncores,
		   const char *extra)
{
	if (n == 0)
		return;
	qsort(samples, n, sizeof(samples[0]), cmp_u64);
	/* The median of an even count is the lower middle sample, as exocore's stats_u64. */
	printf("EXOJSON {\"figure\":\"%s\",\"linux\":\"%s\",\"os\":\"linux\",\"unit\":\"cycles\","
	       "\"median\":%llu,\"min\":%llu,\"max\":%llu,\"n\":%llu,\"core\":%d,"
	       "\"cores_running\":%d%s}\n",
	       figure, linux_name, (unsigned long long)samples[(n - 1) / 2],
	       (unsigned long long)samples[0], (unsigned long long)samples[n - 1],
	       (unsigned long long)n, core, ncores, extra);
	fflush(stdout);
	nfigures++;
}

static void fail(const char *what)
{
	printf("linux-bench: %s failed: %s\n", what, strerror(errno));
	fflush(stdout);
	failures++;
}

#define CHECK(x, what)                                                                             \
	do {                                                                                       \
		if ((x) < 0)                                                                       \
			fail(what);                                                                \
	} while (0)

/* Time op `rounds` times after the warm-up. */
#define MEASURE_X(figure, linux_name, extra, rounds, op)                                           \
	do {                                                                                       \
		for (uint64_t w_ = 0; w_ < warmup; w_++) {                                         \
			op;                                                                        \
		}                                                                                  \
		for (uint64_t i_ = 0; i_ < (rounds); i_++) {                                       \
			uint64_t t0_ = rdtsc();                                                    \
			op;                                                                        \
			samples[i_] = rdtsc() - t0_;                                               \
		}                                                                                  \
		report(figure, linux_name, rounds, 0, 1, extra);                                   \
	} while (0)
#define MEASURE(figure, linux_name, rounds, op) MEASURE_X(figure, linux_name, "", rounds, op)

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* ---- faults handled at user level ---- */

static volatile char *prot_page;

/* SIGSEGV on prot_page: make it accessible and return to the faulting load. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if ((uintptr_t)si->si_addr - (uintptr_t)prot_page >= PAGE ||
	    mprotect((void *)prot_page, PAGE, PROT_READ | PROT_WRITE) != 0)
		_exit(70);
}

/* SIGILL on ud2: skip it (exocore's exception upcall does the same). */
static void on_ill(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	uc->uc_mcontext.gregs[REG_RIP] += 2;
}

static void fault_set(uint64_t rounds)
{
	struct sigaction sa = { .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	sa.sa_sigaction = on_ill;
	CHECK(sigaction(SIGILL, &sa, NULL), "sigaction SIGILL");
	MEASURE("exception_upcall_round_trip", "sigill_handler_skip", rounds,
		__asm__ volatile("ud2" ::
				     : "memory"));

	/* A PROT_NONE page (populated: only the protection changes); reprotected untimed. */
	prot_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (prot_page == MAP_FAILED) {
		fail("mmap");
		return;
	}
	prot_page[0] = 1;
	sa.sa_sigaction = on_segv;
	CHECK(sigaction(SIGSEGV, &sa, NULL), "sigaction SIGSEGV");
	for (uint64_t j = 0; j < warmup + rounds; j++) {
		CHECK(mprotect((void *)prot_page, PAGE, PROT_NONE), "mprotect");
		uint64_t t0 = rdtsc();
		(void)prot_page[0];
		uint64_t t = rdtsc() - t0;
		if (j >= warmup)
			samples[j - warmup] = t;
	}
	report("page_fault_upcall_map_round_trip", "sigsegv_mprotect", rounds, 0, 1, "");
	munmap((void *)prot_page, PAGE);
	signal(SIGSEGV, SIG_DFL);
	signal(SIGILL, SIG_DFL);

	/* First touch of fresh anonymous pages (a minor fault that allocates a zeroed page). */
	const uint64_t batch = 1024;
	uint64_t k = 0;
	for (uint64_t done = 0; done < warmup + rounds; done += batch) {
		volatile char *p = mmap(NULL, batch * PAGE, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			fail("mmap");
			return;
		}
		for (uint64_t i = 0; i < batch && done + i < warmup + rounds; i++) {
			uint64_t t0 = rdtsc();
			p[i * PAGE] = 1;
			uint64_t t = rdtsc() - t0;
			if (done + i >= warmup)
				samples[k++] = t;
		}
		munmap((void *)p, batch * PAGE);
	}
	report("page_fault_upcall_map_round_trip", "first_touch_minor_fault", k, 0, 1, "");
}

/* ---- the syscall surface ---- */

/*
 * The one-page figures map and unmap a page at a fixed address (a "slot")
 * beside a read-only anchor page that stays mapped in the same page table,
 * so Linux never frees and reallocates the page-table page around the
 * figure: exocore's unmap frees no table either (docs/boot.md), and without
 * the anchor the figure would depend on where mmap happened to put the page
 * (a page alone in its 2 MiB region costs a table allocation and free).
 * The anchor's other protection keeps the two from merging into one VMA.
 * One slot per thread.
 */
static __thread char *slot;

static char *slot_page(void)
{
	if (slot)
		return slot;
	char *r = mmap(NULL, 3 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED) {
		fail("mmap");
		return NULL;
	}
	/* anchor, then slot, in one 2 MiB region (one page table) */
	char *anchor = ((uintptr_t)(r + PAGE) & 0x1fffff) ? r : r + PAGE;
	(void)*(volatile char *)anchor; /* maps the zero page: the page table exists */
	slot = anchor + PAGE;
	if (munmap(slot, PAGE) != 0 || (anchor == r && munmap(r + 2 * PAGE, PAGE) != 0) ||
	    (anchor != r && munmap(r, PAGE) != 0))
		fail("munmap");
	return slot;
}

/* A fresh anonymous read-write page at this thread's slot, touched. */
static volatile char *map_slot(void)
{
	char *want = slot_page();
	if (!want)
		return NULL;
	volatile char *p = mmap(want, PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED || p != want) {
		fail("mmap at the slot");
		return NULL;
	}
	p[0] = 1;
	return p;
}

static void mmap_touch_munmap(void)
{
	volatile char *p = map_slot();
	if (p)
		CHECK(munmap((void *)p, PAGE), "munmap");
}

static void syscall_set(uint64_t rounds)
{
	/* An unknown number: entry, dispatch to -ENOSYS, exit (the shortest path in). */
	MEASURE("syscall_sysret_raw", "syscall_enosys", rounds, (void)syscall(-1L));
	MEASURE("null_syscall", "getppid", rounds, (void)syscall(SYS_getppid));
	/* A file descriptor is Linux's capability: copy one and drop it. */
	MEASURE("cap_mint_delete", "dup_close", rounds, {
		int fd = dup(1);
		CHECK(fd, "dup");
		CHECK(close(fd), "close");
	});
	MEASURE("frame_alloc_map_unmap_free", "mmap_touch_munmap", rounds, mmap_touch_munmap());
	/* One page, mapped and touched outside the timing: the unmap alone. */
	for (uint64_t j = 0; j < warmup + rounds; j++) {
		volatile char *p = map_slot();
		if (!p)
			return;
		uint64_t t0 = rdtsc();
		CHECK(munmap((void *)p, PAGE), "munmap");
		uint64_t t = rdtsc() - t0;
		if (j >= warmup)
			samples[j - warmup] = t;
	}
	report("revoke_local_abort", "munmap_one_page", rounds, 0, 1, "");
}

/* ---- processes ---- */

static void fork_exit_wait(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	int st;
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("fork+exit+wait");
}

static void spawn_exit_wait(void)
{
	char *argv[] = { (char *)self_path, "exit", NULL };
	pid_t p;
	int st;
	errno = posix_spawn(&p, self_path, NULL, NULL, argv, environ);
	if (errno != 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("posix_spawn+exit+wait");
}

static void process_set(uint64_t rounds)
{
	MEASURE("env_create_destroy", "fork_exit_wait", rounds, fork_exit_wait());
	MEASURE("env_create_destroy", "posix_spawn_exit_wait", rounds, spawn_exit_wait());
}

/* ---- two parties: pipes, futexes, yields ---- */

static void full_read(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0) {
			fail("read");
			return;
		}
		got += (size_t)r;
	}
}

/*
 * A pipe round trip between this process and a child (a process, as
 * exocore's PCT server is another environment): one byte there, one back.
 * The child runs on core `cpu`; this process on core 0.
 */
static void pipe_rtt(const char *figure, const char *linux_name, uint64_t rounds, int cpu,
		     const char *extra)
{
	int ab[2], ba[2];
	if (pipe(ab) != 0 || pipe(ba) != 0) {
		fail("pipe");
		return;
	}
	pid_t child = fork();
	if (child == 0) {
		char c;
		close(ab[1]); /* else its read never sees the end of the pipe */
		close(ba[0]);
		if (pin(cpu) != 0)
			_exit(71);
		while (read(ab[0], &c, 1) == 1)
			if (write(ba[1], &c, 1) != 1)
				_exit(72);
		_exit(0);
	}
	if (child < 0) {
		fail("fork");
		return;
	}
	close(ab[0]);
	close(ba[1]);
	char c = 'x';
	for (uint64_t j = 0; j < warmup + rounds; j++) {
		uint64_t t0 = rdtsc();
		if (write(ab[1], &c, 1) != 1)
			fail("write");
		full_read(ba[0], &c, 1);
		uint64_t t = rdtsc() - t0;
		if (j >= warmup)
			samples[j - warmup] = t;
	}
	close(ab[1]);
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("pipe partner");
	close(ba[0]);
	report(figure, linux_name, rounds, 0, 1, extra);
}

static _Atomic uint32_t ftx[2]; /* ping and pong words: the turn number */
static _Atomic int partner_stop;

static long futex(_Atomic uint32_t *w, int op, uint32_t v)
{
	return syscall(SYS_futex, (uint32_t *)w, op, v, NULL, NULL, 0);
}

static void futex_wait_for(_Atomic uint32_t *w, uint32_t want)
{
	uint32_t v;
	while ((v = atomic_load(w)) != want)
		(void)futex(w, FUTEX_WAIT_PRIVATE, v);
}

static void *futex_partner(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	if (pin(cpu) != 0)
		return (void *)1;
	for (uint32_t turn = 1;; turn++) {
		futex_wait_for(&ftx[0], turn);
		if (atomic_load(&partner_stop))
			return NULL;
		atomic_store(&ftx[1], turn);
		(void)futex(&ftx[1], FUTEX_WAKE_PRIVATE, 1);
	}
}

/* A futex round trip between two threads: wake the other, sleep until it wakes us. */
static void futex_rtt(uint64_t rounds, int cpu)
{
	pthread_t t;
	atomic_store(&ftx[0], 0);
	atomic_store(&ftx[1], 0);
	atomic_store(&partner_stop, 0);
	if ((errno = pthread_create(&t, NULL, futex_partner, (void *)(intptr_t)cpu)) != 0) {
		fail("pthread_create");
		return;
	}
	uint32_t turn = 0;
	for (uint64_t j = 0; j < warmup + rounds; j++) {
		turn++;
		uint64_t t0 = rdtsc();
		atomic_store(&ftx[0], turn);
		(void)futex(&ftx[0], FUTEX_WAKE_PRIVATE, 1);
		futex_wait_for(&ftx[1], turn);
		uint64_t dt = rdtsc() - t0;
		if (j >= warmup)
			samples[j - warmup] = dt;
	}
	atomic_store(&partner_stop, 1);
	atomic_store(&ftx[0], turn + 1);
	(void)futex(&ftx[0], FUTEX_WAKE_PRIVATE, 1);
	void *ret;
	pthread_join(t, &ret);
	if (ret != NULL) {
		errno = EINVAL;
		fail("futex partner");
	}
	report("chan_rtt", "futex_wake_round_trip", rounds, 0, 1,
	       ",\"receiver\":\"ipi\",\"from\":0,\"to\":1");
}

static _Atomic uint64_t partner_yields;

static void *yield_partner(void *arg)
{
	(void)arg;
	if (pin(0) != 0)
		return (void *)1;
	while (!atomic_load(&partner_stop)) {
		sched_yield();
		atomic_fetch_add(&partner_yields, 1);
	}
	return NULL;
}

/* Two threads on core 0 yielding to each other: one sample is a round trip. */
static void yield_rtt(uint64_t rounds)
{
	pthread_t t;
	atomic_store(&partner_stop, 0);
	atomic_store(&partner_yields, 0);
	if ((errno = pthread_create(&t, NULL, yield_partner, NULL)) != 0) {
		fail("pthread_create");
		return;
	}
	while (atomic_load(&partner_yields) == 0)
		sched_yield(); /* the partner is running */
	uint64_t before = atomic_load(&partner_yields);
	char extra[64];
	snprintf(extra, sizeof(extra), ",\"switches\":2,\"partner_yields\":%llu",
		 (unsigned long long)0);
	/* MEASURE_X would print before we know the partner's count: time by hand. */
	for (uint64_t w = 0; w < warmup; w++)
		sched_yield();
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc();
		sched_yield();
		samples[i] = rdtsc() - t0;
	}
	/* Each of our yields ran the partner once if every sample is a round trip. */
	snprintf(extra, sizeof(extra), ",\"switches\":2,\"partner_yields\":%llu",
		 (unsigned long long)(atomic_load(&partner_yields) - before));
	atomic_store(&partner_stop, 1);
	pthread_join(t, NULL);
	report("yield_round_trip_two_envs", "sched_yield_two_threads", rounds, 0, 1, extra);
}

/* ---- the shootdown: munmap of a page a thread on another core has mapped ---- */

static volatile char *volatile shared_page;
static _Atomic uint64_t sd_asked, sd_done;

static void *shootdown_partner(void *arg)
{
	int cpu = (int)(intptr_t)arg;
	if (pin(cpu) != 0)
		return (void *)1;
	/* Touch each page it is given (a TLB entry on this core), then keep running in the mm. */
	uint64_t seen = 0;
	while (!atomic_load(&partner_stop)) {
		uint64_t a = atomic_load(&sd_asked);
		if (a != seen) {
			(void)shared_page[0];
			seen = a;
			atomic_store(&sd_done, a);
		}
		__asm__ volatile("pause");
	}
	return NULL;
}

static void shootdown_figure(uint64_t rounds, int cpu)
{
	pthread_t t;
	atomic_store(&partner_stop, 0);
	atomic_store(&sd_asked, 0);
	atomic_store(&sd_done, 0);
	if ((errno = pthread_create(&t, NULL, shootdown_partner, (void *)(intptr_t)cpu)) != 0) {
		fail("pthread_create");
		return;
	}
	for (uint64_t j = 0; j < warmup + rounds; j++) {
		volatile char *p = map_slot();
		if (!p)
			break;
		shared_page = p;
		atomic_store(&sd_asked, j + 1);
		while (atomic_load(&sd_done) != j + 1)
			__asm__ volatile("pause");
		uint64_t t0 = rdtsc();
		CHECK(munmap((void *)p, PAGE), "munmap");
		uint64_t dt = rdtsc() - t0;
		if (j >= warmup)
			samples[j - warmup] = dt;
	}
	atomic_store(&partner_stop, 1);
	pthread_join(t, NULL);
	report("revoke_remote_abort", "munmap_shootdown", rounds, 0, 1, ",\"cores\":1");
}

/* ---- mmap + touch + munmap on N cores at once ---- */

static _Atomic int mt_ready, mt_go;

struct mt_arg {
	int cpu;
	uint64_t rounds;
	uint64_t *out; /* this thread's samples */
};

static void *mt_worker(void *argp)
{
	struct mt_arg *a = argp;
	if (pin(a->cpu) != 0)
		return (void *)1;
	atomic_fetch_add(&mt_ready, 1);
	while (!atomic_load(&mt_go))
		__asm__ volatile("pause");
	for (uint64_t w = 0; w < warmup; w++)
		mmap_touch_munmap();
	for (uint64_t i = 0; i < a->rounds; i++) {
		uint64_t t0 = rdtsc();
		mmap_touch_munmap();
		a->out[i] = rdtsc() - t0;
	}
	return NULL;
}

/* Threads of one process (one mm, as exocore's copies share one ownership table). */
static void scaling_figure(uint64_t rounds, int n)
{
	pthread_t t[64];
	struct mt_arg args[64];
	uint64_t *bufs = calloc((size_t)n * rounds, sizeof(uint64_t));
	if (!bufs) {
		fail("calloc");
		return;
	}
	atomic_store(&mt_ready, 0);
	atomic_store(&mt_go, 0);
	for (int i = 0; i < n; i++) {
		args[i] =
		    (struct mt_arg){ .cpu = i, .rounds = rounds, .out = bufs + (size_t)i * rounds };
		if ((errno = pthread_create(&t[i], NULL, mt_worker, &args[i])) != 0) {
			fail("pthread_create");
			n = i;
			break;
		}
	}
	while (atomic_load(&mt_ready) < n)
		sched_yield();
	atomic_store(&mt_go, 1);
	for (int i = 0; i < n; i++) {
		void *ret;
		pthread_join(t[i], &ret);
		if (ret != NULL) {
			errno = EINVAL;
			fail("pin worker");
		}
	}
	for (int i = 0; i < n; i++) {
		memcpy(samples, args[i].out, rounds * sizeof(uint64_t));
		report("frame_alloc_map_unmap_free", "mmap_touch_munmap_threads", rounds,
		       args[i].cpu, n, "");
	}
	fflush(stdout);
	free(bufs);
}

/* ---- cross-core pipe throughput (no exocore counterpart yet) ---- */

#define CHUNK 65536
static char chunk[CHUNK];

static void pipe_throughput(uint64_t rounds, int cpu)
{
	int fds[2];
	if (pipe(fds) != 0) {
		fail("pipe");
		return;
	}
	pid_t child = fork();
	if (child == 0) {
		static char buf[CHUNK];
		if (pin(cpu) != 0)
			_exit(71);
		close(fds[1]);
		while (read(fds[0], buf, sizeof(buf)) > 0)
			;
		_exit(0);
	}
	if (child < 0) {
		fail("fork");
		return;
	}
	close(fds[0]);
	memset(chunk, 'x', sizeof(chunk));
	for (uint64_t j = 0; j < warmup + rounds; j++) {
		uint64_t t0 = rdtsc();
		size_t put = 0;
		while (put < CHUNK) {
			ssize_t w = write(fds[1], chunk + put, CHUNK - put);
			if (w <= 0) {
				fail("write");
				break;
			}
			put += (size_t)w;
		}
		uint64_t t = rdtsc() - t0;
		if (j >= warmup)
			samples[j - warmup] = t;
	}
	close(fds[1]);
	int st;
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("pipe reader");
	report("pipe_throughput_cross_core", "pipe_write_64k", rounds, 0, 1,
	       ",\"bytes\":65536,\"from\":0,\"to\":1");
}

/* ---- init's duties ---- */

static void finish(int status)
{
	printf("linux-bench: done, %u figures, %u failures\n", nfigures, failures);
	fflush(stdout);
	if (!as_init)
		exit(status);
	/* The console drains through the UART's interrupts: wait until it has, or
	 * QEMU would exit with our last lines still in the kernel's buffer. */
	tcdrain(STDOUT_FILENO);
	sync();
	/* isa-debug-exit: QEMU exits with (v << 1) | 1 (docs/protocol.md). */
	if (ioperm(EXIT_PORT, 4, 1) == 0)
		outb((unsigned char)status, EXIT_PORT);
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

/*
 * Bring the other CPUs online through sysfs. Booted with maxcpus=1, Linux
 * starts only CPU 0; under QEMU's -icount it hangs bringing up CPU 1 during
 * boot (docs/performance.md), but onlining it from here works.
 */
static void online_cpus(void)
{
	if (mount("sysfs", "/sys", "sysfs", 0, NULL) != 0) {
		fail("mount /sys");
		return;
	}
	for (int cpu = 1; cpu < 64; cpu++) {
		char path[64];
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
		int fd = open(path, O_WRONLY);
		if (fd < 0)
			break; /* no such CPU */
		if (write(fd, "1", 1) != 1)
			fail(path);
		close(fd);
	}
}

static uint64_t env_number(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	return s && *s ? strtoull(s, NULL, 0) : dflt;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "exit") == 0)
		return 0; /* the posix_spawn figure's child */
	as_init = getpid() == 1;
	uint64_t rounds;
	if (as_init) {
		if (mount("proc", "/proc", "proc", 0, NULL) != 0)
			fail("mount /proc");
		rounds = env_number("bench_rounds", 10000);
		const char *online = getenv("bench_online");
		if (online && strcmp(online, "yes") == 0)
			online_cpus();
		printf("linux-bench: init on %ld cpus, %llu rounds\n",
		       sysconf(_SC_NPROCESSORS_ONLN), (unsigned long long)rounds);
	} else {
		rounds = argc > 1 ? strtoull(argv[1], NULL, 0) : 10000;
		self_path = "/proc/self/exe";
	}
	if (rounds == 0 || rounds > MAX_ROUNDS) {
		printf("linux-bench: rounds must be 1..%d\n", MAX_ROUNDS);
		failures++;
		finish(1);
	}
	warmup = rounds < WARMUP_MAX ? rounds : WARMUP_MAX;
	ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpus > 64)
		ncpus = 64;
	CHECK(pin(0), "pin to cpu 0");
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Process creation costs 100x a syscall: a tenth of the rounds. */
	uint64_t heavy = rounds / 10 ? rounds / 10 : 1;

	syscall_set(rounds);
	fault_set(rounds);
	pipe_rtt("pct_call_reply", "pipe_round_trip_same_core", rounds, 0, "");
	yield_rtt(rounds);
	process_set(heavy);
	for (int n = 1; n <= ncpus; n *= 2)
		scaling_figure(heavy, n);
	if (ncpus >= 2) {
		futex_rtt(rounds, 1);
		pipe_rtt("chan_rtt", "pipe_round_trip_cross_core", rounds, 1,
			 ",\"receiver\":\"ipi\",\"from\":0,\"to\":1");
		shootdown_figure(heavy, 1);
		pipe_throughput(heavy, 1);
	} else {
		printf("linux-bench: 1 cpu: no cross-core figures\n");
	}
	finish(failures ? 1 : 0);
	return 0;
}
