/*
 * The sched policies (policies/sched/) driven through their ops tables, as
 * libos-framework/thread.c drives them, on synthetic threads and a
 * simulated clock. A small discrete-event loop stands in for the
 * framework: pick, run the thread for a quantum (or less), charge it,
 * queue it again; sleepers are woken and periodic jobs released at their
 * times. The properties are the issue's: shares, lag, deadlines, priority
 * order, and what every policy owes the framework (pick only what it was
 * given, NULL on empty, any dequeue, init that forgets).
 */
#include <exo/errors.h>
#include <exo/test.h>
#include <libos/sched_impl.h>
#include <string.h>

extern uint64_t libos_host_now; /* libos-framework/host/shim.c: the policies' clock */

#define Q 1000000ULL /* one quantum: 1 ms at the host clock's 1 GHz (stride's default) */
#define US 1000ULL   /* cycles per microsecond */
#define NT 16	     /* threads in one simulation */

static const char *const all_policies[] = { "rr", "prio", "lottery", "stride", "edf" };
#define NPOL (sizeof(all_policies) / sizeof(all_policies[0]))

/* One simulated environment: a policy, its threads, the clock. */
struct sim {
	const struct sched_ops *ops;
	struct thread th[NT];
	unsigned n;
	uint64_t now;
	uint64_t burst[NT]; /* cycles a thread runs each time it is picked (0: a whole quantum) */
	uint64_t left[NT];  /* periodic: work left in the current job (cycles) */
	uint64_t jobs[NT];  /* periodic: jobs ended */
	unsigned bad;	    /* picks of a thread that was not queued */
	unsigned bg_early;  /* picks of a non-periodic thread while a periodic one was queued */
};

static struct sim sim; /* static: a struct thread carries a 512-byte FPU image */

/* A fresh simulation running spec ("lottery:seed=7"): E_OK or the parse/init error. */
static int start(const char *spec)
{
	memset(&sim, 0, sizeof(sim));
	libos_host_now = 0;
	struct policy_choice c;
	char err[256];
	int e = policy_parse(POLICY_SCHED, spec, &c, err, sizeof(err));
	if (e)
		return e;
	sim.ops = (const struct sched_ops *)c.info;
	return sim.ops->init(c.values);
}

static void enq(struct thread *t)
{
	t->queued = true;
	t->ready_since = sim.now;
	sim.ops->enqueue(t, sim.now);
}

static void deq(struct thread *t)
{
	sim.ops->dequeue(t);
	t->queued = false;
}

/* The policy's pick, checked as the framework checks it. */
static struct thread *pick(void)
{
	struct thread *t = sim.ops->pick(sim.now);
	if (!t)
		return NULL;
	if (t < sim.th || t >= sim.th + sim.n || !t->queued)
		sim.bad++;
	t->queued = false;
	return t;
}

static unsigned idx(const struct thread *t)
{
	return (unsigned)(t - sim.th);
}

/* A new thread as thread_create makes it; queued unless it sleeps until wake_at. */
static struct thread *add(struct thread_attr a, uint64_t wake_at)
{
	struct thread *t = &sim.th[sim.n++];
	memset(t, 0, sizeof(*t));
	t->id = sim.n;
	t->attr = a;
	t->eff_prio = a.prio;
	t->release = MAX(sim.now, wake_at);
	t->deadline = a.period_us ? t->release + a.period_us * US : 0;
	sim.left[idx(t)] = a.budget_us * US;
	t->state = THREAD_RUNNABLE;
	if (wake_at > sim.now) {
		t->state = THREAD_SLEEPING;
		t->wake_at = wake_at;
	} else {
		enq(t);
	}
	return t;
}

/* A periodic job ended: as thread_job_done, count a miss and sleep until the next release. */
static void job_done(struct thread *t)
{
	uint64_t period = t->attr.period_us * US;
	if (sim.now > t->deadline)
		t->misses++;
	sim.jobs[idx(t)]++;
	t->release += period;
	if (t->release + period < sim.now) /* overran whole periods: skip the jobs never started */
		t->release = sim.now - (sim.now - t->release) % period;
	t->deadline = t->release + period;
	sim.left[idx(t)] = t->attr.budget_us * US;
	if (t->release > sim.now) {
		t->state = THREAD_SLEEPING;
		t->wake_at = t->release;
	}
}

static void wake_sleepers(void)
{
	for (unsigned i = 0; i < sim.n; i++)
		if (sim.th[i].state == THREAD_SLEEPING && sim.th[i].wake_at <= sim.now) {
			sim.th[i].state = THREAD_RUNNABLE;
			enq(&sim.th[i]);
		}
}

static bool periodic_queued(void)
{
	for (unsigned i = 0; i < sim.n; i++)
		if (sim.th[i].queued && sim.th[i].deadline)
			return true;
	return false;
}

/*
 * One event: wake who is due, pick, run the thread for a quantum (less
 * if its burst or its job is shorter), charge it, queue it again if still
 * runnable. With nothing to run the clock jumps to the next wake-up.
 * Returns the thread that ran, or NULL (idle).
 */
static struct thread *step(void)
{
	wake_sleepers();
	bool periodic = periodic_queued();
	struct thread *t = pick();
	if (!t) {
		uint64_t next = UINT64_MAX;
		for (unsigned i = 0; i < sim.n; i++)
			if (sim.th[i].state == THREAD_SLEEPING)
				next = MIN(next, sim.th[i].wake_at);
		if (next != UINT64_MAX)
			libos_host_now = sim.now = next;
		return NULL;
	}
	if (!t->deadline && periodic)
		sim.bg_early++;
	uint64_t run = sim.burst[idx(t)] ? sim.burst[idx(t)] : Q;
	if (t->deadline)
		run = MIN(run, sim.left[idx(t)]);
	libos_host_now = sim.now += run;
	t->ran += run;
	if (sim.ops->charge)
		sim.ops->charge(t, run);
	if (t->deadline && !(sim.left[idx(t)] -= run))
		job_done(t);
	if (t->state == THREAD_RUNNABLE)
		enq(t);
	return t;
}

/* Varied attributes, so every policy sees different keys (periodic for edf on odd i). */
static struct thread_attr mixed(unsigned i)
{
	return (struct thread_attr){ .prio = (i * 37) % 256,
				     .tickets = 100 * (i + 1),
				     .period_us = i % 2 ? 4000 * (i + 1) : 0,
				     .budget_us = i % 2 ? 1000 : 0 };
}

/* ---- what every policy owes the framework ---- */

TEST(sched_policy, every_policy_empty_pick_is_null)
{
	for (unsigned p = 0; p < NPOL; p++) {
		ASSERT_EQ(t, start(all_policies[p]), E_OK);
		EXPECT(t, pick() == NULL);
		struct thread *a = add(mixed(0), 0);
		EXPECT(t, pick() == a);
		EXPECT(t, pick() == NULL);
		if (!EXPECT_EQ(t, sim.bad, 0))
			kprintf("sched_policy: %s\n", all_policies[p]);
	}
}

/*
 * Random enqueue, dequeue, pick and charge against the set of queued
 * threads: every pick must return a thread of that set (each once), and
 * NULL exactly when it is empty.
 */
TEST(sched_policy, every_policy_picks_only_what_it_was_given)
{
	for (unsigned p = 0; p < NPOL; p++) {
		ASSERT_EQ(t, start(all_policies[p]), E_OK);
		for (unsigned i = 0; i < NT; i++)
			add(mixed(i), 0);
		uint64_t rng = 0x9e3779b97f4a7c15ULL + p;
		unsigned nulls_wrong = 0;
		for (unsigned k = 0; k < 20000; k++) {
			struct thread *th = &sim.th[libos_rand(&rng) % NT];
			unsigned queued = 0;
			for (unsigned i = 0; i < NT; i++)
				queued += sim.th[i].queued;
			switch (libos_rand(&rng) % 3) {
			case 0:
				if (!th->queued)
					enq(th);
				break;
			case 1:
				if (th->queued)
					deq(th);
				break;
			default: {
				struct thread *got = pick();
				nulls_wrong += !got != !queued;
				if (got && sim.ops->charge) {
					uint64_t ran = libos_rand(&rng) % (2 * Q) + 1;
					libos_host_now = sim.now += ran;
					sim.ops->charge(got, ran);
				}
			}
			}
		}
		if (!EXPECT_EQ(t, sim.bad, 0) || !EXPECT_EQ(t, nulls_wrong, 0))
			kprintf("sched_policy: %s\n", all_policies[p]);
	}
}

TEST(sched_policy, every_policy_dequeues_any_queued_thread)
{
	enum { N = 6 };
	for (unsigned p = 0; p < NPOL; p++) {
		for (unsigned k = 0; k < N; k++) {
			ASSERT_EQ(t, start(all_policies[p]), E_OK);
			for (unsigned i = 0; i < N; i++)
				add(mixed(i), 0);
			deq(&sim.th[k]);
			unsigned seen[N] = { 0 }, got = 0;
			for (struct thread *th; (th = pick()) && got <= N; got++)
				seen[idx(th)]++;
			bool ok = got == N - 1 && !seen[k] && !sim.bad;
			for (unsigned i = 0; i < N; i++)
				ok &= i == k || seen[i] == 1;
			if (!EXPECT(t, ok))
				kprintf("sched_policy: %s, dequeued thread %u: %u picked\n",
					all_policies[p], k, got);
		}
	}
}

/* n events of six mixed threads; which ran at each, in order[] (0xff: idle). */
static void run_mixed(uint8_t *order, unsigned n)
{
	for (unsigned i = 0; i < 6; i++)
		add(mixed(i), 0);
	for (unsigned k = 0; k < n; k++) {
		struct thread *th = step();
		order[k] = th ? (uint8_t)idx(th) : 0xff;
	}
}

/* init starts afresh: a second init forgets the queue, the random stream, the virtual time. */
TEST(sched_policy, every_policy_init_resets)
{
	static uint8_t first[300], second[300];
	for (unsigned p = 0; p < NPOL; p++) {
		ASSERT_EQ(t, start(all_policies[p]), E_OK);
		run_mixed(first, 300);
		/* Threads still queued, and init again: the policy must hold none of them. */
		struct policy_choice c;
		char err[128];
		ASSERT_EQ(t, policy_parse(POLICY_SCHED, all_policies[p], &c, err, sizeof(err)),
			  E_OK);
		ASSERT_EQ(t, sim.ops->init(c.values), E_OK);
		EXPECT(t, sim.ops->pick(sim.now) == NULL);
		ASSERT_EQ(t, start(all_policies[p]), E_OK);
		run_mixed(second, 300);
		if (!EXPECT(t, !memcmp(first, second, sizeof(first))) || !EXPECT_EQ(t, sim.bad, 0))
			kprintf("sched_policy: %s\n", all_policies[p]);
	}
}

TEST(sched_policy, rr_takes_turns)
{
	ASSERT_EQ(t, start("rr"), E_OK);
	for (unsigned i = 0; i < 4; i++)
		add((struct thread_attr){ .prio = i, .tickets = 100 * (i + 1) }, 0);
	for (unsigned k = 0; k < 40; k++)
		EXPECT_EQ(t, idx(step()), k % 4);
	EXPECT_EQ(t, sim.bad, 0);
}

/* ---- prio ---- */

TEST(sched_policy, prio_higher_always_first)
{
	static const uint32_t prio[] = { 5, 200, 5, 0, 255, 200, 64, 63 };
	static const unsigned order[] = { 4, 1, 5, 6, 7, 0, 2, 3 }; /* by prio, FIFO among equals */
	ASSERT_EQ(t, start("prio"), E_OK);
	for (unsigned i = 0; i < 8; i++)
		add((struct thread_attr){ .prio = prio[i] }, 0);
	for (unsigned k = 0; k < 8; k++)
		EXPECT_EQ(t, idx(pick()), order[k]);
	EXPECT(t, pick() == NULL);

	/* Running: the highest runnable thread gets every quantum; equals take turns. */
	ASSERT_EQ(t, start("prio"), E_OK);
	for (unsigned i = 0; i < 8; i++)
		add((struct thread_attr){ .prio = prio[i] }, 0);
	for (unsigned k = 0; k < 100; k++)
		EXPECT_EQ(t, idx(step()), 4);
	/* The top one sleeps: the two at 200 alternate, nothing lower runs. */
	deq(&sim.th[4]);
	sim.th[4].state = THREAD_SLEEPING;
	sim.th[4].wake_at = sim.now + 10 * Q;
	for (unsigned k = 0; k < 10; k++)
		EXPECT_EQ(t, idx(step()), k % 2 ? 5 : 1);
	EXPECT_EQ(t, idx(step()), 4); /* woken: first again at once */
	EXPECT_EQ(t, sim.bad, 0);
}

/* Inheritance as the framework does it: dequeue, change eff_prio, enqueue. */
TEST(sched_policy, prio_raised_eff_prio_reorders)
{
	ASSERT_EQ(t, start("prio"), E_OK);
	struct thread *a = add((struct thread_attr){ .prio = 10 }, 0);
	struct thread *b = add((struct thread_attr){ .prio = 1 }, 0);
	struct thread *c = add((struct thread_attr){ .prio = 5 }, 0);
	struct thread *d = add((struct thread_attr){ .prio = 10 }, 0);
	deq(b);
	b->eff_prio = 20; /* a prio-20 thread waits on a mutex b holds */
	enq(b);
	deq(c);
	c->eff_prio = 10; /* raised to a's level: behind a and d (FIFO) */
	enq(c);
	EXPECT(t, pick() == b);
	EXPECT(t, pick() == a);
	EXPECT(t, pick() == d);
	EXPECT(t, pick() == c);
	EXPECT(t, pick() == NULL);
	/* And back down when the mutex is released. */
	enq(a);
	enq(b);
	deq(b);
	b->eff_prio = b->attr.prio;
	enq(b);
	EXPECT(t, pick() == a);
	EXPECT(t, pick() == b);
	EXPECT_EQ(t, sim.bad, 0);
}

/* ---- lottery ---- */

/* CPU shares of three threads with 100:200:300 tickets over 20,000 quanta, within ±5% of 1:2:3. */
TEST(sched_policy, lottery_shares_match_tickets)
{
	static const char *const seeds[] = { "lottery", "lottery:seed=7", "lottery:seed=12345" };
	static const uint32_t tickets[] = { 100, 200, 300 };
	enum { QUANTA = 20000 };
	for (unsigned s = 0; s < 3; s++) {
		ASSERT_EQ(t, start(seeds[s]), E_OK);
		for (unsigned i = 0; i < 3; i++)
			add((struct thread_attr){ .tickets = tickets[i] }, 0);
		for (unsigned k = 0; k < QUANTA; k++)
			step();
		uint64_t permille[3];
		for (unsigned i = 0; i < 3; i++) {
			uint64_t quanta = sim.th[i].ran / Q, ideal = QUANTA * tickets[i] / 600;
			permille[i] = quanta * 1000 / ideal;
			EXPECT(t, permille[i] >= 950 && permille[i] <= 1050);
		}
		kprintf("sched_policy: %s: shares %llu, %llu, %llu quanta of 20000 "
			"(%llu, %llu, %llu permille of 1:2:3)\n",
			seeds[s], (unsigned long long)(sim.th[0].ran / Q),
			(unsigned long long)(sim.th[1].ran / Q),
			(unsigned long long)(sim.th[2].ran / Q), (unsigned long long)permille[0],
			(unsigned long long)permille[1], (unsigned long long)permille[2]);
		EXPECT_EQ(t, sim.bad, 0);
	}
}

TEST(sched_policy, lottery_seed_replays)
{
	static uint8_t a[1000], b[1000], c[1000];
	const char *specs[] = { "lottery:seed=7", "lottery:seed=7", "lottery:seed=8" };
	uint8_t *runs[] = { a, b, c };
	for (unsigned r = 0; r < 3; r++) {
		ASSERT_EQ(t, start(specs[r]), E_OK);
		for (unsigned i = 0; i < 4; i++)
			add((struct thread_attr){ .tickets = 100 }, 0);
		for (unsigned k = 0; k < 1000; k++)
			runs[r][k] = (uint8_t)idx(step());
	}
	EXPECT(t, !memcmp(a, b, sizeof(a)));
	EXPECT(t, memcmp(a, c, sizeof(a)) != 0);
	EXPECT_EQ(t, start("lottery:seed=0"), E_INVAL); /* xorshift cannot start from 0 */
}

/* ---- stride ---- */

/*
 * Threads always runnable from time 0 with the given tickets: after every
 * quantum, each thread's service differs from its ideal share of the time
 * elapsed (elapsed * tickets / all tickets) by at most one quantum.
 */
static uint64_t stride_max_lag(struct test_ctx *t, const uint32_t *tickets, unsigned n,
			       unsigned quanta)
{
	if (!EXPECT_EQ(t, start("stride"), E_OK))
		return UINT64_MAX;
	uint64_t all = 0, worst = 0; /* worst lag, in cycles times all */
	for (unsigned i = 0; i < n; i++) {
		add((struct thread_attr){ .tickets = tickets[i] }, 0);
		all += tickets[i];
	}
	for (unsigned k = 0; k < quanta; k++) {
		step();
		for (unsigned i = 0; i < n; i++) {
			uint64_t have = sim.th[i].ran * all, ideal = sim.now * tickets[i];
			worst = MAX(worst, have > ideal ? have - ideal : ideal - have);
		}
	}
	EXPECT_EQ(t, sim.bad, 0);
	return worst * 1000 / all / Q; /* permille of a quantum */
}

TEST(sched_policy, stride_lag_under_one_quantum)
{
	static const uint32_t m1[] = { 100, 200, 300 }, m2[] = { 1, 10 }, m3[] = { 7, 13, 29 },
			      m4[] = { 3, 5, 7, 11, 13, 17 }, m5[] = { 1000, 1 },
			      m6[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 10 },
			      m7[] = { 100, 100, 100, 100, 100, 100, 100, 100 };
	static const struct {
		const uint32_t *t;
		unsigned n;
		const char *name;
	} mixes[] = { { m1, 3, "100:200:300" },	   { m2, 2, "1:10" },	{ m3, 3, "7:13:29" },
		      { m4, 6, "3:5:7:11:13:17" }, { m5, 2, "1000:1" }, { m6, 11, "1x10:10" },
		      { m7, 8, "100x8" } };
	for (unsigned m = 0; m < sizeof(mixes) / sizeof(mixes[0]); m++) {
		uint64_t lag = stride_max_lag(t, mixes[m].t, mixes[m].n, 20000);
		kprintf("sched_policy: stride %s: max lag %llu permille of a quantum over 20000 "
			"quanta\n",
			mixes[m].name, (unsigned long long)lag);
		EXPECT(t, lag <= 1000);
	}
}

/* Charge counts cycles: a thread that yields after half a quantum is charged half. */
TEST(sched_policy, stride_charges_cycles_run)
{
	ASSERT_EQ(t, start("stride"), E_OK);
	add((struct thread_attr){ .tickets = 100 }, 0);
	add((struct thread_attr){ .tickets = 100 }, 0);
	sim.burst[0] = Q / 2;
	for (unsigned k = 0; k < 3000; k++)
		step();
	/* Equal tickets: equal cycles, so thread 0 is picked twice as often. */
	uint64_t a = sim.th[0].ran, b = sim.th[1].ran;
	EXPECT(t, (a > b ? a - b : b - a) <= Q);
	EXPECT_EQ(t, sim.bad, 0);
}

/* A sleeper banks no credit: woken (or new) after 1000 quanta, it gets its share, not more. */
TEST(sched_policy, stride_sleeper_cannot_monopolise)
{
	ASSERT_EQ(t, start("stride"), E_OK);
	add((struct thread_attr){ .tickets = 100 }, 0);
	struct thread *b = add((struct thread_attr){ .tickets = 100 }, 0);
	for (unsigned k = 0; k < 10; k++)
		step();
	if (b->queued)
		deq(b);
	b->state = THREAD_SLEEPING;
	b->wake_at = sim.now + 1000 * Q;
	for (unsigned k = 0; k < 1000; k++)
		EXPECT_EQ(t, idx(step()), 0);
	struct thread *c = add((struct thread_attr){ .tickets = 100 }, 0);
	uint64_t ran_b = b->ran;
	for (unsigned k = 0; k < 300; k++)
		step();
	/* Three equal threads over 300 quanta: 100 each, give or take one. */
	EXPECT(t, (b->ran - ran_b) / Q <= 101);
	EXPECT(t, c->ran / Q <= 101);
	EXPECT(t, (b->ran - ran_b) / Q >= 99);
	EXPECT_EQ(t, sim.bad, 0);
	EXPECT_EQ(t, start("stride:quantum_us=0"), E_INVAL);
}

/* ---- edf ---- */

struct task {
	uint64_t period_q, budget_q; /* in quanta */
};

/* Periodic threads (and one without a period) over `quanta`; their misses, and jobs ended. */
static void edf_run(const struct task *tasks, unsigned n, unsigned quanta)
{
	for (unsigned i = 0; i < n; i++)
		add((struct thread_attr){ .period_us = tasks[i].period_q * Q / US,
					  .budget_us = tasks[i].budget_q * Q / US },
		    0);
	add((struct thread_attr){ .name = "background" }, 0);
	while (sim.now < quanta * Q)
		step();
}

/* U = 1/4 + 2/5 + 6/20 = 0.95, hyperperiod 20 quanta: no miss in 50 hyperperiods. */
TEST(sched_policy, edf_meets_feasible_deadlines)
{
	static const struct task set[] = { { 4, 1 }, { 5, 2 }, { 20, 6 } };
	ASSERT_EQ(t, start("edf"), E_OK);
	edf_run(set, 3, 1000);
	uint64_t misses = 0;
	for (unsigned i = 0; i < 3; i++) {
		misses += sim.th[i].misses;
		EXPECT_EQ(t, sim.jobs[i], 1000 / set[i].period_q);
	}
	EXPECT_EQ(t, misses, 0);
	/* The 5% left over went to the thread with no period, and only when no job waited. */
	EXPECT_EQ(t, sim.th[3].ran, 50 * Q);
	EXPECT_EQ(t, sim.bg_early, 0);
	EXPECT_EQ(t, sim.bad, 0);
	kprintf(
	    "sched_policy: edf U=0.95: %llu misses, jobs %llu/%llu/%llu, background %llu quanta\n",
	    (unsigned long long)misses, (unsigned long long)sim.jobs[0],
	    (unsigned long long)sim.jobs[1], (unsigned long long)sim.jobs[2],
	    (unsigned long long)(sim.th[3].ran / Q));
}

/* U = 2/4 + 2/5 + 3/10 = 1.2: no schedule meets every deadline; the misses show. */
TEST(sched_policy, edf_reports_misses_when_infeasible)
{
	static const struct task set[] = { { 4, 2 }, { 5, 2 }, { 10, 3 } };
	ASSERT_EQ(t, start("edf"), E_OK);
	edf_run(set, 3, 1000);
	uint64_t misses = sim.th[0].misses + sim.th[1].misses + sim.th[2].misses;
	EXPECT(t, misses > 0);
	EXPECT_EQ(t, sim.th[3].ran, 0); /* overloaded: nothing left for the background */
	EXPECT_EQ(t, sim.bad, 0);
	kprintf("sched_policy: edf U=1.2: %llu misses (%llu/%llu/%llu) in %llu/%llu/%llu jobs\n",
		(unsigned long long)misses, (unsigned long long)sim.th[0].misses,
		(unsigned long long)sim.th[1].misses, (unsigned long long)sim.th[2].misses,
		(unsigned long long)sim.jobs[0], (unsigned long long)sim.jobs[1],
		(unsigned long long)sim.jobs[2]);
}

/* ---- the registry's answers to bad specs ---- */

static bool has(const char *s, const char *word)
{
	return strstr(s, word) != NULL;
}

TEST(sched_policy, parse_errors_say_what_exists)
{
	struct policy_choice c;
	char err[400];
	EXPECT_EQ(t, policy_parse(POLICY_SCHED, "nosuch", &c, err, sizeof(err)), E_NOENT);
	EXPECT(t, has(err, "nosuch"));
	for (unsigned p = 0; p < NPOL; p++)
		EXPECT(t, has(err, all_policies[p]));

	EXPECT_EQ(t, policy_parse(POLICY_SCHED, "lottery:quantum_us=5", &c, err, sizeof(err)),
		  E_INVAL);
	EXPECT(t, has(err, "quantum_us") && has(err, "seed"));
	EXPECT_EQ(t, policy_parse(POLICY_SCHED, "stride:seed=1", &c, err, sizeof(err)), E_INVAL);
	EXPECT(t, has(err, "quantum_us"));

	EXPECT_EQ(t, policy_parse(POLICY_SCHED, "lottery:seed=abc", &c, err, sizeof(err)), E_INVAL);
	EXPECT(t, has(err, "seed") && has(err, "abc"));
	EXPECT_EQ(t, policy_parse(POLICY_SCHED, "lottery:seed=", &c, err, sizeof(err)), E_INVAL);
	EXPECT_EQ(t, policy_parse(POLICY_SCHED, "lottery:seed=-1", &c, err, sizeof(err)), E_INVAL);

	ASSERT_EQ(t, policy_parse(POLICY_SCHED, "lottery:seed=7", &c, err, sizeof(err)), E_OK);
	EXPECT_STREQ(t, c.info->name, "lottery");
	EXPECT_EQ(t, c.values[0], 7);
	EXPECT_EQ(t, policy_value(&c, "seed"), 7);
	ASSERT_EQ(t, policy_parse(POLICY_SCHED, "stride", &c, err, sizeof(err)), E_OK);
	EXPECT_EQ(t, policy_value(&c, "quantum_us"), 1000);
	char spec[POLICY_SPEC_MAX];
	policy_format(&c, spec, sizeof(spec));
	EXPECT_STREQ(t, spec, "stride:quantum_us=1000");

	/* Every sched policy says what it does, and each parameter what it means. */
	for (unsigned p = 0; p < NPOL; p++) {
		const struct policy_info *info = policy_find(POLICY_SCHED, all_policies[p]);
		ASSERT(t, info != NULL);
		EXPECT(t, info->description && info->description[0]);
		for (unsigned k = 0; k < POLICY_PARAMS_MAX && info->params[k].name; k++)
			EXPECT(t, info->params[k].help && info->params[k].help[0]);
	}
}
