/*
 * Cross-core system calls as messages (exo/xcall.h) on simulated cores: two
 * cores, each running an environment's system calls, ask each other at the
 * same time — create an environment on the other core, grant a frame into
 * it, destroy it — while a third core idles. Each waiting core serves the
 * other's request, so no seed may deadlock; every call must give the
 * result it gives when run alone; the requests must be served by the home
 * core; and across seeds either core must get to finish first. (After the
 * first call the protocol itself forces the two cores to alternate: a call
 * completes only while the other core waits in a call of its own, serving.
 * So two completion orders exist, and both must show up.)
 */
#include <arch/cpu.h>
#include <arch/sim.h>
#include <chan.h>
#include <exo/abi.h>
#include <exo/boot.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/kprintf.h>
#include <exo/pot.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <exo/xcall.h>
#include <ipi.h>
#include <percpu.h>
#include <string.h>

#include "support.h"

#define NESTED_BYTES (8u << 20) /* this test's own machine */
#define ROUNDS 3

static struct pot_entry table[NESTED_BYTES / PAGE_SIZE];

static struct crossing {
	struct env *self[2];	 /* the environment each of cores 1 and 2 calls for */
	int bad[2];		 /* calls whose result was not the expected one */
	unsigned order[4 * ROUNDS * 2], n; /* which core finished each call, in order */
	int setup_err;
	unsigned done; /* callers finished */
} x;

/* Record who finished a call; then a scheduling point, so the other core may come in. */
static void note(unsigned who)
{
	x.order[x.n++] = who;
	sim_yield();
}

/* Core 1 + who: as self[who], make an environment on the other core, use it, destroy it. */
static void caller(void *arg)
{
	unsigned who = (unsigned)(uintptr_t)arg, other = 2 - who;
	arch_irq_enable();
	percpu_report_in();
	while (percpu_online_count() < 3)
		arch_cpu_relax();
	struct env *e;
	int err = env_create(cpu_id(), &e);
	if (err) {
		x.setup_err = err;
		__atomic_fetch_add(&x.done, 1, __ATOMIC_RELEASE);
		percpu_idle_loop();
	}
	x.self[who] = e;
	for (unsigned r = 0; r < ROUNDS; r++) {
		int64_t child = syscall_invoke(e, SYS_ENV_CREATE, (uint64_t[6]){ other });
		note(who);
		int64_t f = syscall_invoke(e, SYS_FRAME_ALLOC, (uint64_t[6]){ FRAME_ANY });
		int64_t g = syscall_invoke(e, SYS_CAP_GRANT, (uint64_t[6]){ (uint64_t)f, (uint64_t)child, GRANT_COPY });
		note(who);
		int64_t d = syscall_invoke(e, SYS_ENV_DESTROY, (uint64_t[6]){ (uint64_t)child });
		note(who);
		int64_t d2 = syscall_invoke(e, SYS_ENV_DESTROY, (uint64_t[6]){ (uint64_t)child });
		note(who);
		x.bad[who] += (child < 0) + (f < 0) + (g < 0) + (d != E_OK) + (d2 != E_STALE) +
			      (syscall_invoke(e, SYS_CAP_DELETE, (uint64_t[6]){ (uint64_t)child }) != E_OK) +
			      (syscall_invoke(e, SYS_CAP_REVOKE, (uint64_t[6]){ (uint64_t)f }) != E_OK) +
			      (syscall_invoke(e, SYS_FRAME_FREE, (uint64_t[6]){ (uint64_t)f }) != E_OK);
	}
	__atomic_fetch_add(&x.done, 1, __ATOMIC_RELEASE);
	percpu_idle_loop(); /* the other caller may still need this core's kernel */
}

/* Core 0: ends the run when both callers are done. */
static void watcher(void *arg)
{
	arch_irq_enable();
	percpu_report_in();
	while (__atomic_load_n(&x.done, __ATOMIC_ACQUIRE) < 2)
		arch_cpu_relax();
}

/* One run; a code of its completion order, or 0 if it went wrong. */
static uint64_t run(struct test_ctx *t, uint64_t seed)
{
	memset(&x, 0, sizeof(x));
	x.setup_err = nested_machine(3, seed, table, NESTED_BYTES);
	uint64_t free0 = frame_free_count();
	uint64_t served1 = xcall_served(1), served2 = xcall_served(2);
	int ran = E_INVAL;
	if (!x.setup_err) {
		sim_start(0, watcher, NULL);
		sim_start_daemon(1, caller, (void *)0);
		sim_start_daemon(2, caller, (void *)1);
		ran = sim_run(20 * 1000 * 1000);
	}
	served1 = xcall_served(1) - served1;
	served2 = xcall_served(2) - served2;
	for (unsigned w = 0; w < 2; w++)
		if (x.self[w])
			(void)env_destroy(x.self[w]);
	unsigned bad = invariant_check();
	uint64_t free1 = frame_free_count();
	unsigned envs = env_count();
	nested_machine_end();
	if (!EXPECT_EQ(t, x.setup_err, E_OK) || !EXPECT_EQ(t, ran, E_OK) || !EXPECT_EQ(t, x.bad[0], 0) ||
	    !EXPECT_EQ(t, x.bad[1], 0) || !EXPECT_EQ(t, bad, 0) || !EXPECT_EQ(t, envs, 0) ||
	    /* core 1's environment asks core 2: create, grant, destroy (the second is stale at once) */
	    !EXPECT_EQ(t, served2, 3 * ROUNDS) || !EXPECT_EQ(t, served1, 3 * ROUNDS) ||
	    !EXPECT_EQ(t, free1, free0)) {
		kprintf("xcall.crossing: seed %llu\n", (unsigned long long)seed);
		return 0;
	}
	uint64_t code = 0;
	for (unsigned i = 0; i < x.n; i++)
		code = code * 2 + x.order[i];
	return code | 1ULL << 63;
}

TEST(xcall, crossing_requests_never_deadlock_and_every_order_is_correct)
{
	uint64_t codes[40];
	unsigned distinct = 0;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		uint64_t c = run(t, seed);
		if (!c)
			return;
		bool seen = false;
		for (unsigned i = 0; i < distinct; i++)
			seen |= codes[i] == c;
		if (!seen)
			codes[distinct++] = c;
	}
	kprintf("xcall.crossing: %u distinct completion orders in 40 seeds\n", distinct);
	EXPECT_EQ(t, distinct, 2);
}
