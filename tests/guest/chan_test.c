/* Kernel message channels between real cores: delivery, doorbells, a full ring; cross-core operations. */
#include <arch/cpu.h>
#include <chan.h>
#include <exo/abi.h>
#include <exo/cap.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/image.h>
#include <exo/kprintf.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <exo/xcall.h>
#include <ipi.h>
#include <percpu.h>

/*
 * Wait (handling our own messages) until *counter reaches want; false after
 * ~10 s. The bound is for a message lost for good, not a latency figure: at
 * smp 8 on a loaded 2-core host a vCPU can go unscheduled for over a second.
 */
static bool await(uint64_t *counter, uint64_t want)
{
	uint64_t end = arch_cycles() + 10 * arch_cycles_per_sec();
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

/*
 * System calls on an environment homed on another core are carried out
 * there, as messages: create, start, grant, destroy. The home core runs a
 * spinner that never enters the kernel; the doorbell takes it out of user
 * mode, its kernel serves the request and resumes it in the same slice.
 */
TEST(xcall, operations_on_another_core_are_served_there)
{
	if (percpu_ncpus < 2 || cpu_id() != 0) {
		kprintf("xcall: needs cpu0 and a second core; skipped\n");
		return;
	}
	uint64_t free0 = frame_free_count();
	struct env *p, *spin;
	ASSERT_EQ(t, env_create(0, &p), E_OK); /* the caller: its system calls run here, on core 0 */
	ASSERT_EQ(t, env_create(1, &spin), E_OK);
	ASSERT_EQ(t, env_start(spin, (unsigned)image_find("spinner"), 2000, NULL), E_OK);
	while (__atomic_load_n(&spin->slices, __ATOMIC_ACQUIRE) == 0)
		arch_cpu_relax();
	uint64_t kicks = percpu_of(1)->xcall_kicks, took[5];
	for (unsigned round = 0; round < 5; round++) {
		uint64_t served = xcall_served(1);
		uint64_t t0 = arch_cycles();
		int64_t child = syscall_invoke(p, SYS_ENV_CREATE, (uint64_t[6]){ 1 });
		took[round] = arch_cycles() - t0;
		ASSERT(t, child >= 0);
		EXPECT_EQ(t, xcall_served(1), served + 1);
		struct cap c;
		ASSERT_EQ(t, cap_get(p, (uint32_t)child, OBJ_ENV, 0, &c), E_OK);
		struct env *x = env_lookup((uint32_t)c.obj);
		EXPECT_EQ(t, x->home, 1);
		EXPECT_EQ(t, x->frames_owned, 1); /* its top-level table */
		/* A grant into its table, by core 1; then the target's errors, from there. */
		int64_t f = syscall_invoke(p, SYS_FRAME_ALLOC, (uint64_t[6]){ FRAME_ANY });
		ASSERT(t, f >= 0);
		int64_t in_x = syscall_invoke(p, SYS_CAP_GRANT, (uint64_t[6]){ (uint64_t)f, (uint64_t)child, GRANT_COPY });
		EXPECT(t, in_x >= 0);
		EXPECT_EQ(t, xcall_served(1), served + 2);
		EXPECT_EQ(t, syscall_invoke(p, SYS_CAP_GRANT, (uint64_t[6]){ 999, (uint64_t)child, GRANT_COPY }), E_BADSLOT);
		/* Started there; a second start fails there. */
		EXPECT_EQ(t, syscall_invoke(p, SYS_ENV_START, (uint64_t[6]){ (uint64_t)child, (uint64_t)image_find("hello"), 7 }), E_OK);
		EXPECT_EQ(t, syscall_invoke(p, SYS_ENV_START, (uint64_t[6]){ (uint64_t)child, (uint64_t)image_find("hello"), 7 }), E_BUSY);
		int64_t st;
		uint64_t end = arch_cycles() + arch_cycles_per_sec() * 10;
		while ((st = syscall_invoke(p, SYS_ENV_STATUS, (uint64_t[6]){ (uint64_t)child })) == E_AGAIN && arch_cycles() < end)
			arch_cpu_relax();
		EXPECT_EQ(t, st, 7);
		EXPECT_EQ(t, syscall_invoke(p, SYS_ENV_DESTROY, (uint64_t[6]){ (uint64_t)child }), E_OK);
		EXPECT_EQ(t, syscall_invoke(p, SYS_ENV_DESTROY, (uint64_t[6]){ (uint64_t)child }), E_STALE);
		EXPECT_EQ(t, xcall_served(1), served + 6); /* the second destroy was stale here */
		EXPECT_EQ(t, syscall_invoke(p, SYS_CAP_DELETE, (uint64_t[6]){ (uint64_t)child }), E_OK);
		EXPECT_EQ(t, syscall_invoke(p, SYS_CAP_REVOKE, (uint64_t[6]){ (uint64_t)f }), E_OK);
		EXPECT_EQ(t, syscall_invoke(p, SYS_FRAME_FREE, (uint64_t[6]){ (uint64_t)f }), E_OK);
	}
	kicks = __atomic_load_n(&percpu_of(1)->xcall_kicks, __ATOMIC_RELAXED) - kicks;
	kprintf("xcall: creations took %llu %llu %llu %llu %llu cycles; the spinner was left %llu times\n",
		(unsigned long long)took[0], (unsigned long long)took[1], (unsigned long long)took[2],
		(unsigned long long)took[3], (unsigned long long)took[4], (unsigned long long)kicks);
	EXPECT(t, kicks > 0); /* the doorbell, not only the end of a slice, got them served */
	while (__atomic_load_n(&spin->state, __ATOMIC_ACQUIRE) != ENV_EXITED)
		arch_cpu_relax();
	EXPECT_EQ(t, spin->exit_status, 0);
	EXPECT_EQ(t, env_destroy(spin), E_OK);
	EXPECT_EQ(t, env_destroy(p), E_OK);
	EXPECT_EQ(t, frame_free_count(), free0);
	EXPECT_EQ(t, invariant_check(), 0);
}
