/*
 * A hostile libOS cannot hurt the kernel (issue 17, item 2): the program
 * tests/user/hostile.c, as a parent in ring 3, starts children that fault in
 * their upcalls, register stacks they cannot use, get preempted inside their
 * upcalls, spin until ended from outside, or exhaust memory; it checks the
 * invariant checker and the free-frame count after each, and so does this
 * side. Kernel-only: needs real user mode.
 */
#include <arch/cpu.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/image.h>
#include <exo/string.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <percpu.h>

/* Another environment runs meanwhile: frame and environment counts are not ours to compare. */
static bool loose;

/* Run hostile with test number n, its children on core kids; its exit status (0: its checks held). */
static int hostile(struct test_ctx *t, unsigned n, unsigned kids)
{
	uint64_t before = frame_free_count();
	unsigned envs = env_count();
	struct env *e;
	int prog = image_find("hostile");
	if (prog < 0 || env_create(cpu_id(), &e) != E_OK) {
		test_fail(t, __FILE__, __LINE__, "cannot create the hostile program's environment");
		return -1;
	}
	EXPECT_EQ(t, env_start(e, (unsigned)prog, n | kids << 8 | (uint64_t)loose << 24, NULL),
		  E_OK);
	sched_run();
	int status =
	    __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == ENV_EXITED ? e->exit_status : -1;
	EXPECT_EQ(t, env_destroy(e), E_OK);
	/* Children on another core are destroyed there, by its idle loop: give it a moment. */
	uint64_t end = arch_cycles() + arch_cycles_per_sec() * 5;
	while (!loose && (frame_free_count() != before || env_count() != envs) &&
	       arch_cycles() < end)
		arch_cpu_relax();
	if (!loose) { /* the whole machine's checker wants it quiet */
		EXPECT_EQ(t, frame_free_count(), before);
		EXPECT_EQ(t, env_count(), envs);
		EXPECT_EQ(t, invariant_check(), 0);
	}
	return status;
}

/* Children on the next core when there is one (the cross-core case), else on this one. */
static unsigned other(void)
{
	return percpu_ncpus > 1 ? (cpu_id() + 1) % percpu_ncpus : cpu_id();
}

TEST(hostile, a_fault_inside_the_revocation_or_scheduler_upcall)
{
	EXPECT_EQ(t, hostile(t, 1, cpu_id()), 0);
	EXPECT_EQ(t, hostile(t, 1, other()), 0);
}

TEST(hostile, upcall_stacks_unmapped_or_read_only)
{
	EXPECT_EQ(t, hostile(t, 2, cpu_id()), 0);
}

TEST(hostile, upcalls_preempted_are_never_reentered)
{
	EXPECT_EQ(t, hostile(t, 3, cpu_id()), 0);
}

TEST(hostile, a_spinning_environment_ended_by_destroy_or_root_delete)
{
	EXPECT_EQ(t, hostile(t, 4, cpu_id()), 0);
	EXPECT_EQ(t, hostile(t, 4, other()), 0);
}

TEST(hostile, memory_exhaustion_from_user_mode)
{
	EXPECT_EQ(t, hostile(t, 5, cpu_id()), 0);
}

TEST(hostile, guarantees_are_capped_at_what_exists)
{
	EXPECT_EQ(t, hostile(t, 6, cpu_id()), 0);
}

TEST(hostile, quotas_stop_each_exhaustion_at_its_limit)
{
	EXPECT_EQ(t, hostile(t, 7, cpu_id()), 0);
}

TEST(hostile, a_capability_table_grows_to_its_limit_and_no_further)
{
	EXPECT_EQ(t, hostile(t, 12, cpu_id()), 0);
}

TEST(hostile, a_preempted_fault_handler_inside_the_scheduler_is_not_reentered)
{
	EXPECT_EQ(t, hostile(t, 10, cpu_id()), 0);
}

TEST(hostile, page_tables_built_to_a_quota_are_reclaimed_under_pressure)
{
	/* The hog's leaves stop at MAX_LEAVES: only in a small memory (the [hostile] run) do they exhaust it. */
	if (frame_free_count() > (96ULL << 20) / PAGE_SIZE) {
		kprintf("hostile: page tables under pressure need at most 96 MiB free: skipped\n");
		return;
	}
	EXPECT_EQ(t, hostile(t, 11, cpu_id()), 0);
}

TEST(hostile, a_tree_of_running_environments_destroyed_in_steps)
{
	EXPECT_EQ(t, hostile(t, 9, cpu_id()), 0);
	EXPECT_EQ(t, hostile(t, 9, other()), 0);
}

/* Start bench (set=syscalls) on core; its environment. */
static struct env *bench_on(struct test_ctx *t, unsigned core)
{
	static struct env_args a = { .len = sizeof("set=syscalls\0rounds=5000") };
	memcpy(a.bytes, "set=syscalls\0rounds=5000", a.len);
	struct env *b;
	if (env_create(core, &b) != E_OK ||
	    env_start(b, (unsigned)image_find("bench"), 0, &a) != E_OK) {
		test_fail(t, __FILE__, __LINE__, "cannot start bench on cpu%u", core);
		return NULL;
	}
	return b;
}

static bool bench_wait(struct env *b)
{
	uint64_t end = arch_cycles() + arch_cycles_per_sec() * 120;
	while (__atomic_load_n(&b->state, __ATOMIC_ACQUIRE) != ENV_EXITED && arch_cycles() < end)
		arch_cpu_relax();
	return __atomic_load_n(&b->state, __ATOMIC_ACQUIRE) == ENV_EXITED;
}

/*
 * The other core's figures with and without a hostile neighbour: bench
 * (set=syscalls) on cpu1 alone, then again while this core runs the limited
 * exhaustions (quotas, the hog with limits) and destroys of a tree of
 * running environments (in steps), over and over. Figures only: the
 * EXOJSON lines of the two runs (env tags differ) are compared by hand
 * (issue 17's closing note); the test fails only if the neighbour fails.
 */
TEST(hostile, a_neighbour_on_another_core_keeps_its_figures)
{
	/*
	 * Two cores exactly: the host's two CPUs then give each vCPU its own, so
	 * the figures show the kernel. With more vCPUs than host CPUs (smp 4, 8)
	 * they show QEMU's scheduling, and the run costs the suites a minute.
	 */
	if (percpu_ncpus != 2 || image_find("bench") < 0) {
		kprintf("hostile: a neighbour's figures need exactly 2 cores and bench: skipped\n");
		return;
	}
	uint64_t before = frame_free_count();
	kprintf("hostile: neighbour alone\n");
	struct env *b = bench_on(t, 1);
	ASSERT(t, b != NULL);
	ASSERT(t, bench_wait(b));
	EXPECT_EQ(t, b->exit_status, 0);
	EXPECT_EQ(t, env_destroy(b), E_OK);
	kprintf("hostile: neighbour beside the hostile environment\n");
	b = bench_on(t, 1);
	ASSERT(t, b != NULL);
	unsigned rounds = 0;
	loose = true;
	while (__atomic_load_n(&b->state, __ATOMIC_ACQUIRE) != ENV_EXITED && rounds < 200) {
		static const unsigned cases[] = { 7, 8, 9 }; /* quotas, the hog, a tree destroyed */
		EXPECT_EQ(t, hostile(t, cases[rounds % 3], cpu_id()), 0);
		rounds++;
	}
	loose = false;
	ASSERT(t, bench_wait(b));
	/* bench compares the machine's free-frame count around env_create_destroy: ours moves it. */
	kprintf("hostile: %u hostile rounds beside the neighbour; it exited with %d\n", rounds,
		b->exit_status);
	EXPECT_EQ(t, env_destroy(b), E_OK);
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, invariant_check(), 0);
}
