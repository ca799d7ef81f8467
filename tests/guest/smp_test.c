/*
 * In-guest SMP tests: every core reports, IPIs reach every pair of cores,
 * every core's timer fires. Kernel-only (they need real cores).
 */
#include <arch/cpu.h>
#include <arch/timer.h>
#include <exo/errors.h>
#include <exo/test.h>
#include <ipi.h>
#include <percpu.h>

/* Wait up to ms milliseconds for *counter to pass old; true if it did. */
static bool wait_above(const uint64_t *counter, uint64_t old, uint64_t ms)
{
	uint64_t end = arch_cycles() + arch_cycles_per_sec() / 1000 * ms;
	while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) <= old)
		if (arch_cycles() > end)
			return false;
	return true;
}

TEST(boot, all_cores_online)
{
	EXPECT_EQ(t, percpu_online_count(), percpu_ncpus);
	for (unsigned c = 0; c < percpu_ncpus; c++) {
		EXPECT(t, percpu_of(c)->online);
		EXPECT_EQ(t, percpu_of(c)->id, c);
	}
}

TEST_EACH_CPU(boot, every_core_reports, 1)
{
	/* this_cpu() must be the core's own struct, reached through its own base. */
	struct percpu *me = this_cpu();
	EXPECT(t, me->self == me);
	EXPECT(t, me == percpu_of(me->id));
	EXPECT(t, me->online);
	kprintf("boot: cpu%u here, %llu cycles after reset\n", me->id,
		(unsigned long long)me->online_cycles);
}

TEST_EACH_CPU(ipi, all_pairs_round_trip, 2)
{
	/* Every core pings every other core at once: senders race on each target. */
	uint64_t timeout = arch_cycles_per_sec(); /* 1 s */
	for (unsigned round = 0; round < 20; round++) {
		for (unsigned c = 0; c < percpu_ncpus; c++) {
			if (c == cpu_id())
				continue;
			uint64_t cycles = 0;
			int e = ipi_ping(c, timeout, &cycles);
			if (e != E_OK) {
				test_fail(t, __FILE__, __LINE__, "ping cpu%u -> cpu%u: %s", cpu_id(), c,
					  err_name(e));
				return;
			}
			EXPECT(t, cycles > 0);
		}
	}
}

TEST(ipi, bad_targets_are_refused)
{
	uint64_t cycles = 0;
	EXPECT_EQ(t, ipi_ping(cpu_id(), 1000, &cycles), E_INVAL);
	EXPECT_EQ(t, ipi_ping(MAX_CPUS, 1000, &cycles), E_INVAL);
	EXPECT_EQ(t, ipi_ping(percpu_ncpus, 1000, &cycles), E_INVAL);
	EXPECT_EQ(t, smp_call_start(cpu_id(), (void (*)(void *))0, 0), E_INVAL);
}

TEST_EACH_CPU(timer, fires_on_every_core, 1)
{
	struct percpu *me = this_cpu();
	uint64_t before = __atomic_load_n(&me->timer_fired, __ATOMIC_ACQUIRE);
	arch_timer_oneshot(1000000); /* 1 ms */
	EXPECT(t, wait_above(&me->timer_fired, before, 2000));
	/* One-shot: it must not fire again on its own. */
	uint64_t after = __atomic_load_n(&me->timer_fired, __ATOMIC_ACQUIRE);
	EXPECT(t, !wait_above(&me->timer_fired, after, 20));
}

TEST_EACH_CPU(timer, cancel_stops_it, 1)
{
	struct percpu *me = this_cpu();
	uint64_t before = __atomic_load_n(&me->timer_fired, __ATOMIC_ACQUIRE);
	/*
	 * Arm far out: under -icount a core can be descheduled for tens of
	 * milliseconds between two instructions, and an expiry that has already
	 * happened cannot be recalled by cancel.
	 */
	arch_timer_oneshot(10ULL * 1000000000); /* 10 s */
	arch_timer_cancel();
	EXPECT(t, !wait_above(&me->timer_fired, before, 60));
}

TEST(probe, timer_and_ipi)
{
	/* What the KVM probe (tools/exo probe-kvm) must see working. */
	struct percpu *me = this_cpu();
	uint64_t before = __atomic_load_n(&me->timer_fired, __ATOMIC_ACQUIRE);
	arch_timer_oneshot(1000000);
	EXPECT(t, wait_above(&me->timer_fired, before, 2000));
	if (percpu_ncpus > 1) {
		uint64_t cycles;
		EXPECT_EQ(t, ipi_ping(1, arch_cycles_per_sec(), &cycles), E_OK);
	}
}
