/*
 * Destroys in bounded steps on real cores (docs/kernel.md "Destroying in
 * steps"): a tree of 40 environments, each with mapped frames (a page
 * table each), minted copies and the root capabilities of its children,
 * all homed on this core, destroyed as ENV_DESTROY does it — a begin and a
 * first step, then one step per kernel entry. Prints each step's cycles
 * (under -icount: instructions; median, min, max, n) beside what the whole
 * destroy cost, which one kernel entry paid before. Figures, no timed
 * assertions: the checks are the checker, the frame count and the bound
 * on frames per step.
 */
#include <arch/cpu.h>
#include <exo/cap.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/stats.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <percpu.h>

#define WIDTH 3
#define DEPTH 3
#define TREE_MAX 64
#define NODE_FRAMES 4
#define SPREAD (2ULL << 20)
#define STEPS_MAX 4096

#define SYS(e, nr, ...) syscall_invoke((e), (nr), (const uint64_t[6]){ __VA_ARGS__ })

static unsigned ntree;
static uint64_t step_cycles[STEPS_MAX];

static struct env *node(struct test_ctx *t, struct env *parent, unsigned depth)
{
	struct env *c;
	uint32_t slot;
	if (ntree == TREE_MAX || !EXPECT_EQ(t, env_create(cpu_id(), &c), E_OK))
		return NULL;
	ntree++;
	if (parent &&
	    !EXPECT_EQ(t, cap_insert_root(parent, OBJ_ENV, c->id, c->gen, CAP_R_ALL, &slot), E_OK))
		return NULL;
	for (unsigned i = 0; i < NODE_FRAMES; i++) {
		int64_t f = SYS(c, SYS_FRAME_ALLOC, FRAME_ANY);
		uint32_t m;
		if (!EXPECT(t, f >= 0) ||
		    !EXPECT_EQ(t, SYS(c, SYS_MAP, f, USER_BASE + i * SPREAD, PROT_R), 0) ||
		    !EXPECT_EQ(t, cap_mint(c, (uint32_t)f, CAP_R_ALL, 0, &m), E_OK))
			return NULL;
	}
	for (unsigned w = 0; depth && w < WIDTH; w++)
		if (!node(t, c, depth - 1))
			return NULL;
	return c;
}

TEST(destroy, a_deep_tree_one_step_per_kernel_entry)
{
	uint64_t free0 = frame_free_count();
	unsigned envs0 = env_count();
	ntree = 0;
	struct env *top = node(t, NULL, DEPTH);
	ASSERT(t, top && ntree == 40);
	destroy_stats = (struct destroy_stats){ 0 };
	uint64_t ticket, t0 = arch_cycles();
	ASSERT_EQ(t, env_end_at(top, top->gen, &ticket), E_OK);
	uint64_t first = arch_cycles() - t0, total = first;
	unsigned n = 0;
	bool done = ticket == 0;
	while (!done && n < STEPS_MAX) {
		t0 = arch_cycles();
		done = env_dying_help(ticket);
		step_cycles[n] = arch_cycles() - t0;
		total += step_cycles[n++];
	}
	EXPECT(t, done);
	struct stats s = stats_u64(step_cycles, n);
	kprintf("destroy: %u environments in %u steps after the first; ENV_DESTROY's entry (begin "
		"and a step) %llu cycles; a step: median %llu min %llu max %llu; the whole destroy "
		"%llu (one kernel entry before); at most %llu frames freed by a step\n",
		ntree, n, (unsigned long long)first, (unsigned long long)s.median,
		(unsigned long long)s.min, (unsigned long long)s.max, (unsigned long long)total,
		(unsigned long long)destroy_stats.most_freed);
	EXPECT(t, n > ntree);
	EXPECT(t, destroy_stats.most_freed <= DESTROY_STEP_UNITS);
	EXPECT_EQ(t, env_count(), envs0);
	EXPECT_EQ(t, frame_free_count(), free0);
	EXPECT_EQ(t, invariant_check(), 0);
}
