/*
 * Time from user level: slot allocation and its bad inputs, freeing a slot
 * while it runs, directed yield, CPU accounting, the scheduler upcall.
 * arg: the program id of "spinner".
 */
#include <exo/test.h>
#include <libos/libos.h>

static uint64_t spinner_prog, my_core;
static volatile uint64_t sched_upcalls, last_slot;

static void on_slice(struct upcall_sched *us)
{
	sched_upcalls++;
	last_slot = us->slot;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void spin_ms(uint64_t ms)
{
	struct sys_time t;
	sys_time(&t);
	for (uint64_t end = rdtsc() + t.cycles_hz / 1000 * ms; rdtsc() < end;)
		;
}

TEST(slot, alloc_free_and_bad_inputs)
{
	int64_t s = sys_call6(SYS_SLOT_ALLOC, my_core, 5, ENV_SELF, 0, 0, 0);
	ASSERT(t, s >= 0);
	struct cap_info ci;
	EXPECT_EQ(t, sys_cap_inspect((uint64_t)s, &ci), 0);
	EXPECT_EQ(t, ci.type, OBJ_SLOT);
	EXPECT_EQ(t, ci.object, my_core * 64 + 5);
	EXPECT_EQ(t, sys_call6(SYS_SLOT_ALLOC, my_core, 5, ENV_SELF, 0, 0, 0), E_BUSY);
	EXPECT_EQ(t, sys_call6(SYS_SLOT_ALLOC, my_core, 64, ENV_SELF, 0, 0, 0), E_RANGE);
	EXPECT_EQ(t, sys_call6(SYS_SLOT_ALLOC, 999, 0, ENV_SELF, 0, 0, 0), E_INVAL);
	EXPECT_EQ(t, sys_call6(SYS_SLOT_ALLOC, my_core, 0, 77, 0, 0, 0), E_BADSLOT);
	int64_t f = sys_frame_alloc(FRAME_ANY);
	EXPECT_EQ(t, sys_call6(SYS_SLOT_ALLOC, my_core, 0, (uint64_t)f, 0, 0, 0), E_TYPE);
	EXPECT_EQ(t, sys_call6(SYS_SLOT_FREE, (uint64_t)f, 0, 0, 0, 0, 0), E_TYPE);
	int64_t child = sys_cap_mint((uint64_t)s, CAP_R_ALL, 0);
	EXPECT_EQ(t, sys_call6(SYS_SLOT_FREE, (uint64_t)child, 0, 0, 0, 0, 0), E_PERM);
	EXPECT_EQ(t, sys_cap_revoke((uint64_t)s), 0);
	EXPECT_EQ(t, sys_call6(SYS_SLOT_FREE, (uint64_t)s, 0, 0, 0, 0, 0), 0);
	EXPECT_EQ(t, sys_call6(SYS_SLOT_FREE, (uint64_t)s, 0, 0, 0, 0, 0), E_BADSLOT);
	EXPECT_EQ(t, sys_frame_free((uint64_t)f), 0);
	/* Take every free slot, run in them, free them all while running. */
	int64_t held[64];
	unsigned n = 0;
	while (n < 64 && (held[n] = sys_call6(SYS_SLOT_ALLOC, my_core, SLOT_ANY, ENV_SELF, 0, 0, 0)) >= 0)
		n++;
	EXPECT(t, n >= 1);
	EXPECT_EQ(t, sys_call6(SYS_SLOT_ALLOC, my_core, SLOT_ANY, ENV_SELF, 0, 0, 0), E_NOMEM);
	spin_ms(20);
	for (unsigned i = 0; i < n; i++)
		EXPECT_EQ(t, sys_call6(SYS_SLOT_FREE, (uint64_t)held[i], 0, 0, 0, 0, 0), 0);
	spin_ms(5);
	EXPECT_EQ(t, sys_debug_check(), 0);
}

TEST(slot, directed_yield_and_cpu_time)
{
	int64_t e = sys_env_create(my_core);
	ASSERT(t, e >= 0);
	EXPECT_EQ(t, sys_call6(SYS_YIELD_TO, (uint64_t)e, 0, 0, 0, 0, 0), E_AGAIN); /* not started */
	EXPECT_EQ(t, sys_env_start((uint64_t)e, spinner_prog, 30), 0);
	EXPECT_EQ(t, sys_call6(SYS_ENV_CPU, (uint64_t)e, my_core, 0, 0, 0, 0), 0);
	/*
	 * The rest of this slice goes to e. If the slice ended just as we asked,
	 * there is no rest and e has not run: ask again (bounded).
	 */
	int64_t ran = 0;
	for (unsigned i = 0; i < 100 && ran == 0; i++) {
		EXPECT_EQ(t, sys_call6(SYS_YIELD_TO, (uint64_t)e, 0, 0, 0, 0, 0), 0);
		ran = sys_call6(SYS_ENV_CPU, (uint64_t)e, my_core, 0, 0, 0, 0);
	}
	EXPECT(t, ran > 0); /* it ran */
	EXPECT(t, sys_call6(SYS_ENV_CPU, ENV_SELF, my_core, 0, 0, 0, 0) > 0);
	EXPECT_EQ(t, sys_call6(SYS_ENV_CPU, ENV_SELF, 999, 0, 0, 0, 0), E_INVAL);
	EXPECT_EQ(t, sys_call6(SYS_YIELD_TO, 200, 0, 0, 0, 0, 0), E_BADSLOT);
	int64_t st;
	while ((st = sys_env_status((uint64_t)e)) == E_AGAIN)
		sys_yield();
	EXPECT_EQ(t, st, 0);
	EXPECT_EQ(t, sys_env_destroy((uint64_t)e), 0);
	EXPECT_EQ(t, sys_cap_delete((uint64_t)e), 0);
	int64_t other = sys_env_create(my_core + 1);
	if (other >= 0) {
		EXPECT_EQ(t, sys_call6(SYS_YIELD_TO, (uint64_t)other, 0, 0, 0, 0, 0), E_INVAL);
		EXPECT_EQ(t, sys_cap_delete((uint64_t)other), 0);
	}
}

TEST(slot, scheduler_upcall_at_each_slice)
{
	int64_t s = sys_call6(SYS_SLOT_ALLOC, my_core, SLOT_ANY, ENV_SELF, 0, 0, 0);
	ASSERT(t, s >= 0);
	EXPECT_EQ(t, libos_set_sched_handler(on_slice), 0);
	/* Preempted again and again; every slice starts in on_slice. (Bounded by work, not time.) */
	for (volatile uint64_t i = 0; sched_upcalls < 5 && i < 2000000000ULL; i++)
		;
	EXPECT_EQ(t, libos_set_sched_handler(NULL), 0);
	EXPECT(t, sched_upcalls >= 5);
	EXPECT_EQ(t, sys_call6(SYS_SLOT_FREE, (uint64_t)s, 0, 0, 0, 0, 0), 0);
}

int main(uint64_t arg, uint64_t env_id, uint64_t core)
{
	spinner_prog = arg;
	my_core = core;
	return (int)test_run("all");
}
