/*
 * Kernel message channels on simulated cores, where the scheduler's
 * choices decide the delivery order: two senders, two messages each, to a
 * third core. Across seeds every interleaving the channels allow must show
 * up — all 6 orders that keep each sender's own order — and in every run
 * each message arrives exactly once, in its sender's order, with no lost
 * wake-up (the run ends rather than deadlocks).
 */
#include <arch/cpu.h>
#include <arch/sim.h>
#include <chan.h>
#include <exo/boot.h>
#include <exo/errors.h>
#include <exo/pot.h>
#include <exo/test.h>
#include <ipi.h>
#include <percpu.h>
#include <string.h>

#include "support.h"

#define NESTED_BYTES (4u << 20) /* this test's own machine */

static struct pot_entry table[NESTED_BYTES / PAGE_SIZE];

struct delivery {
	unsigned log[8];
	unsigned n;
};

static struct delivery got;

static void deliver(const uint64_t *w) { got.log[got.n++] = (unsigned)w[0]; }

static void sender(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	arch_irq_enable();
	percpu_report_in();
	while (percpu_online_count() < 3)
		arch_cpu_relax();
	for (unsigned k = 1; k <= 2; k++) {
		struct chan_msg m = { .type = CHAN_CALL, .w = { (uint64_t)deliver, id * 10 + k } };
		while (chan_send(0, &m) == E_AGAIN)
			arch_cpu_relax();
		sim_yield(); /* a scheduling point between the two: the other sender may come in */
	}
	while (__atomic_load_n(&got.n, __ATOMIC_ACQUIRE) < 4)
		arch_cpu_relax();
}

static void receiver(void *arg)
{
	percpu_report_in();
	percpu_idle_loop();
}

/* One run; its delivery order as a 4-digit code, or 0 if it went wrong. */
static unsigned run(struct test_ctx *t, uint64_t seed)
{
	memset(&got, 0, sizeof(got));
	int err = nested_machine(3, seed, table, NESTED_BYTES);
	sim_start(1, sender, (void *)1);
	sim_start(2, sender, (void *)2);
	sim_start_daemon(0, receiver, NULL);
	int ran = sim_run(1000000);
	nested_machine_end();
	if (!EXPECT_EQ(t, err, E_OK) || !EXPECT_EQ(t, ran, 0) || !EXPECT_EQ(t, got.n, 4))
		return 0;
	unsigned code = 0, pos[30] = { 0 };
	for (unsigned i = 0; i < 4; i++) {
		code = code * 100 + got.log[i];
		pos[got.log[i]] = i + 1;
	}
	/* Exactly once each, and each sender's two in its order. */
	if (!EXPECT(t, pos[11] && pos[12] && pos[21] && pos[22]) || !EXPECT(t, pos[11] < pos[12]) ||
	    !EXPECT(t, pos[21] < pos[22]))
		return 0;
	return code;
}

TEST(chan, every_delivery_order_arrives_whole_and_in_order)
{
	unsigned seen[6] = { 0 }, nseen = 0;
	for (uint64_t seed = 1; seed <= 400 && nseen < 6; seed++) {
		unsigned code = run(t, seed);
		if (!code)
			return;
		bool known = false;
		for (unsigned i = 0; i < nseen; i++)
			known |= seen[i] == code;
		if (!known)
			seen[nseen++] = code;
	}
	EXPECT_EQ(t, nseen, 6); /* C(4,2): every interleaving of two ordered pairs */
}
