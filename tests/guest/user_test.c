/*
 * Environments in ring 3: run user programs (tests/user/) and check what
 * they leave behind. Kernel-only: needs real user mode.
 */
#include <arch/cpu.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/image.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <percpu.h>

/* Run program `name` in a new environment on this core until it exits; its status. */
static int run_here(struct test_ctx *t, const char *name, uint64_t arg)
{
	int prog = image_find(name);
	if (prog < 0) {
		test_fail(t, __FILE__, __LINE__, "no program '%s'", name);
		return -1;
	}
	struct env *e;
	int err = env_create(cpu_id(), &e);
	if (err) {
		test_fail(t, __FILE__, __LINE__, "env_create: %s", err_name(err));
		return -1;
	}
	if ((err = env_start(e, (unsigned)prog, arg))) {
		test_fail(t, __FILE__, __LINE__, "env_start: %s", err_name(err));
		(void)env_destroy(e);
		return -1;
	}
	sched_run();
	int status = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == ENV_EXITED ? e->exit_status : -1;
	EXPECT_EQ(t, env_destroy(e), E_OK);
	return status;
}

TEST(user, hello_exits_with_its_argument)
{
	uint64_t before = frame_free_count();
	EXPECT_EQ(t, run_here(t, "hello", 42), 42);
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, invariant_check(), 0);
}

TEST_EACH_CPU(user, hello_on_every_core, 1)
{
	EXPECT_EQ(t, run_here(t, "hello", cpu_id()), cpu_id());
}

TEST(user, every_syscall_and_its_bad_inputs)
{
	uint64_t before = frame_free_count();
	unsigned envs = env_count();
	EXPECT_EQ(t, run_here(t, "syscalls", (uint64_t)image_find("hello")), 0);
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, env_count(), envs);
	EXPECT_EQ(t, invariant_check(), 0);
}
