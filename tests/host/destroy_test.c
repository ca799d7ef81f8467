/*
 * Destroys in bounded steps (core/env.c, docs/kernel.md "Destroying in
 * steps"): a tree of environments, each with mapped frames (page tables),
 * minted copies (revoke work) and children whose root capabilities it
 * holds, is destroyed one step at a time. After every step the invariant
 * checker is clean, the step freed at most DESTROY_STEP_UNITS frames, and
 * the tree is dying from its root down: what has begun cannot be granted
 * into, destroyed again or found alive. Another destroy of an inner node,
 * and grants into the tree, race it. At the end every frame is back.
 */
#include <exo/cap.h>
#include <exo/env.h>
#include <exo/errors.h>
#include <exo/frame.h>
#include <exo/syscall.h>
#include <exo/test.h>
#include <percpu.h>
#include "support.h"

#define WIDTH 3
#define DEPTH 3 /* 3 + 9 + 27 environments under the top one */
#define TREE_MAX 64
#define NODE_FRAMES 4 /* each mapped 2 MiB apart: a page table each */
#define SPREAD (2ULL << 20)

static struct env *tree[TREE_MAX];
static uint64_t tree_gen[TREE_MAX];
static unsigned ntree;

/* A child of parent, its root capability in parent's table (as ENV_CREATE leaves it). */
static struct env *node(struct test_ctx *t, struct env *parent, unsigned depth)
{
	struct env *c;
	uint32_t slot;
	if (ntree == TREE_MAX || !EXPECT_EQ(t, env_create(home_of(ntree), &c), E_OK))
		return NULL;
	tree[ntree] = c;
	tree_gen[ntree++] = c->gen;
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

/* Is tree[i] still the environment the tree made (not begun, not destroyed)? */
static bool tree_alive(unsigned i)
{
	return env_alive(tree[i]) &&
	       __atomic_load_n(&tree[i]->gen, __ATOMIC_ACQUIRE) == tree_gen[i];
}

TEST(destroy, a_deep_tree_in_bounded_steps)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *owner = envs[0];
	ASSERT(t, owner);
	uint64_t free0 = frame_free_count();
	unsigned pages0 = owner->caps.npages; /* its table's pages stay while it lives */
	ntree = 0;
	struct env *top = node(t, owner, DEPTH);
	ASSERT(t, top && ntree == 1 + 3 + 9 + 27);
	INV(t);
	/* A frame of the owner copied into the top and into a leaf: grants the destroy undoes. */
	int64_t f = SYS(owner, SYS_FRAME_ALLOC, FRAME_ANY);
	ASSERT(t, f >= 0);
	uint32_t x;
	ASSERT_EQ(t, cap_grant(owner, (uint32_t)f, top, false, &x), E_OK);
	ASSERT_EQ(t, cap_grant(owner, (uint32_t)f, tree[ntree - 1], false, &x), E_OK);
	uint64_t free_built = frame_free_count();

	uint64_t ticket;
	ASSERT_EQ(t, env_end_at(top, tree_gen[0], &ticket), E_OK);
	ASSERT(t, ticket != 0); /* far more than one step */
	EXPECT(t, !tree_alive(0));
	/* A second destroy of the dying top, and a grant into it: stale. */
	uint64_t again;
	EXPECT_EQ(t, env_end_at(top, tree_gen[0], &again), E_STALE);
	EXPECT_EQ(t, cap_grant(owner, (uint32_t)f, top, false, &x), E_STALE);
	unsigned steps = 1, raced = 0, granted = 0, refused = 0;
	destroy_stats = (struct destroy_stats){ 0 };
	for (;;) {
		bool done = env_dying_help(ticket);

		INV(t);
		if (done)
			break;
		steps++;
		ASSERT(t, steps < 100000);
		/* Race it: destroy the last node still alive (under its own ticket)... */
		if (steps % 16 == 0) {
			for (unsigned i = ntree; i-- > 1;) {
				if (!tree_alive(i))
					continue;
				uint64_t own;
				EXPECT_EQ(t, env_end_at(tree[i], tree_gen[i], &own), E_OK);
				while (!env_dying_help(own))
					;
				raced++;
				break;
			}
		}
		/* ...and grant into one, alive (it works) or dying (stale). */
		unsigned i = 1 + steps % (ntree - 1);
		bool alive = tree_alive(i);
		int err = alive ? cap_grant(owner, (uint32_t)f, tree[i], false, &x) : E_STALE;
		if (!alive)
			EXPECT_EQ(t, cap_grant(owner, (uint32_t)f, tree[i], false, &x) == E_OK,
				  false);
		granted += err == E_OK;
		refused += !alive;
	}
	kprintf("destroy.a_deep_tree_in_bounded_steps: %u environments, %u steps, at most %llu "
		"frames freed by one, %u raced destroys, %u grants in, %u refused\n",
		ntree, steps, (unsigned long long)destroy_stats.most_freed, raced, granted,
		refused);
	EXPECT(t, steps > ntree);
	/* Every step, here and on the other cores' idle loops, within its bound. */
	EXPECT(t, destroy_stats.most_freed <= DESTROY_STEP_UNITS);
	EXPECT(t, destroy_stats.most_freed > 0);
	EXPECT(t, raced > 0 && granted > 0 && refused > 0);
	for (unsigned i = 0; i < ntree; i++)
		EXPECT(t, !tree_alive(i));
	EXPECT_EQ(t, env_count(), 1);
	/* The owner's frame lost every copy the tree held; all the tree's frames are back. */
	EXPECT_EQ(t, info(owner, (uint32_t)f).children, 0);
	EXPECT(t, frame_free_count() > free_built);
	EXPECT_EQ(t, SYS(owner, SYS_FRAME_FREE, f), 0);
	EXPECT_EQ(t, frame_free_count() + (owner->caps.npages - pages0), free0);
	INV(t);
	teardown(t, envs, 1);
}

/* The same tree through the syscall: ENV_DESTROY returns once all of it is gone. */
TEST(destroy, env_destroy_of_a_tree_returns_when_it_is_gone)
{
	if (!setup(t))
		return;
	struct env *envs[1] = { mkenv(t, 0) };
	struct env *owner = envs[0];
	ASSERT(t, owner);
	uint64_t free0 = frame_free_count();
	unsigned pages0 = owner->caps.npages; /* its table's pages stay while it lives */
	ntree = 0;
	ASSERT(t, node(t, owner, DEPTH - 1));
	int64_t slot = -1;
	for (uint32_t s = 0; s < CAP_SLOTS && slot < 0; s++)
		if (info(owner, s).type == OBJ_ENV && info(owner, s).object == tree[0]->id)
			slot = s;
	ASSERT(t, slot >= 0);
	EXPECT_EQ(t, SYS(owner, SYS_ENV_DESTROY, (uint64_t)slot), 0);
	for (unsigned i = 0; i < ntree; i++)
		EXPECT_EQ(t, tree[i]->state, ENV_FREE);
	EXPECT_EQ(t, frame_free_count() + (owner->caps.npages - pages0), free0);
	EXPECT_EQ(t, SYS(owner, SYS_ENV_DESTROY, (uint64_t)slot), E_STALE);
	INV(t);
	/* And by deleting its root capability. */
	ntree = 0;
	ASSERT(t, node(t, owner, DEPTH - 1));
	EXPECT_EQ(t, SYS(owner, SYS_CAP_DELETE, (uint64_t)slot), 0); /* the stale one */
	slot = -1;
	for (uint32_t s = 0; s < CAP_SLOTS && slot < 0; s++)
		if (info(owner, s).type == OBJ_ENV && info(owner, s).object == tree[0]->id)
			slot = s;
	ASSERT(t, slot >= 0);
	EXPECT_EQ(t, SYS(owner, SYS_CAP_DELETE, (uint64_t)slot), 0);
	for (unsigned i = 0; i < ntree; i++)
		EXPECT_EQ(t, tree[i]->state, ENV_FREE);
	EXPECT_EQ(t, frame_free_count() + (owner->caps.npages - pages0), free0);
	INV(t);
	teardown(t, envs, 1);
}
