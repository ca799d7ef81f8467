/*
 * schedmix: N threads under the chosen sched policy, each CPU-bound,
 * I/O-like (short bursts between sleeps) or periodic (a job of budget_us
 * every period_us); for each thread it prints its CPU share, its wake-up
 * latency (I/O-like and periodic threads: from when it was due to when it
 * ran) and its deadline misses (periodic), as figure lines.
 *
 *   tools/exo run -- run=schedmix sched=lottery threads=3 tickets=100,200,300
 *
 * List parameters are comma-separated and repeat to cover every thread
 * (tickets=100 gives every thread 100).
 */
#include <libos/args.h>
#include <libos/bench.h>
#include <libos/libos.h>
#include <libos/policy.h>
#include <libos/sched.h>

LIBOS_PROGRAM_PARAMS({ "threads", "4", "threads to run (1..64)" },
		     { "duration_ms", "200", "how long they run" },
		     { "kind", "cpu",
		       "per thread, a list: cpu (spins), io (bursts and sleeps), periodic" },
		     { "tickets", "100", "per thread, a list: lottery/stride tickets" },
		     { "prio", "0", "per thread, a list: static priority (0..255)" },
		     { "period_us", "10000", "per periodic thread, a list: its period" },
		     { "budget_us", "2000", "per periodic thread, a list: its job's work" },
		     { "burst_us", "200", "io threads: work between sleeps" },
		     { "sleep_us", "2000", "io threads: sleep between bursts" });

#define MAX_THREADS 64
#define MAX_SAMPLES 256

enum kind { CPU, IO, PERIODIC };

struct worker {
	struct thread *t;
	enum kind kind;
	struct thread_attr attr;
	uint64_t burst, sleep; /* cycles */
	uint64_t lat[MAX_SAMPLES];
	size_t nlat;
	uint64_t jobs;
};

static struct worker workers[MAX_THREADS];
static volatile bool stop;

/* The i-th element of a comma list (cycled), as a string into buf. */
static const char *nth(const char *list, unsigned i, char *buf, size_t len)
{
	unsigned n = 1;
	for (const char *p = list; *p; p++)
		n += *p == ',';
	i %= n;
	const char *p = list;
	while (i--)
		while (*p++ != ',')
			;
	size_t k = 0;
	while (p[k] && p[k] != ',' && k + 1 < len) {
		buf[k] = p[k];
		k++;
	}
	buf[k] = '\0';
	return buf;
}

static uint64_t nth_u64(const char *key, unsigned i)
{
	char buf[24];
	const char *v = nth(libos_arg(key), i, buf, sizeof(buf));
	uint64_t x = 0;
	for (; *v; v++) {
		if (*v < '0' || *v > '9') {
			printf("schedmix: %s wants whole numbers, not '%s'\n", key, libos_arg(key));
			sys_exit(2);
		}
		x = x * 10 + (uint64_t)(*v - '0');
	}
	return x;
}

static void spin_for(uint64_t cycles)
{
	uint64_t end = libos_cycles() + cycles;
	while (libos_cycles() < end && !stop)
		;
}

static void record(struct worker *w, uint64_t due)
{
	if (w->nlat < MAX_SAMPLES)
		w->lat[w->nlat++] = libos_cycles() - due;
}

static void run(void *arg)
{
	struct worker *w = arg;
	uint64_t hz = libos_cycles_hz();
	while (!stop) {
		if (w->kind == CPU) {
			spin_for(hz / 1000);
		} else if (w->kind == IO) {
			spin_for(w->burst);
			uint64_t due = libos_cycles() + w->sleep;
			thread_sleep_until(due);
			record(w, due);
		} else {
			spin_for(w->attr.budget_us * (hz / 1000000));
			w->jobs++;
			thread_job_done();
			record(w, thread_job_release(w->t));
		}
	}
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	unsigned n = (unsigned)libos_arg_u64("threads", 4);
	if (n < 1 || n > MAX_THREADS) {
		printf("schedmix: threads=%u; want 1..%u\n", n, MAX_THREADS);
		return 2;
	}
	uint64_t hz = libos_cycles_hz();
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &workers[i];
		char k[16];
		nth(libos_arg("kind"), i, k, sizeof(k));
		w->kind = k[0] == 'c' ? CPU : k[0] == 'i' ? IO : k[0] == 'p' ? PERIODIC : 99;
		if (w->kind == 99) {
			printf("schedmix: kind '%s'; want cpu, io or periodic\n", k);
			return 2;
		}
		w->attr = (struct thread_attr){
			.tickets = (uint32_t)nth_u64("tickets", i),
			.prio = (uint32_t)nth_u64("prio", i),
			.period_us = w->kind == PERIODIC ? nth_u64("period_us", i) : 0,
			.budget_us = w->kind == PERIODIC ? nth_u64("budget_us", i) : 0,
			.stack_pages = 1,
		};
		w->burst = libos_arg_u64("burst_us", 200) * (hz / 1000000);
		w->sleep = libos_arg_u64("sleep_us", 2000) * (hz / 1000000);
	}
	/* main runs at the top priority first, so it wakes on time under every policy */
	struct thread_attr top = { .prio = THREAD_PRIO_MAX, .tickets = 100, .name = "main" };
	if (thread_set_attr(thread_self(), &top)) {
		printf("schedmix: cannot raise main's priority\n");
		return 1;
	}
	uint64_t t0 = libos_cycles();
	for (unsigned i = 0; i < n; i++) {
		int err = thread_create(&workers[i].t, run, &workers[i], &workers[i].attr);
		if (err) {
			printf("schedmix: thread %u: %s\n", i, err_name(err));
			return 1;
		}
	}
	thread_sleep_ns(libos_arg_u64("duration_ms", 200) * 1000000);
	stop = true;
	uint64_t total = 0, elapsed = libos_cycles() - t0;
	for (unsigned i = 0; i < n; i++)
		total += thread_cycles(workers[i].t);
	for (unsigned i = 0; i < n; i++) {
		struct worker *w = &workers[i];
		static const char *const kinds[] = { "cpu", "io", "periodic" };
		char extra[160];
		ksnprintf(extra, sizeof(extra),
			  "\"thread\":%u,\"kind\":\"%s\",\"tickets\":%u,\"prio\":%u,"
			  "\"period_us\":%llu,\"budget_us\":%llu",
			  i, kinds[w->kind], w->attr.tickets, w->attr.prio,
			  (unsigned long long)w->attr.period_us,
			  (unsigned long long)w->attr.budget_us);
		/* Share of the threads' CPU time, in parts per million. */
		libos_figure_value("schedmix_share", "ppm",
				   total ? thread_cycles(w->t) * 1000000 / total : 0, extra);
		if (w->nlat)
			libos_figure("schedmix_wakeup", "cycles", w->lat, w->nlat, extra);
		if (w->kind == PERIODIC) {
			libos_figure_value("schedmix_misses", "jobs", thread_misses(w->t), extra);
			libos_figure_value("schedmix_jobs", "jobs", w->jobs, extra);
		}
	}
	for (unsigned i = 0; i < n; i++)
		(void)thread_join(workers[i].t, NULL);
	printf("schedmix: %u threads for %llu ms under %s\n", n,
	       (unsigned long long)(elapsed / (hz / 1000)), libos_policy_current(POLICY_SCHED));
	return 0;
}
