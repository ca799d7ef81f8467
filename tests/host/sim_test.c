/*
 * The host simulator (core/arch/host): determinism, choosers, interrupts
 * and IPIs, idle and deadlock, cycle counters, nesting. Each test builds its
 * own small machine inside the host-tests machine (machines nest), and
 * checks what its fibers recorded after sim_run, from the test body.
 */
#include <arch/cpu.h>
#include <arch/ipi.h>
#include <arch/mm.h>
#include <arch/percpu.h>
#include <arch/phys.h>
#include <arch/sim.h>
#include <exo/errors.h>
#include <exo/test.h>
#include <ipi.h>
#include <percpu.h>
#include <string.h>

/* A machine with almost no memory: these tests need cores, not RAM. */
static void machine(unsigned ncores, uint64_t seed)
{
	sim_init(&(struct sim_config){
	    .ncores = ncores, .seed = seed, .phys_bytes = PAGE_SIZE, .stack_bytes = 256 << 10});
}

/* ---- interleavings ---- */

#define ROUNDS    40
#define TRACE_MAX (MAX_CPUS * ROUNDS)

/* The order in which fibers passed their scheduling points. */
struct trace {
	unsigned n;
	uint8_t core[TRACE_MAX];
};

/* Log this core, yield; ROUNDS times. The log is the interleaving. */
static void logger(void *arg)
{
	struct trace *tr = arg;
	for (unsigned i = 0; i < ROUNDS; i++) {
		tr->core[tr->n++] = (uint8_t)sim_current();
		sim_yield();
	}
}

static int run_loggers(unsigned ncores, uint64_t seed, struct trace *tr)
{
	memset(tr, 0, sizeof(*tr));
	machine(ncores, seed);
	for (unsigned c = 0; c < ncores; c++)
		sim_start(c, logger, tr);
	int e = sim_run(0);
	sim_fini();
	return e;
}

/* How often consecutive entries name different cores. */
static unsigned switches(const struct trace *tr)
{
	unsigned n = 0;
	for (unsigned i = 1; i < tr->n; i++)
		n += tr->core[i] != tr->core[i - 1];
	return n;
}

static struct trace tr_a, tr_b;

TEST(sim, same_seed_same_interleaving)
{
	ASSERT_EQ(t, run_loggers(4, 42, &tr_a), E_OK);
	ASSERT_EQ(t, run_loggers(4, 42, &tr_b), E_OK);
	EXPECT_EQ(t, tr_a.n, 4 * ROUNDS);
	EXPECT_EQ(t, tr_b.n, tr_a.n);
	EXPECT(t, memcmp(tr_a.core, tr_b.core, sizeof(tr_a.core)) == 0);
	/* A random interleaving of 4 x 40 steps switches cores often. */
	EXPECT(t, switches(&tr_a) > ROUNDS);
}

TEST(sim, different_seeds_differ)
{
	ASSERT_EQ(t, run_loggers(4, 1, &tr_a), E_OK);
	ASSERT_EQ(t, run_loggers(4, 2, &tr_b), E_OK);
	EXPECT_EQ(t, tr_a.n, tr_b.n);
	EXPECT(t, memcmp(tr_a.core, tr_b.core, sizeof(tr_a.core)) != 0);
}

/* Choosers. prev + 1 gives round robin (SIM_NO_CORE + 1 wraps to core 0). */
static unsigned choose_round_robin(void *ctx, const struct sim_choice *c)
{
	(void)ctx;
	return c->prev + 1;
}

static unsigned choose_lowest(void *ctx, const struct sim_choice *c)
{
	(void)ctx, (void)c;
	return 0;
}

/* What a recording chooser saw, step by step. */
struct seen {
	unsigned n;
	uint64_t step[TRACE_MAX + 8];
	uint64_t runnable[TRACE_MAX + 8];
	unsigned answer; /* what to return, offset by ncores * 1000 to test folding */
};

static unsigned choose_recording(void *ctx, const struct sim_choice *c)
{
	struct seen *s = ctx;
	if (s->n < ARRAY_SIZE(s->step)) {
		s->step[s->n] = c->step;
		s->runnable[s->n] = c->runnable;
		s->n++;
	}
	return s->answer;
}

TEST(sim, chooser_controls_order)
{
	memset(&tr_a, 0, sizeof(tr_a));
	machine(3, 0);
	sim_set_chooser(choose_round_robin, NULL);
	for (unsigned c = 0; c < 3; c++)
		sim_start(c, logger, &tr_a);
	EXPECT_EQ(t, sim_run(0), E_OK);
	sim_fini();
	ASSERT_EQ(t, tr_a.n, 3 * ROUNDS);
	for (unsigned i = 0; i < tr_a.n; i++)
		if (!EXPECT_EQ(t, tr_a.core[i], i % 3))
			break;

	/* Always "core 0": each core runs to its end before the next starts. */
	memset(&tr_a, 0, sizeof(tr_a));
	machine(3, 0);
	sim_set_chooser(choose_lowest, NULL);
	for (unsigned c = 0; c < 3; c++)
		sim_start(c, logger, &tr_a);
	EXPECT_EQ(t, sim_run(0), E_OK);
	sim_fini();
	for (unsigned i = 0; i < tr_a.n; i++)
		if (!EXPECT_EQ(t, tr_a.core[i], i / ROUNDS))
			break;
}

static struct seen seen;

TEST(sim, chooser_sees_steps_and_runnable_cores)
{
	memset(&tr_a, 0, sizeof(tr_a));
	memset(&seen, 0, sizeof(seen));
	seen.answer = 4 * 1000 + 2; /* folds to core 2 */
	machine(4, 0);
	sim_set_chooser(choose_recording, &seen);
	for (unsigned c = 0; c < 4; c++)
		sim_start(c, logger, &tr_a);
	EXPECT_EQ(t, sim_run(0), E_OK);
	EXPECT_EQ(t, sim_steps(), seen.n);
	sim_fini();

	/* Core 2 runs out first, then the first runnable after it: 3, 0, 1. */
	ASSERT_EQ(t, tr_a.n, 4 * ROUNDS);
	static const uint8_t order[] = {2, 3, 0, 1};
	for (unsigned i = 0; i < tr_a.n; i++)
		if (!EXPECT_EQ(t, tr_a.core[i], order[i / ROUNDS]))
			break;
	/* Steps count up from 0; an ended core is no longer offered. */
	ASSERT_EQ(t, seen.n, 4 * (ROUNDS + 1));
	for (unsigned i = 0; i < seen.n; i++)
		if (!EXPECT_EQ(t, seen.step[i], i))
			break;
	EXPECT_EQ(t, seen.runnable[0], 0xf);
	EXPECT_EQ(t, seen.runnable[ROUNDS + 1], 0xb); /* core 2 ended */
	EXPECT_EQ(t, seen.runnable[seen.n - 1], 0x2); /* only core 1 left */
}

static volatile bool released;

static void wait_for_release(void *arg)
{
	(void)arg;
	while (!released)
		arch_cpu_relax();
}

static void release(void *arg)
{
	(void)arg;
	released = true;
}

TEST(sim, fairness_bound_ends_starvation)
{
	/* The chooser always says core 0, which spins until core 1 runs. */
	released = false;
	sim_init(&(struct sim_config){.ncores = 2, .phys_bytes = PAGE_SIZE, .starve_limit = 10});
	sim_set_chooser(choose_lowest, NULL);
	sim_start(0, wait_for_release, NULL);
	sim_start(1, release, NULL);
	EXPECT_EQ(t, sim_run(1000), E_OK);
	/* Core 1 is passed over at steps 0..9, runs at 10; core 0 ends at 11. */
	EXPECT_EQ(t, sim_steps(), 12);
	sim_fini();

	released = false;
	sim_init(
	    &(struct sim_config){.ncores = 2, .phys_bytes = PAGE_SIZE, .starve_limit = SIM_UNFAIR});
	sim_set_chooser(choose_lowest, NULL);
	sim_start(0, wait_for_release, NULL);
	sim_start(1, release, NULL);
	EXPECT_EQ(t, sim_run(1000), E_TIMEOUT);
	EXPECT(t, !released);
	sim_fini();
}

/* ---- interrupts and IPIs ---- */

struct ipi_case {
	volatile bool sent, enabled, done;
	uint64_t wake_while_off, wake_after_on, call_after_on;
};

/* Core 1: interrupts off while core 0 sends; nothing may arrive until sti. */
static void irq_off_receiver(void *arg)
{
	struct ipi_case *k = arg;
	while (!k->sent)
		sim_yield();
	for (unsigned i = 0; i < 10; i++)
		sim_yield(); /* scheduling points with interrupts off take nothing */
	k->wake_while_off = this_cpu()->ipi_count[IPI_WAKE];
	arch_irq_enable(); /* pending IPIs are taken right here */
	k->wake_after_on = this_cpu()->ipi_count[IPI_WAKE];
	k->call_after_on = this_cpu()->ipi_count[IPI_CALL];
}

static void triple_sender(void *arg)
{
	struct ipi_case *k = arg;
	for (unsigned i = 0; i < 3; i++) {
		arch_ipi_send(1, IPI_WAKE);
		sim_yield();
	}
	arch_ipi_send(1, IPI_CALL);
	k->sent = true;
}

static struct ipi_case kase;

TEST(sim, ipi_waits_for_interrupts_and_coalesces_per_kind)
{
	memset(&kase, 0, sizeof(kase));
	machine(2, 3);
	sim_start(0, triple_sender, &kase);
	sim_start(1, irq_off_receiver, &kase);
	EXPECT_EQ(t, sim_run(0), E_OK);
	struct sim_core_state st;
	sim_core_state(1, &st);
	sim_fini();
	EXPECT_EQ(t, kase.wake_while_off, 0);
	EXPECT_EQ(t, kase.wake_after_on, 1); /* three sends, one delivery */
	EXPECT_EQ(t, kase.call_after_on, 1); /* another kind has its own bit */
	EXPECT_EQ(t, st.received, 2);
	EXPECT_EQ(t, st.pending, 0);
}

/* Core 1: interrupts on; an IPI is taken at its next scheduling point. */
static void irq_on_receiver(void *arg)
{
	struct ipi_case *k = arg;
	arch_irq_enable();
	k->enabled = true;
	while (!k->done) {
		uint64_t before = this_cpu()->ipi_count[IPI_WAKE];
		/* Between two scheduling points nothing can arrive. */
		for (volatile int i = 0; i < 100; i++)
			;
		if (this_cpu()->ipi_count[IPI_WAKE] != before)
			k->wake_while_off = 99; /* recorded as a failure */
		sim_yield();
	}
	k->wake_after_on = this_cpu()->ipi_count[IPI_WAKE];
}

static void one_sender(void *arg)
{
	struct ipi_case *k = arg;
	while (!k->enabled)
		sim_yield();
	arch_ipi_send(1, IPI_WAKE);
	sim_yield();
	k->done = true;
}

TEST(sim, ipi_taken_at_scheduling_point_when_enabled)
{
	memset(&kase, 0, sizeof(kase));
	machine(2, 9);
	sim_start(0, one_sender, &kase);
	sim_start(1, irq_on_receiver, &kase);
	EXPECT_EQ(t, sim_run(0), E_OK);
	sim_fini();
	EXPECT_EQ(t, kase.wake_while_off, 0);
	EXPECT_EQ(t, kase.wake_after_on, 1);
}

struct self_case {
	uint64_t off, on, saved_on, after_restore;
	unsigned long flags_on, flags_off;
};

static void self_sender(void *arg)
{
	struct self_case *k = arg;
	arch_ipi_send(0, IPI_WAKE); /* interrupts off: stays pending */
	k->off = this_cpu()->ipi_count[IPI_WAKE];
	arch_irq_enable();
	k->on = this_cpu()->ipi_count[IPI_WAKE];

	/* save/restore nest; the inner restore must not turn them on. */
	k->flags_on = arch_irq_save();
	k->flags_off = arch_irq_save();
	arch_ipi_send(0, IPI_WAKE);
	arch_irq_restore(k->flags_off);
	k->saved_on = this_cpu()->ipi_count[IPI_WAKE];
	arch_irq_restore(k->flags_on);
	k->after_restore = this_cpu()->ipi_count[IPI_WAKE];
}

static struct self_case self_case;

TEST(sim, self_ipi_and_irq_save_restore)
{
	memset(&self_case, 0, sizeof(self_case));
	machine(1, 0);
	sim_start(0, self_sender, &self_case);
	EXPECT_EQ(t, sim_run(0), E_OK);
	sim_fini();
	EXPECT_EQ(t, self_case.off, 0);
	EXPECT_EQ(t, self_case.on, 1);
	EXPECT(t, self_case.flags_on != 0);
	EXPECT_EQ(t, self_case.flags_off, 0);
	EXPECT_EQ(t, self_case.saved_on, 1);
	EXPECT_EQ(t, self_case.after_restore, 2);
}

struct others_case {
	volatile bool done;
	uint64_t wake[4];
};

static void others_member(void *arg)
{
	struct others_case *k = arg;
	if (sim_current() != 3) /* core 3 never reports in: offline */
		percpu_report_in();
	arch_irq_enable();
	while (!k->done)
		sim_yield();
	k->wake[sim_current()] = this_cpu()->ipi_count[IPI_WAKE];
}

static void others_sender(void *arg)
{
	struct others_case *k = arg;
	while (percpu_online_count() < 2)
		sim_yield();
	arch_irq_enable();
	arch_ipi_send_others(IPI_WAKE);
	sim_yield();
	k->done = true;
	k->wake[0] = this_cpu()->ipi_count[IPI_WAKE];
}

static struct others_case others;

TEST(sim, send_others_reaches_online_cores_only)
{
	memset(&others, 0, sizeof(others));
	machine(4, 5);
	sim_start(0, others_sender, &others);
	for (unsigned c = 1; c < 4; c++)
		sim_start(c, others_member, &others);
	EXPECT_EQ(t, sim_run(0), E_OK);
	sim_fini();
	EXPECT_EQ(t, others.wake[0], 0);
	EXPECT_EQ(t, others.wake[1], 1);
	EXPECT_EQ(t, others.wake[2], 1);
	EXPECT_EQ(t, others.wake[3], 0);
}

/* ---- idle, deadlock, step limit, stop ---- */

struct idle_case {
	uint64_t sent_step, woke_step, sender_cycles, woke_cycles;
};

static void idler(void *arg)
{
	struct idle_case *k = arg;
	arch_cpu_idle();
	k->woke_step = sim_steps();
	k->woke_cycles = arch_cycles();
}

static void late_waker(void *arg)
{
	struct idle_case *k = arg;
	for (unsigned i = 0; i < 20; i++)
		sim_yield();
	k->sent_step = sim_steps();
	k->sender_cycles = arch_cycles();
	arch_ipi_send(1, IPI_WAKE);
}

static struct idle_case idle_case;

TEST(sim, idle_blocks_until_an_ipi)
{
	memset(&idle_case, 0, sizeof(idle_case));
	memset(&seen, 0, sizeof(seen));
	seen.answer = 1; /* prefer the idler whenever it can run */
	machine(2, 0);
	sim_set_chooser(choose_recording, &seen);
	sim_start(0, late_waker, &idle_case);
	sim_start(1, idler, &idle_case);
	EXPECT_EQ(t, sim_run(0), E_OK);
	struct sim_core_state st;
	sim_core_state(1, &st);
	sim_fini();

	/* Step 0 runs the idler into arch_cpu_idle; from then on it is not offered. */
	ASSERT(t, seen.n > 21);
	EXPECT_EQ(t, seen.runnable[0], 0x3);
	for (unsigned i = 1; i <= 21; i++)
		if (!EXPECT_EQ(t, seen.runnable[i], 0x1))
			break;
	EXPECT(t, idle_case.woke_step > idle_case.sent_step);
	EXPECT_EQ(t, st.steps, 1); /* one scheduling point: the idle */
	EXPECT_EQ(t, st.received, 1);
	/* The woken core's clock has caught up with the sender's. */
	EXPECT(t, idle_case.woke_cycles > idle_case.sender_cycles);
}

static void idle_forever(void *arg)
{
	(void)arg;
	arch_cpu_idle();
}

TEST(sim, deadlock_detected_and_recoverable)
{
	machine(2, 0);
	sim_start(0, idle_forever, NULL);
	sim_start(1, idle_forever, NULL);
	EXPECT_EQ(t, sim_run(1000), E_AGAIN);
	struct sim_core_state st;
	sim_core_state(0, &st);
	EXPECT(t, st.live && st.idle && st.irq);
	/* The machine is intact: wake both from outside and it finishes. */
	arch_ipi_send(0, IPI_WAKE);
	arch_ipi_send(1, IPI_WAKE);
	EXPECT_EQ(t, sim_run(1000), E_OK);
	sim_core_state(1, &st);
	EXPECT(t, !st.live);
	sim_fini();
}

static void spin_forever(void *arg)
{
	(void)arg;
	for (;;)
		arch_cpu_relax();
}

TEST(sim, step_limit)
{
	machine(2, 0);
	sim_start(0, spin_forever, NULL);
	sim_start(1, spin_forever, NULL);
	EXPECT_EQ(t, sim_run(50), E_TIMEOUT);
	EXPECT_EQ(t, sim_steps(), 50);
	EXPECT_EQ(t, sim_run(25), E_TIMEOUT);
	EXPECT_EQ(t, sim_steps(), 75);
	sim_fini(); /* frees both fibers mid-spin */
}

static void few_steps(void *arg)
{
	for (unsigned i = 0; i < 5; i++)
		sim_yield();
	*(volatile bool *)arg = true;
}

static volatile bool flag;

TEST(sim, run_ends_with_the_last_non_daemon)
{
	flag = false;
	machine(2, 7);
	sim_start(0, few_steps, (void *)&flag);
	sim_start_daemon(1, spin_forever, NULL);
	EXPECT_EQ(t, sim_run(0), E_OK);
	EXPECT(t, flag);
	struct sim_core_state st;
	sim_core_state(1, &st);
	EXPECT(t, st.live && st.daemon);
	/* Nothing left to wait for: returns at once, runs nothing. */
	uint64_t steps = sim_steps();
	EXPECT_EQ(t, sim_run(0), E_OK);
	EXPECT_EQ(t, sim_steps(), steps);
	/* A core whose fiber ended can be given a new one. */
	flag = false;
	sim_start(0, few_steps, (void *)&flag);
	EXPECT_EQ(t, sim_run(0), E_OK);
	EXPECT(t, flag);
	sim_fini();
}

static volatile int stop_stage;

static void stopper(void *arg)
{
	(void)arg;
	stop_stage = 1;
	arch_cpu_stop();
}

TEST(sim, stop_ends_the_fiber)
{
	stop_stage = 0;
	machine(1, 0);
	sim_start(0, stopper, NULL);
	EXPECT_EQ(t, sim_run(0), E_OK);
	EXPECT_EQ(t, stop_stage, 1);
	struct sim_core_state st;
	arch_ipi_send(0, IPI_WAKE); /* a stopped core takes no interrupt */
	sim_core_state(0, &st);
	EXPECT(t, !st.live);
	EXPECT_EQ(t, st.pending, 0);
	sim_fini();
}

/* ---- cycles, this_cpu, nesting, memory ---- */

struct cycle_case {
	uint64_t start[2], end[2];
};

static void counter(void *arg)
{
	struct cycle_case *k = arg;
	unsigned me = sim_current();
	k->start[me] = arch_cycles();
	for (unsigned i = 0; i < (me ? 3u : 10u); i++)
		sim_yield();
	k->end[me] = arch_cycles();
}

static struct cycle_case cycles;

TEST(sim, cycle_counters_are_per_core)
{
	memset(&cycles, 0, sizeof(cycles));
	sim_init(&(struct sim_config){
	    .ncores = 2, .seed = 11, .phys_bytes = PAGE_SIZE, .cycles_per_step = 100});
	EXPECT_EQ(t, arch_cycles_per_sec(), 1000000000);
	sim_start(0, counter, &cycles);
	sim_start(1, counter, &cycles);
	EXPECT_EQ(t, sim_run(0), E_OK);
	struct sim_core_state st0, st1;
	sim_core_state(0, &st0);
	sim_core_state(1, &st1);
	sim_fini();
	/* Each read adds one; each scheduling point adds cycles_per_step. */
	EXPECT_EQ(t, cycles.start[0], 1);
	EXPECT_EQ(t, cycles.end[0] - cycles.start[0], 10 * 100 + 1);
	EXPECT_EQ(t, cycles.end[1] - cycles.start[1], 3 * 100 + 1);
	EXPECT_EQ(t, st0.steps, 10);
	EXPECT_EQ(t, st1.steps, 3);
	EXPECT_EQ(t, st0.cycles, cycles.end[0]);
	uint64_t a = arch_cycles(), b = arch_cycles();
	EXPECT(t, b > a);
}

struct who_case {
	bool ok[4];
};

static void who_am_i(void *arg)
{
	struct who_case *k = arg;
	unsigned me = sim_current();
	for (unsigned i = 0; i < 3; i++) {
		k->ok[me] =
		    this_cpu() == percpu_of(me) && cpu_id() == me && this_cpu()->self == this_cpu();
		if (!k->ok[me])
			return;
		sim_yield();
	}
}

static struct who_case who;

TEST(sim, this_cpu_follows_the_running_core)
{
	memset(&who, 0, sizeof(who));
	machine(4, 13);
	EXPECT_EQ(t, sim_current(), SIM_NO_CORE);
	EXPECT(t, this_cpu() == percpu_of(0)); /* outside any fiber: core 0 */
	EXPECT_EQ(t, percpu_ncpus, 4);
	for (unsigned c = 0; c < 4; c++)
		sim_start(c, who_am_i, &who);
	EXPECT_EQ(t, sim_run(0), E_OK);
	EXPECT(t, this_cpu() == percpu_of(0));
	sim_fini();
	for (unsigned c = 0; c < 4; c++)
		EXPECT(t, who.ok[c]);
}

TEST(sim, nested_machine_restores_percpu)
{
	bool online0 = percpu_of(0)->online;
	unsigned ncpus = percpu_ncpus;
	struct percpu *me = this_cpu();
	machine(2, 0);
	EXPECT(t, !percpu_of(0)->online);
	EXPECT_EQ(t, percpu_ncpus, 2);
	sim_fini();
	EXPECT_EQ(t, percpu_of(0)->online, online0);
	EXPECT_EQ(t, percpu_ncpus, ncpus);
	EXPECT(t, this_cpu() == me);
}

TEST(sim, physical_memory)
{
	sim_init(&(struct sim_config){.ncores = 1, .phys_bytes = 3 * PAGE_SIZE + 1});
	EXPECT_EQ(t, sim_phys_bytes(), 4 * PAGE_SIZE);
	uint8_t *p = arch_phys_to_virt(pa_make(0));
	uint8_t *q = arch_phys_to_virt(pa_make(3 * PAGE_SIZE + 17));
	EXPECT(t, q - p == 3 * PAGE_SIZE + 17);
	EXPECT_EQ(t, pa_raw(arch_virt_to_phys(q)), 3 * PAGE_SIZE + 17);
	/* The end translates (for end pointers); RAM starts zeroed. */
	EXPECT_EQ(t, pa_raw(arch_virt_to_phys(p + 4 * PAGE_SIZE)), 4 * PAGE_SIZE);
	bool zero = true;
	for (size_t i = 0; i < 4 * PAGE_SIZE; i++)
		zero &= p[i] == 0;
	EXPECT(t, zero);
	sim_fini();
}

/* ---- the shared IPI code (percpu/ipi.c) on simulated cores ---- */

struct ping_case {
	int ping_err, call_err, wait_err;
	uint64_t rtt, steps;
	unsigned ran_on;
};

static void remote_fn(void *arg)
{
	((struct ping_case *)arg)->ran_on = sim_current();
}

static void ap(void *arg)
{
	(void)arg;
	percpu_report_in();
	percpu_idle_loop();
}

static void pinger(void *arg)
{
	struct ping_case *k = arg;
	arch_irq_enable();
	percpu_report_in();
	while (percpu_online_count() < 2)
		arch_cpu_relax();
	uint64_t timeout = arch_cycles_per_sec(); /* 1 s of virtual time */
	k->ping_err = ipi_ping(1, timeout, &k->rtt);
	k->call_err = smp_call_start(1, remote_fn, k);
	k->wait_err = smp_call_wait(1, timeout);
}

static int run_ping(uint64_t seed, struct ping_case *k)
{
	memset(k, 0, sizeof(*k));
	machine(2, seed);
	sim_start(0, pinger, k);
	sim_start_daemon(1, ap, NULL);
	int e = sim_run(100000);
	k->steps = sim_steps();
	sim_fini();
	return e;
}

static struct ping_case ping_a, ping_b;

TEST(sim, ipi_ping_and_smp_call)
{
	ASSERT_EQ(t, run_ping(21, &ping_a), E_OK);
	EXPECT_EQ(t, ping_a.ping_err, E_OK);
	EXPECT(t, ping_a.rtt > 0);
	EXPECT_EQ(t, ping_a.call_err, E_OK);
	EXPECT_EQ(t, ping_a.wait_err, E_OK);
	EXPECT_EQ(t, ping_a.ran_on, 1);
	/* The same seed replays the same run, down to the cycle. */
	ASSERT_EQ(t, run_ping(21, &ping_b), E_OK);
	EXPECT_EQ(t, ping_b.rtt, ping_a.rtt);
	EXPECT_EQ(t, ping_b.steps, ping_a.steps);
}

static void shooter(void *arg)
{
	(void)arg;
	arch_irq_enable();
	percpu_report_in();
	while (percpu_online_count() < 3)
		arch_cpu_relax();
	tlb_flush_core(1); /* returns once core 1 has flushed */
	tlb_flush_core(2);
	tlb_flush_core(0); /* this core: at once */
}

TEST(sim, tlb_shootdown_reaches_each_core)
{
	machine(4, 17);
	sim_start(0, shooter, NULL);
	sim_start_daemon(1, ap, NULL);
	sim_start_daemon(2, ap, NULL);
	EXPECT_EQ(t, sim_run(100000), E_OK);
	/* Core 3 never started: offline, so never asked. */
	static const uint64_t want[4] = {1, 1, 1, 0};
	for (unsigned c = 0; c < 4; c++) {
		struct sim_core_state st;
		sim_core_state(c, &st);
		EXPECT_EQ(t, st.tlb_flushes, want[c]);
	}
	sim_fini();
}

static void activator(void *arg)
{
	arch_aspace_activate(arg);
	sim_yield();
}

TEST(sim, address_space_activation_is_per_core)
{
	struct arch_aspace as = {.root = pa_make(5 * PAGE_SIZE)}; /* never walked */
	machine(2, 0);
	sim_start(1, activator, &as);
	EXPECT_EQ(t, sim_run(0), E_OK);
	struct sim_core_state st0, st1;
	sim_core_state(0, &st0);
	sim_core_state(1, &st1);
	sim_fini();
	EXPECT_EQ(t, st1.aspace_root, 5 * PAGE_SIZE);
	EXPECT_EQ(t, st0.aspace_root, SIM_KERNEL_ASPACE);
}
