/*
 * User-level threads (libos/sched.h) under whatever sched policy the
 * arguments choose (sched=..., default rr): create and join, yield,
 * preemption at slice starts, mutexes, conditions, semaphores, sleep, the
 * FPU state of each thread, and hot swaps under load. Exits with the
 * number of failed tests.
 */
#include <exo/test.h>
#include <libos/args.h>
#include <libos/libos.h>
#include <libos/policy.h>
#include <libos/sched_impl.h>
#include <libos/threads_impl.h>

static void square(void *arg)
{
	uint64_t i = (uint64_t)arg;
	thread_exit(i * i);
}

TEST(threads, create_and_join_return_values)
{
	struct thread *th[10];
	for (uint64_t i = 0; i < 10; i++)
		ASSERT_EQ(t, thread_create(&th[i], square, (void *)i, NULL), 0);
	for (uint64_t i = 0; i < 10; i++) {
		uint64_t v = 99;
		EXPECT_EQ(t, thread_join(th[i], &v), 0);
		EXPECT_EQ(t, v, i * i);
	}
	EXPECT_EQ(t, thread_join(th[0], NULL), E_INVAL); /* joined already */
	EXPECT_EQ(t, thread_join(thread_self(), NULL), E_INVAL);
	struct thread *x;
	EXPECT_EQ(t, thread_create(&x, square, NULL, &(struct thread_attr){ .prio = 256 }),
		  E_INVAL);
	EXPECT_EQ(t, thread_create(&x, NULL, NULL, NULL), E_INVAL);
}

/* Yield hands the CPU round: under rr two yielding threads alternate. */
static char order[64];
static unsigned order_n;
static void yielder(void *arg)
{
	for (int i = 0; i < 8; i++) {
		order[order_n++] = (char)(uintptr_t)arg;
		thread_yield();
	}
}

/* (A slice start may preempt one between yields, so a few repeats are allowed.) */
TEST(threads, yield_alternates_under_rr)
{
	if (!test_streq(libos_policy_current(POLICY_SCHED), "rr"))
		return; /* the order is rr's */
	struct thread *a, *b;
	order_n = 0;
	ASSERT_EQ(t, thread_create(&a, yielder, (void *)'a', NULL), 0);
	ASSERT_EQ(t, thread_create(&b, yielder, (void *)'b', NULL), 0);
	EXPECT_EQ(t, thread_join(a, NULL), 0);
	EXPECT_EQ(t, thread_join(b, NULL), 0);
	EXPECT_EQ(t, order_n, 16);
	unsigned changes = 0;
	for (unsigned i = 1; i < order_n; i++)
		changes += order[i] != order[i - 1];
	EXPECT(t,
	       changes >= 12); /* of 15: without yield handing over, a thread runs all 8 at once */
}

/*
 * A read-spin-write increment: without the mutex, a preemption between
 * the read and the write loses updates. Long enough to span many slices.
 */
static struct mutex counter_lock = MUTEX_INIT;
static volatile uint64_t counter;
#define INCS 2000
static void incrementer(void *arg)
{
	for (int i = 0; i < INCS; i++) {
		mutex_lock(&counter_lock);
		uint64_t v = counter;
		for (volatile int k = 0; k < 200; k++)
			;
		counter = v + 1;
		mutex_unlock(&counter_lock);
	}
}

TEST(threads, a_mutex_keeps_every_increment_across_preemption)
{
	struct thread *th[4];
	counter = 0;
	uint64_t t0 = libos_cycles();
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(t, thread_create(&th[i], incrementer, NULL, NULL), 0);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(t, thread_join(th[i], NULL), 0);
	EXPECT_EQ(t, counter, 4 * INCS);
	/* It ran over several slices, so preemption was really in play. */
	EXPECT(t, libos_cycles() - t0 > libos_cycles_hz() / 1000);
}

/* Bounded buffer: two producers, two consumers. */
#define ITEMS 300
static struct mutex buf_lock = MUTEX_INIT;
static struct cond not_full = COND_INIT, not_empty = COND_INIT;
static uint64_t buf[4], buf_n, buf_head, consumed_sum, consumed_n;
static void producer(void *arg)
{
	for (uint64_t i = 1; i <= ITEMS; i++) {
		mutex_lock(&buf_lock);
		while (buf_n == 4)
			cond_wait(&not_full, &buf_lock);
		buf[(buf_head + buf_n++) % 4] = i;
		cond_signal(&not_empty);
		mutex_unlock(&buf_lock);
	}
}
static void consumer(void *arg)
{
	for (;;) {
		mutex_lock(&buf_lock);
		while (buf_n == 0 && consumed_n < 2 * ITEMS)
			cond_wait(&not_empty, &buf_lock);
		if (consumed_n == 2 * ITEMS) {
			cond_broadcast(&not_empty);
			mutex_unlock(&buf_lock);
			return;
		}
		consumed_sum += buf[buf_head];
		buf_head = (buf_head + 1) % 4;
		buf_n--;
		consumed_n++;
		cond_signal(&not_full);
		if (consumed_n == 2 * ITEMS)
			cond_broadcast(&not_empty);
		mutex_unlock(&buf_lock);
	}
}

TEST(threads, conditions_pass_every_item_once)
{
	struct thread *th[4];
	consumed_sum = consumed_n = buf_n = buf_head = 0;
	ASSERT_EQ(t, thread_create(&th[0], producer, NULL, NULL), 0);
	ASSERT_EQ(t, thread_create(&th[1], producer, NULL, NULL), 0);
	ASSERT_EQ(t, thread_create(&th[2], consumer, NULL, NULL), 0);
	ASSERT_EQ(t, thread_create(&th[3], consumer, NULL, NULL), 0);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(t, thread_join(th[i], NULL), 0);
	EXPECT_EQ(t, consumed_n, 2 * ITEMS);
	EXPECT_EQ(t, consumed_sum, 2 * (uint64_t)ITEMS * (ITEMS + 1) / 2);
}

/* Semaphores: a ping-pong of 200 rounds keeps strict turns. */
static struct sem ping = SEM_INIT(0), pong = SEM_INIT(0);
static uint64_t turns;
static void ponger(void *arg)
{
	for (int i = 0; i < 200; i++) {
		sem_wait(&ping);
		turns++;
		sem_post(&pong);
	}
}

TEST(threads, semaphores_keep_turns)
{
	struct thread *p;
	turns = 0;
	ASSERT_EQ(t, thread_create(&p, ponger, NULL, NULL), 0);
	for (uint64_t i = 0; i < 200; i++) {
		sem_post(&ping);
		sem_wait(&pong);
		EXPECT_EQ(t, turns, i + 1);
	}
	EXPECT_EQ(t, thread_join(p, NULL), 0);
}

static void sleeper(void *arg)
{
	uint64_t t0 = libos_cycles();
	thread_sleep_ns(2000000);
	thread_exit(libos_cycles() - t0);
}

TEST(threads, sleep_lasts_at_least_as_asked)
{
	struct thread *s;
	uint64_t took = 0;
	ASSERT_EQ(t, thread_create(&s, sleeper, NULL, NULL), 0);
	EXPECT_EQ(t, thread_join(s, &took), 0);
	EXPECT(t, took >= libos_cycles_hz() / 500); /* 2 ms */
}

/* Each thread's floating-point work is its own, across preemptions. */
static void fpu_worker(void *arg)
{
	double x = (double)(uintptr_t)arg, sum = 0;
	for (int i = 0; i < 200000; i++)
		sum += x * 0.5;
	thread_exit(sum == (double)(uintptr_t)arg * 0.5 * 200000 ? 1 : 0);
}

TEST(threads, floating_point_state_is_per_thread)
{
	struct thread *th[3];
	for (uintptr_t i = 0; i < 3; i++)
		ASSERT_EQ(t, thread_create(&th[i], fpu_worker, (void *)(i + 3), NULL), 0);
	for (int i = 0; i < 3; i++) {
		uint64_t ok = 0;
		EXPECT_EQ(t, thread_join(th[i], &ok), 0);
		EXPECT_EQ(t, ok, 1);
	}
}

/*
 * Hot swap under load: three spinning threads with 100, 200 and 300
 * tickets; rr, then stride, then lottery, each for a phase. No thread is
 * lost, and in each phase the CPU shares are the new policy's: even under
 * rr, 1:2:3 under stride and lottery. Shares are of cycles, which under
 * plain TCG follow the host's clock (a loaded host stretches some slices by
 * milliseconds), so the shares are checked only under -icount, where time
 * is instructions (the guest manifest's threads-icount run); elsewhere the
 * swaps still run and lose no thread. Bounds: 10%, lottery's 30% (its phase
 * is ~300 draws: one standard deviation is about 8% of a third). A policy
 * that ignores tickets misses by 100%.
 */
static volatile bool spin_stop;
static void spinner(void *arg)
{
	while (!spin_stop)
		;
}

static void phase_shares(struct thread *const *th, uint64_t *before, uint64_t *share_ppm)
{
	uint64_t d[3], total = 0;
	for (int i = 0; i < 3; i++) {
		uint64_t now = thread_cycles(th[i]);
		d[i] = now - before[i];
		before[i] = now;
		total += d[i];
	}
	for (int i = 0; i < 3; i++)
		share_ppm[i] = total ? d[i] * 1000000 / total : 0;
}

static bool near(uint64_t got, uint64_t want, uint64_t pct)
{
	return got * 100 >= want * (100 - pct) && got * 100 <= want * (100 + pct);
}

TEST(threads, swaps_under_load_lose_no_thread_and_shares_follow_the_policy)
{
	static const char *const phases[] = { "rr", "stride", "lottery:seed=3" };
	static const uint64_t tolerance[] = { 10, 10, 30 };
	const char *icount = libos_arg("icount");
	bool exact = icount && icount[0] == 'y';
	static const uint64_t phase_ms[] = { 100, 100, 300 };
	static const uint64_t want[3][3] = { { 333333, 333333, 333333 },
					     { 166666, 333333, 500000 },
					     { 166666, 333333, 500000 } };
	struct thread *th[3];
	uint64_t before[3] = { 0 }, share[3];
	struct thread_attr top = { .prio = THREAD_PRIO_MAX, .tickets = 100 };
	ASSERT_EQ(t, thread_set_attr(thread_self(), &top), 0); /* main wakes on time */
	spin_stop = false;
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(t,
			  thread_create(&th[i], spinner, NULL,
					&(struct thread_attr){ .tickets = 100 * (i + 1) }),
			  0);
	for (int p = 0; p < 3; p++) {
		EXPECT_EQ(t, libos_policy_swap(POLICY_SCHED, phases[p]), 0);
		phase_shares(th, before, share); /* the phase starts now */
		thread_sleep_ns(phase_ms[p] * 1000000);
		phase_shares(th, before, share);
		printf("threads: %s: shares %llu %llu %llu ppm\n", phases[p],
		       (unsigned long long)share[0], (unsigned long long)share[1],
		       (unsigned long long)share[2]);
		for (int i = 0; exact && i < 3; i++)
			EXPECT(t, near(share[i], want[p][i], tolerance[p]));
	}
	EXPECT_EQ(t, libos_policy_swap(POLICY_SCHED, "nosuch"), E_NOENT);
	EXPECT_EQ(t, libos_policy_swap(POLICY_SCHED, "rr:nosuch=1"), E_INVAL);
	EXPECT_EQ(t, libos_policy_swap(POLICY_SCHED, "rr"), 0);
	spin_stop = true;
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(t, thread_join(th[i], NULL), 0);
	struct thread_attr plain = { .tickets = 100 };
	EXPECT_EQ(t, thread_set_attr(thread_self(), &plain), 0);
}

/*
 * Priority inheritance ends an inversion (under prio): L (1) holds the
 * mutex H (10) wants while M (5) spins. Inheritance runs L at 10, so H gets
 * the mutex before M is done; without it M would finish first.
 */
static struct mutex pi_lock = MUTEX_INIT;
static volatile bool h_waiting;
static volatile uint64_t h_done_at, m_done_at;

static void pi_low(void *arg)
{
	mutex_lock(&pi_lock);
	while (!h_waiting)
		;
	uint64_t end = libos_cycles() + libos_cycles_hz() / 500; /* 2 ms more with it */
	while (libos_cycles() < end)
		;
	mutex_unlock(&pi_lock);
}

static void pi_high(void *arg)
{
	h_waiting = true;
	mutex_lock(&pi_lock);
	h_done_at = libos_cycles();
	mutex_unlock(&pi_lock);
}

static void pi_medium(void *arg)
{
	uint64_t end = libos_cycles() + libos_cycles_hz() / 50; /* 20 ms */
	while (libos_cycles() < end)
		;
	m_done_at = libos_cycles();
}

TEST(threads, priority_inheritance_ends_an_inversion)
{
	struct thread *l, *h, *m;
	h_waiting = false;
	ASSERT_EQ(t, libos_policy_swap(POLICY_SCHED, "prio"), 0);
	ASSERT_EQ(t, thread_set_attr(thread_self(), &(struct thread_attr){ .prio = 20 }), 0);
	ASSERT_EQ(t, thread_create(&l, pi_low, NULL, &(struct thread_attr){ .prio = 1 }), 0);
	thread_sleep_ns(1000000); /* L takes the mutex */
	ASSERT_EQ(t, thread_create(&h, pi_high, NULL, &(struct thread_attr){ .prio = 10 }), 0);
	ASSERT_EQ(t, thread_create(&m, pi_medium, NULL, &(struct thread_attr){ .prio = 5 }), 0);
	EXPECT_EQ(t, thread_join(h, NULL), 0);
	EXPECT_EQ(t, thread_join(m, NULL), 0);
	EXPECT_EQ(t, thread_join(l, NULL), 0);
	EXPECT(t, h_done_at < m_done_at);
	EXPECT_EQ(t, thread_set_attr(thread_self(), &(struct thread_attr){ .prio = 0 }), 0);
	EXPECT_EQ(t, libos_policy_swap(POLICY_SCHED, "rr"), 0);
}

/*
 * Misbehaving policies, registered by this program alone (the framework
 * finds a program's own policies as it finds those of policies/): one that
 * never picks what it was given, one that picks what it was not given, one
 * whose pick faults.
 */
static int nop_init(const uint64_t *p)
{
	return 0;
}
static void nop_enqueue(struct thread *t, uint64_t now) {}
static void nop_dequeue(struct thread *t) {}
static struct thread *starver_pick(uint64_t now)
{
	return NULL;
}
static struct thread *liar_pick(uint64_t now)
{
	return (struct thread *)0x1000;
}
static struct thread *faulter_pick(uint64_t now)
{
	return *(struct thread *volatile *)8;
}

static const struct sched_ops test_starver = {
	.info = { .kind = POLICY_SCHED, .name = "test_starver", .description = "never picks" },
	.init = nop_init,
	.enqueue = nop_enqueue,
	.dequeue = nop_dequeue,
	.pick = starver_pick,
};
static const struct sched_ops test_liar = {
	.info = { .kind = POLICY_SCHED, .name = "test_liar", .description = "picks a stranger" },
	.init = nop_init,
	.enqueue = nop_enqueue,
	.dequeue = nop_dequeue,
	.pick = liar_pick,
};
static const struct sched_ops test_faulter = {
	.info = { .kind = POLICY_SCHED, .name = "test_faulter", .description = "faults in pick" },
	.init = nop_init,
	.enqueue = nop_enqueue,
	.dequeue = nop_dequeue,
	.pick = faulter_pick,
};
POLICY_REGISTER(test_starver);
POLICY_REGISTER(test_liar);
POLICY_REGISTER(test_faulter);

/*
 * A policy whose init runs for 10 ms (several slice starts) inside the
 * framework's swap, then refuses: it counts how far a spinning thread got
 * meanwhile. Slice starts that find the framework busy must leave it busy:
 * none of them may run another thread inside the swap.
 */
static volatile uint64_t spins, spins_during_init;
static volatile bool slow_spin_stop;
static int slow_init(const uint64_t *p)
{
	uint64_t s0 = spins, end = libos_cycles() + libos_cycles_hz() / 100;
	while (libos_cycles() < end)
		;
	spins_during_init = spins - s0;
	return E_BUSY;
}
static const struct sched_ops test_slowinit = {
	.info = { .kind = POLICY_SCHED,
		  .name = "test_slowinit",
		  .description = "init spins, refuses" },
	.init = slow_init,
	.enqueue = nop_enqueue,
	.dequeue = nop_dequeue,
	.pick = starver_pick,
};
POLICY_REGISTER(test_slowinit);

static void counting_spinner(void *arg)
{
	while (!slow_spin_stop)
		spins++;
}

TEST(threads, slice_starts_inside_the_framework_run_no_other_thread)
{
	struct thread *x;
	slow_spin_stop = false;
	spins = 0;
	spins_during_init = ~0ULL;
	ASSERT_EQ(t, thread_create(&x, counting_spinner, NULL, NULL), 0);
	while (spins == 0)
		thread_yield();
	uint64_t busy = libos_sched_busy_preempts();
	EXPECT_EQ(t, libos_policy_swap(POLICY_SCHED, "test_slowinit"), E_BUSY);
	/* Slice starts really came inside the swap (10 ms: about ten). */
	EXPECT(t, libos_sched_busy_preempts() - busy >= 2);
	EXPECT_EQ(t, spins_during_init, 0);
	EXPECT_STREQ(t, libos_policy_current(POLICY_SCHED), "rr");
	slow_spin_stop = true;
	EXPECT_EQ(t, thread_join(x, NULL), 0);
}

static volatile bool ran;
static void mark(void *arg)
{
	ran = true;
}

/* The watchdog (watchdog_ms, set low by the guest test) ends a policy that starves a thread. */
TEST(threads, a_policy_that_starves_a_thread_is_replaced_by_the_default)
{
	struct thread *x;
	ran = false;
	ASSERT_EQ(t, libos_policy_swap(POLICY_SCHED, "test_starver"), 0);
	ASSERT_EQ(t, thread_create(&x, mark, NULL, NULL), 0);
	EXPECT_EQ(t, thread_join(x, NULL), 0); /* main blocks: only the watchdog can end this */
	EXPECT(t, ran);
	EXPECT_STREQ(t, libos_policy_current(POLICY_SCHED), SCHED_DEFAULT);
}

TEST(threads, a_policy_that_picks_a_stranger_is_replaced_by_the_default)
{
	struct thread *x;
	ran = false;
	ASSERT_EQ(t, libos_policy_swap(POLICY_SCHED, "test_liar"), 0);
	ASSERT_EQ(t, thread_create(&x, mark, NULL, NULL), 0);
	EXPECT_EQ(t, thread_join(x, NULL), 0);
	EXPECT(t, ran);
	EXPECT_STREQ(t, libos_policy_current(POLICY_SCHED), SCHED_DEFAULT);
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	if (arg == 1) {
		/* The faulting policy ends this environment, naming itself; nothing after runs. */
		struct thread *x;
		if (libos_policy_swap(POLICY_SCHED, "test_faulter") == 0 &&
		    thread_create(&x, mark, NULL, NULL) == 0)
			thread_yield();
		return 1;
	}
	printf("threads: sched policy %s\n", libos_policy_current(POLICY_SCHED));
	return (int)test_run("all");
}
