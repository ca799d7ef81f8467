/* Kernel message channels between real cores: delivery, doorbells, a full ring. */
#include <arch/cpu.h>
#include <chan.h>
#include <exo/errors.h>
#include <exo/test.h>
#include <ipi.h>
#include <percpu.h>

/* Wait (handling our own messages) until *counter reaches want; false after ~1 s. */
static bool await(uint64_t *counter, uint64_t want)
{
	uint64_t end = arch_cycles() + arch_cycles_per_sec();
	while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < want) {
		if (arch_cycles() > end)
			return false;
		unsigned long f = arch_irq_save();
		chan_poll();
		arch_irq_restore(f);
		arch_cpu_relax(); /* lets -icount's round robin run the other cores */
	}
	return true;
}

TEST_EACH_CPU(chan, every_pair_ping_pong, 2)
{
	struct percpu *me = this_cpu();
	for (unsigned round = 0; round < 50; round++) {
		for (unsigned c = 0; c < percpu_ncpus; c++) {
			if (c == me->id)
				continue;
			uint64_t want = __atomic_load_n(&me->chan_pongs, __ATOMIC_ACQUIRE) + 1;
			struct chan_msg m = { .type = CHAN_PING, .w = { round } };
			int e;
			while ((e = chan_send(c, &m)) == E_AGAIN)
				arch_cpu_relax();
			ASSERT_EQ(t, e, E_OK);
			if (!await(&me->chan_pongs, want)) {
				test_fail(t, __FILE__, __LINE__, "no pong from cpu%u", c);
				return;
			}
		}
	}
}

TEST(chan, bad_targets)
{
	struct chan_msg m = { .type = CHAN_PING };
	EXPECT_EQ(t, chan_send(cpu_id(), &m), E_INVAL);
	EXPECT_EQ(t, chan_send(MAX_CPUS, &m), E_INVAL);
	EXPECT_EQ(t, chan_send(percpu_ncpus, &m), E_INVAL);
}

/* Keep a core busy with interrupts off until released: it sees no message meanwhile. */
static uint64_t hold, held;
static void hold_core(void *arg)
{
	unsigned long f = arch_irq_save();
	__atomic_store_n(&held, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&hold, __ATOMIC_ACQUIRE))
		arch_cpu_relax();
	arch_irq_restore(f);
}

static uint64_t calls_seen;
static void count_call(const uint64_t *w) { __atomic_fetch_add(&calls_seen, w[0], __ATOMIC_RELAXED); }

TEST(chan, a_burst_rings_once_and_a_full_ring_says_so)
{
	if (percpu_ncpus < 2 || cpu_id() != 0) {
		kprintf("chan: needs cpu0 and a second core; skipped\n");
		return;
	}
	__atomic_store_n(&hold, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&held, 0, __ATOMIC_RELEASE);
	ASSERT_EQ(t, smp_call_start(1, hold_core, NULL), E_OK);
	while (!__atomic_load_n(&held, __ATOMIC_ACQUIRE))
		arch_cpu_relax();
	__atomic_store_n(&calls_seen, 0, __ATOMIC_RELAXED);
	struct chan_stats before = chan_stats(0);
	struct chan_msg m = { .type = CHAN_CALL, .w = { (uint64_t)count_call, 1 } };
	unsigned sent = 0;
	while (chan_send(1, &m) == E_OK)
		sent++;
	EXPECT_EQ(t, sent, CHAN_SLOTS); /* then E_AGAIN: full */
	EXPECT_EQ(t, chan_send(1, &m), E_AGAIN);
	struct chan_stats after = chan_stats(0);
	EXPECT_EQ(t, after.doorbells - before.doorbells, 1); /* one IPI for the whole burst */
	EXPECT_EQ(t, after.sent - before.sent, CHAN_SLOTS);
	__atomic_store_n(&hold, 0, __ATOMIC_RELEASE); /* core 1 takes the IPI and drains */
	EXPECT(t, await(&calls_seen, CHAN_SLOTS));
	EXPECT_EQ(t, smp_call_wait(1, arch_cycles_per_sec()), E_OK);
}
