/*
 * Time: preemption at slice end, fairness of the slot round robin (counted
 * in CPU time), slot ownership. Kernel-only: needs the real timer.
 */
#include <arch/cpu.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/image.h>
#include <exo/slice.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <ipi.h>
#include <percpu.h>

static struct env *start(struct test_ctx *t, const char *name, uint64_t arg)
{
	struct env *e;
	if (env_create(cpu_id(), &e) != E_OK) {
		test_fail(t, __FILE__, __LINE__, "env_create");
		return NULL;
	}
	if (env_start(e, (unsigned)image_find(name), arg, NULL) != E_OK) {
		test_fail(t, __FILE__, __LINE__, "env_start %s", name);
		(void)env_destroy(e);
		return NULL;
	}
	return e;
}

TEST_EACH_CPU(time, a_spinning_environment_is_preempted, 1)
{
	uint64_t before = frame_free_count();
	/* The spinner is queued first and never yields; hello still ends first. */
	struct env *spin = start(t, "busy", 50), *hello = start(t, "hello", 3);
	ASSERT(t, spin && hello);
	sched_run();
	EXPECT_EQ(t, hello->exit_status, 3);
	EXPECT_EQ(t, spin->exit_status, 0);
	if (!EXPECT(t, hello->exit_cycles < spin->exit_cycles))
		kprintf("time: hello exited at %llu, busy at %llu (busy ran %llu cycles)\n",
			(unsigned long long)hello->exit_cycles, (unsigned long long)spin->exit_cycles,
			(unsigned long long)spin->cpu_cycles[cpu_id()]);
	EXPECT(t, spin->cpu_cycles[cpu_id()] > 0);
	EXPECT_EQ(t, env_destroy(spin), E_OK);
	EXPECT_EQ(t, env_destroy(hello), E_OK);
	(void)before;
}

/*
 * Two environments that never stop own a and b slots (no free slot left);
 * after ten rotations of the slice vector the slices they got must be
 * exactly 10a and 10b. Counted, not timed: a busy host cannot skew it.
 */
static void share(struct test_ctx *t, unsigned a, unsigned b)
{
	struct env *x = start(t, "busy", 1000000), *y = start(t, "busy", 1000000);
	ASSERT(t, x && y);
	unsigned idx;
	uint64_t gen;
	ASSERT_EQ(t, a + b, slice_nslots);
	for (unsigned i = 0; i < slice_nslots; i++)
		EXPECT_EQ(t, slice_alloc(cpu_id(), i, i < a ? x : y, (i < a ? x : y)->gen, &idx, &gen), E_OK);
	uint64_t n = sched_run_slices(10 * slice_nslots);
	EXPECT_EQ(t, n, 10 * slice_nslots);
	EXPECT_EQ(t, x->slices, 10 * a);
	EXPECT_EQ(t, y->slices, 10 * b);
	kprintf("time: slots %u:%u -> slices %llu:%llu, cpu cycles %llu:%llu\n", a, b,
		(unsigned long long)x->slices, (unsigned long long)y->slices,
		(unsigned long long)x->cpu_cycles[cpu_id()],
		(unsigned long long)y->cpu_cycles[cpu_id()]);
	EXPECT_EQ(t, sched_stop(x, 0), E_OK);
	EXPECT_EQ(t, sched_stop(y, 0), E_OK);
	EXPECT_EQ(t, env_destroy(x), E_OK); /* frees their slots too */
	EXPECT_EQ(t, env_destroy(y), E_OK);
	EXPECT_EQ(t, slice_owned(cpu_id()), 0);
}

TEST(time, slot_round_robin_is_fair)
{
	share(t, slice_nslots / 2, slice_nslots - slice_nslots / 2);
	share(t, slice_nslots / 4, slice_nslots - slice_nslots / 4);
}

TEST(time, slot_ownership_errors)
{
	struct env *e;
	ASSERT_EQ(t, env_create(cpu_id(), &e), E_OK);
	unsigned idx;
	uint64_t gen, gen2;
	EXPECT_EQ(t, slice_alloc(cpu_id(), 3, e, e->gen, &idx, &gen), E_OK);
	EXPECT_EQ(t, idx, 3);
	EXPECT_EQ(t, slice_alloc(cpu_id(), 3, e, e->gen, &idx, &gen2), E_BUSY);
	EXPECT_EQ(t, slice_alloc(cpu_id(), slice_nslots, e, e->gen, &idx, &gen2), E_RANGE);
	EXPECT_EQ(t, slice_alloc(percpu_ncpus, 0, e, e->gen, &idx, &gen2), E_INVAL);
	if (percpu_ncpus > 1)
		EXPECT_EQ(t, slice_alloc((cpu_id() + 1) % percpu_ncpus, 0, e, e->gen, &idx, &gen2), E_INVAL);
	EXPECT_EQ(t, slice_free(cpu_id(), 3, gen), E_OK);
	EXPECT_EQ(t, slice_free(cpu_id(), 3, gen), E_STALE); /* double free */
	EXPECT_EQ(t, env_destroy(e), E_OK);
}

TEST(time, slots_from_user_level)
{
	uint64_t before = frame_free_count();
	struct env *e = start(t, "slices", (uint64_t)image_find("spinner"));
	ASSERT(t, e != NULL);
	sched_run();
	EXPECT_EQ(t, e->exit_status, 0);
	EXPECT_EQ(t, env_destroy(e), E_OK);
	EXPECT_EQ(t, slice_owned(cpu_id()), 0);
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, invariant_check(), 0);
}

/* Interrupts a core has taken: its timer's and every IPI (the NMI stop request too). */
static uint64_t interrupts(const struct percpu *p)
{
	uint64_t n = __atomic_load_n(&p->timer_fired, __ATOMIC_ACQUIRE);
	for (unsigned k = 0; k < ARRAY_SIZE(p->ipi_count); k++)
		n += __atomic_load_n(&p->ipi_count[k], __ATOMIC_ACQUIRE);
	return n;
}

/*
 * A core with nothing to run halts until the next interrupt: core 1, idle
 * while cpu0 runs this, halts again after each ping, and never wakes
 * without an interrupt (each halt but the one under way ended in one).
 */
TEST(time, an_idle_core_halts_until_an_interrupt)
{
	if (percpu_ncpus < 2 || cpu_id() != 0) {
		kprintf("time: needs cpu0 and a second core; skipped\n");
		return;
	}
	struct percpu *p = percpu_of(1);
	uint64_t h0 = __atomic_load_n(&p->halts, __ATOMIC_ACQUIRE);
	uint64_t i0 = interrupts(p);
	for (unsigned k = 0; k < 3; k++) {
		uint64_t cycles;
		EXPECT_EQ(t, ipi_ping(1, arch_cycles_per_sec(), &cycles), E_OK);
	}
	uint64_t end = arch_cycles() + arch_cycles_per_sec() / 50; /* 20 ms to halt again */
	while (__atomic_load_n(&p->halts, __ATOMIC_ACQUIRE) == h0 && arch_cycles() < end)
		arch_cpu_relax();
	uint64_t h1 = __atomic_load_n(&p->halts, __ATOMIC_ACQUIRE);
	uint64_t i1 = interrupts(p);
	EXPECT(t, h1 > h0);
	EXPECT(t, i1 - i0 >= 3);
	EXPECT(t, h1 - h0 <= i1 - i0 + 1);
}
