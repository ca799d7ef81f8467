/*
 * threadbench: the costs of user-level threads under the chosen sched
 * policy, as figure lines (path lengths under -icount):
 *
 *   thread_yield       one yield, from just before thread_yield in one thread
 *                      to just after it returns in the other (two threads);
 *   mutex_handoff      mutex_unlock with a waiter, then thread_yield, until the
 *                      waiter returns from mutex_lock owning it;
 *   slice_switch_threads  the preemptive switch at a slice start: from the
 *                      outgoing thread's last store of the cycle counter to
 *                      the incoming one's first (timer interrupt, kernel,
 *                      scheduler upcall, policy, resume: all of it);
 *   policy_swap        libos_policy_swap with `swap_threads` threads queued,
 *                      alternating between `sched` and `swap_to`.
 *
 *   tools/exo run --icount -- run=threadbench slice_us=100
 */
#include <libos/args.h>
#include <libos/bench.h>
#include <libos/libos.h>
#include <libos/policy.h>
#include <libos/sched.h>

LIBOS_PROGRAM_PARAMS({ "rounds", "2000", "samples per figure (at most 2000)" },
		     { "switches", "200", "slice-start switches to sample (at most 2000)" },
		     { "swap_threads", "100", "threads queued during each policy swap" },
		     { "swap_to", "rr", "the policy swapped to and back from" },
		     { "swaps", "50", "policy swaps to sample (at most 2000)" });

#define MAX_SAMPLES 2000

static uint64_t samples[MAX_SAMPLES];
static size_t nsamples, rounds;
static volatile uint64_t last;
static volatile bool stop;

static void yielder(void *arg)
{
	for (size_t i = 0; i < rounds + 20; i++) {
		uint64_t prev = last, now = libos_cycles();
		if (prev && i >= 10 && nsamples < rounds)
			samples[nsamples++] = now - prev;
		last = libos_cycles();
		thread_yield();
	}
}

static struct mutex m = MUTEX_INIT;
static volatile uint64_t handed_at;

static void holder(void *arg)
{
	for (size_t i = 0; i < rounds + 10; i++) {
		mutex_lock(&m);
		thread_yield(); /* the waiter runs and blocks on m */
		handed_at = libos_cycles();
		mutex_unlock(&m); /* hands m to the waiter */
		thread_yield();
	}
	stop = true;
}

static void waiter(void *arg)
{
	for (size_t i = 0; i < rounds + 10; i++) {
		mutex_lock(&m);
		uint64_t now = libos_cycles();
		if (i >= 10 && nsamples < rounds)
			samples[nsamples++] = now - handed_at;
		mutex_unlock(&m);
		thread_yield();
	}
}

/*
 * Slice-start switches: each thread stores the time on every pass; a thread
 * that finds the other was the last to run measures from the other's last
 * store to now (its first pass after the switch).
 */
static volatile unsigned owner;
static volatile uint64_t stamp[3];
static size_t want_switches;
static void storer(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	while (!stop) {
		if (owner != me) {
			uint64_t now = libos_cycles();
			if (owner && nsamples < want_switches)
				samples[nsamples++] = now - stamp[owner];
			if (nsamples >= want_switches)
				stop = true;
			owner = me;
		}
		stamp[me] = libos_cycles();
	}
}

static void queued_yielder(void *arg)
{
	while (!stop)
		thread_yield();
}

static void run2(void (*a)(void *), void (*b)(void *), void *aa, void *bb)
{
	struct thread *x, *y;
	if (thread_create(&x, a, aa, NULL) || thread_create(&y, b, bb, NULL)) {
		printf("threadbench: cannot create threads\n");
		sys_exit(1);
	}
	(void)thread_join(x, NULL);
	(void)thread_join(y, NULL);
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	rounds = MIN(libos_arg_u64("rounds", 2000), MAX_SAMPLES);
	want_switches = MIN(libos_arg_u64("switches", 200), MAX_SAMPLES);
	size_t nswaps = MIN(libos_arg_u64("swaps", 50), MAX_SAMPLES);
	unsigned nthreads = (unsigned)MIN(libos_arg_u64("swap_threads", 100), THREAD_MAX - 2);
	char home[POLICY_SPEC_MAX];
	ksnprintf(home, sizeof(home), "%s", libos_policy_current(POLICY_SCHED));
	const char *other = libos_arg("swap_to");

	nsamples = 0;
	last = 0;
	run2(yielder, yielder, NULL, NULL);
	libos_figure("thread_yield", "cycles", samples, nsamples, "\"threads\":2");

	nsamples = 0;
	run2(holder, waiter, NULL, NULL);
	libos_figure("mutex_handoff", "cycles", samples, nsamples, "\"threads\":2");

	nsamples = 0;
	stop = false;
	owner = 0;
	run2(storer, storer, (void *)1, (void *)2);
	libos_figure("slice_switch_threads", "cycles", samples, nsamples, "\"threads\":2");

	/* Swaps with nthreads queued: the main thread swaps, the others yield. */
	static struct thread *th[THREAD_MAX];
	stop = false;
	unsigned made = 0;
	for (; made < nthreads; made++)
		if (thread_create(&th[made], queued_yielder, NULL,
				  &(struct thread_attr){ .stack_pages = 1 }))
			break;
	thread_yield(); /* every one has run once and is queued again */
	nsamples = 0;
	for (size_t i = 0; i < nswaps; i++) {
		uint64_t t0 = libos_cycles();
		int err = libos_policy_swap(POLICY_SCHED, i % 2 ? home : other);
		uint64_t dt = libos_cycles() - t0;
		if (err) {
			printf("threadbench: swap to %s: %s\n", i % 2 ? home : other,
			       err_name(err));
			return 1;
		}
		samples[nsamples++] = dt;
	}
	stop = true;
	for (unsigned i = 0; i < made; i++)
		(void)thread_join(th[i], NULL);
	char extra[96];
	ksnprintf(extra, sizeof(extra), "\"threads\":%u,\"from\":\"%s\",\"to\":\"%s\"", made, home,
		  other);
	libos_figure("policy_swap", "cycles", samples, nsamples, extra);
	return made == nthreads ? 0 : 1;
}
