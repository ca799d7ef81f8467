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

/* Run program `name` with argument words (NULL: none) on this core until it exits; its status. */
static int run_args(struct test_ctx *t, const char *name, uint64_t arg, const struct env_args *args)
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
	if ((err = env_start(e, (unsigned)prog, arg, args))) {
		test_fail(t, __FILE__, __LINE__, "env_start: %s", err_name(err));
		(void)env_destroy(e);
		return -1;
	}
	sched_run();
	int status = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == ENV_EXITED ? e->exit_status : -1;
	EXPECT_EQ(t, env_destroy(e), E_OK);
	return status;
}

static int run_here(struct test_ctx *t, const char *name, uint64_t arg)
{
	return run_args(t, name, arg, NULL);
}

/* env_args from a string with '|' between words. */
static const struct env_args *words(const char *s)
{
	static struct env_args a;
	a.len = 0;
	for (; *s && a.len < ENV_ARGS_MAX - 1; s++)
		a.bytes[a.len++] = (char)(*s == '|' ? '\0' : *s);
	a.bytes[a.len++] = '\0';
	return &a;
}

TEST(user, arguments_reach_the_program_and_bad_ones_stop_it)
{
	uint64_t before = frame_free_count();
	EXPECT_EQ(t, run_args(t, "args", 0, NULL), 1 + 50);
	EXPECT_EQ(t, run_args(t, "args", 0, words("alpha=5|beta=xyz")), 5 + 100 + 50);
	EXPECT_EQ(t, run_args(t, "args", 0, words("alpha=5|alpha=7")), 7 + 50); /* the last wins */
	EXPECT_EQ(t, run_args(t, "args", 0, words("sched=rr")), 1 + 50);
	/* Each bad word: status 2 before main, with a message naming what exists. */
	EXPECT_EQ(t, run_args(t, "args", 0, words("gamma=1")), 2);
	EXPECT_EQ(t, run_args(t, "args", 0, words("alpha=x")), 2);
	EXPECT_EQ(t, run_args(t, "args", 0, words("noequals")), 2);
	EXPECT_EQ(t, run_args(t, "args", 0, words("sched=nosuch")), 2);
	EXPECT_EQ(t, run_args(t, "args", 0, words("sched=rr:nosuch=1")), 2);
	EXPECT_EQ(t, run_args(t, "args", 0, words("pager=lru")), 1 + 50);
	EXPECT_EQ(t, run_args(t, "args", 0, words("pager=nosuch")), 2);
	EXPECT_EQ(t, run_args(t, "args", 0, words("swap=sched:nosuch@1ms")), 2);
	EXPECT_EQ(t, run_args(t, "args", 0, words("swap=sched:rr@1")), 2); /* no unit */
	EXPECT_EQ(t, run_args(t, "args", 0, words("swap=sched:rr@1ms")), 1 + 50);
	EXPECT_EQ(t, frame_free_count(), before);
}

TEST(user, threads_and_their_sync)
{
	/*
	 * The program runs on this core alone: more cores add nothing but
	 * vCPUs contending for the host's two (its timed phases then stretch).
	 */
	if (percpu_ncpus > 2) {
		kprintf("user: threads run on one core; covered at smp 1 and 2: skipped\n");
		return;
	}
	uint64_t before = frame_free_count();
	EXPECT_EQ(t, run_args(t, "threads", 0, words("watchdog_ms=30")), 0);
	/* A policy hook that faults ends the environment (a #PF), not the kernel. */
	EXPECT_EQ(t, run_here(t, "threads", 1), 128 + 14);
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, invariant_check(), 0);
}

TEST(user, hello_exits_with_its_argument)
{
	uint64_t before = frame_free_count();
	EXPECT_EQ(t, run_here(t, "hello", 42), 42);
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, invariant_check(), 0);
}

/*
 * What the KVM probe (tools/exo probe-kvm) must see working besides the
 * timer and IPIs: ring 3 entered, a syscall and its return to user mode
 * (hello prints), and the exit. PVM's /dev/kvm fails here (a page fault
 * at a kernel address on the first return to user mode).
 */
TEST(probe, user_program_round_trip)
{
	EXPECT_EQ(t, run_here(t, "hello", 42), 42);
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
	/* Every documented error of every call, class by class, each changing nothing. */
	EXPECT_EQ(t, run_here(t, "syscalls_bad", 0), 0);
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, env_count(), envs);
	EXPECT_EQ(t, invariant_check(), 0);
}

TEST(user, a_fault_ends_only_the_environment)
{
	uint64_t before = frame_free_count();
	EXPECT_EQ(t, run_here(t, "crash", 0), 128 + 14); /* #PF */
	EXPECT_EQ(t, run_here(t, "crash", 1), 128 + 6);	 /* #UD */
	EXPECT_EQ(t, run_here(t, "crash", 2), 128 + 14); /* write to read-only text */
	EXPECT_EQ(t, run_here(t, "crash", 3), 42);	 /* SSE: no longer a fault */
	EXPECT_EQ(t, run_here(t, "crash", 4), 128 + 13); /* sgdt under UMIP: #GP */
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, invariant_check(), 0);
}

/*
 * Two environments on this core fill every SSE register and MXCSR with
 * their own pattern and spin across many slices: each finds its own
 * values every time (the kernel saves and restores them per environment).
 */
TEST(user, fpu_state_is_kept_per_environment)
{
	uint64_t before = frame_free_count();
	struct env *e[2];
	for (unsigned i = 0; i < 2; i++) {
		ASSERT_EQ(t, env_create(cpu_id(), &e[i]), E_OK);
		ASSERT_EQ(t, env_start(e[i], (unsigned)image_find("fpu"), 0x5a + i * 0x21, NULL),
			  E_OK);
	}
	sched_run();
	for (unsigned i = 0; i < 2; i++) {
		EXPECT_EQ(t, e[i]->exit_status, 0);
		EXPECT_EQ(t, env_destroy(e[i]), E_OK);
	}
	EXPECT_EQ(t, frame_free_count(), before);
}

/* Wait up to ms for e to exit; its status, or -1. */
static int wait_exit(struct env *e, uint64_t ms)
{
	if (!e)
		return -1; /* its creation failed: already reported */
	uint64_t end = arch_cycles() + arch_cycles_per_sec() / 1000 * ms;
	while (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != ENV_EXITED) {
		if (arch_cycles() > end)
			return -1;
		arch_cpu_relax();
	}
	return e->exit_status;
}

TEST(user, memstress_on_every_core_at_once)
{
	uint64_t before = frame_free_count();
	struct env *envs[MAX_CPUS] = { 0 };
	int prog = image_find("memstress");
	ASSERT(t, prog >= 0);
	for (unsigned c = 0; c < percpu_ncpus; c++) {
		ASSERT_EQ(t, env_create(c, &envs[c]), E_OK);
		ASSERT_EQ(t, env_start(envs[c], (unsigned)prog, 300, NULL), E_OK);
	}
	sched_run(); /* ours; the other cores run theirs from their idle loops */
	for (unsigned c = 0; c < percpu_ncpus; c++) {
		EXPECT_EQ(t, wait_exit(envs[c], 60000), 0);
		EXPECT_EQ(t, env_destroy(envs[c]), E_OK);
	}
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, invariant_check(), 0);
}

TEST(user, exceptions_handled_at_user_level)
{
	uint64_t before = frame_free_count();
	EXPECT_EQ(t, run_here(t, "upcalls", 0), 0);
	EXPECT_EQ(t, run_here(t, "upcalls", 1), 128 + 14); /* the handler's own #PF */
	EXPECT_EQ(t, run_here(t, "upcalls", 2), 128 + 6);  /* #UD with no usable stack */
	EXPECT_EQ(t, run_here(t, "upcalls", 3), 128 + 6);  /* its pinned stack unmapped */
	EXPECT_EQ(t, run_here(t, "upcalls", 4), 128 + 6);  /* ... and mapped read-only */
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, invariant_check(), 0);
}

TEST_EACH_CPU(user, protected_control_transfer_on_every_core, 1)
{
	EXPECT_EQ(t, run_here(t, "pct", 0), 0);
}

TEST(user, destroying_a_deep_chain_is_iterative)
{
	/* 150 levels would overflow a recursive teardown many times over (16 KiB stacks). */
	uint64_t before = frame_free_count();
	unsigned envs = env_count();
	EXPECT_EQ(t, run_here(t, "chain", 150), 0);
	EXPECT_EQ(t, env_count(), envs);
	EXPECT_EQ(t, frame_free_count(), before);
	EXPECT_EQ(t, invariant_check(), 0);
}

TEST(user, capability_churn_on_every_core_checked_after_each_round)
{
	uint64_t before = frame_free_count();
	unsigned envs_before = env_count();
	int prog = image_find("churn");
	ASSERT(t, prog >= 0);
	for (unsigned round = 0; round < 5; round++) {
		struct env *envs[MAX_CPUS] = { 0 };
		for (unsigned c = 0; c < percpu_ncpus; c++) {
			ASSERT_EQ(t, env_create(c, &envs[c]), E_OK);
			ASSERT_EQ(t, env_start(envs[c], (unsigned)prog, 20, NULL), E_OK);
		}
		sched_run();
		for (unsigned c = 0; c < percpu_ncpus; c++) {
			EXPECT_EQ(t, wait_exit(envs[c], 60000), 0);
			EXPECT_EQ(t, env_destroy(envs[c]), E_OK);
		}
		/* Quiet now: the whole machine's invariants, every round. */
		EXPECT_EQ(t, invariant_check(), 0);
		EXPECT_EQ(t, env_count(), envs_before);
		EXPECT_EQ(t, frame_free_count(), before);
	}
}

TEST(user, notification_to_another_core)
{
	EXPECT_EQ(t, run_here(t, "notified", 0), 0);
}
