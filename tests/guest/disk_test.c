/*
 * The exported disk from ring 3 (tests/user/disk.c): with a disk attached
 * (the manifest's [disk] run boots with one) every test of the program
 * passes and nothing leaks; without one every call is E_NOTSUP.
 * Kernel-only: needs real user mode and the device.
 */
#include <arch/cpu.h>
#include <exo/disk.h>
#include <exo/env.h>
#include <exo/frame.h>
#include <exo/image.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <percpu.h>

/* Run program `name` on this core until it exits; its status. */
static int run_here(struct test_ctx *t, const char *name, uint64_t arg)
{
	struct env *e;
	int err = env_create(cpu_id(), &e);
	if (err) {
		test_fail(t, __FILE__, __LINE__, "env_create: %s", err_name(err));
		return -1;
	}
	if ((err = env_start(e, (unsigned)image_find(name), arg, NULL))) {
		test_fail(t, __FILE__, __LINE__, "env_start: %s", err_name(err));
		(void)env_destroy(e);
		return -1;
	}
	sched_run();
	int status =
	    __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == ENV_EXITED ? e->exit_status : -1;
	EXPECT_EQ(t, env_destroy(e), E_OK);
	return status;
}

TEST(disk, ring3_calls_and_bad_inputs)
{
	uint64_t before = frame_free_count();
	EXPECT_EQ(t, run_here(t, "disk", disk_blocks() ? 0 : 1), 0);
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, invariant_check(), 0);
}

/* Every core at once: requests from many cores share the one device, and each gets its own data. */
TEST_EACH_CPU(disk, every_core_writes_and_reads_its_own_blocks, 1)
{
	if (!disk_blocks())
		return; /* nothing to share */
	EXPECT_EQ(t, run_here(t, "disk", 2), 0);
	/*
	 * No invariant_check here: another core may be destroying its
	 * environment right now (its frames wait for their disk requests), and
	 * the checker reads a dying environment's frames as leaked. The next
	 * test checks once every core is done.
	 */
}

TEST(disk, nothing_is_left_once_every_core_is_done)
{
	EXPECT_EQ(t, env_count(), 0);
	EXPECT_EQ(t, invariant_check(), 0);
}
